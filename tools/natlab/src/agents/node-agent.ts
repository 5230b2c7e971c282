// A detr node inside a host namespace for the relay scenarios: TCP (@detr/transport) to a public
// relay, and @detr/nat composed by createNat (relay service or reservations, circuits, signaling,
// WebRTC, relay → direct upgrade). The driver calls it by name (`call` commands).
import { createIdentity, createNetwork, createTokenVerifier, issueToken } from '@detr/aecomms';
import type { Address, Connection, Logger, PeerId, StreamHandler } from '@detr/interface';
import { noopPeerReporter, parseAddress } from '@detr/interface';
import { createNat, type IceServerInit, type Nat } from '@detr/nat';
import { createStreamRegistry, createTcpTransport } from '@detr/transport';
import { labMux } from './mux.js';
import { readLines, writeLine } from './proto.js';

const emit = (v: unknown): void => writeLine(process.stdout, v);

/** Debug lines go to stderr (the driver keeps the last ones): nat's decisions, for the report. */
function stderrLogger(bindings: Record<string, unknown> = {}): Logger {
  const log =
    (level: string) =>
    (a: unknown, b?: string): void => {
      const fields = typeof a === 'string' ? {} : (a as Record<string, unknown>);
      const msg = typeof a === 'string' ? a : (b ?? '');
      process.stderr.write(`${level} ${msg} ${JSON.stringify({ ...bindings, ...fields })}\n`);
    };
  return {
    trace: () => {},
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (b) => stderrLogger({ ...bindings, ...b }),
  };
}
const ECHO = '/natlab/echo/1';
const SINK = '/natlab/sink/1';

let nat: Nat | undefined;
let tcp: ReturnType<typeof createTcpTransport> | undefined;
const conns = new Set<Connection>();
const upgrades: Array<{ direct: Connection; relayed: Connection; at: number }> = [];
let listenAddresses: Address[] = [];

function track(c: Connection): void {
  if (conns.has(c)) return;
  conns.add(c);
  c.onClose(() => conns.delete(c));
}

async function init(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  const bindAddress = String(cmd.bindAddress);
  const admin = createIdentity(Buffer.from(String(cmd.adminSeed), 'hex'));
  const network = createNetwork(admin, {
    name: 'natlab',
    networkId: Buffer.from(String(cmd.networkId), 'hex'),
    createdAtMs: Number(cmd.createdAtMs),
  });
  const identity = createIdentity();
  const token = issueToken(admin, {
    networkId: network.networkId,
    peer: identity.peerId,
    expiresAtMs: Date.now() + 3_600_000,
  });
  const tokenVerifier = createTokenVerifier({}, { network });
  const registry = createStreamRegistry();
  registry.handle(ECHO, (s) => void s.pipe(s));
  registry.handle(SINK, (s) => void s.resume());
  const security = { identity, network, token, tokenVerifier };
  tcp = createTcpTransport({ ...security, registry, reporter: noopPeerReporter }, {});
  const t = tcp;
  const manager = {
    connections: (peer?: PeerId) =>
      [...conns].filter(
        (c) => c.status === 'open' && (peer === undefined || c.remotePeer.equals(peer)),
      ),
    async dial(target: PeerId | Address): Promise<Connection> {
      const peerText = 'transport' in target ? target.peer : target.toString();
      const existing = [...conns].find(
        (c) => c.status === 'open' && c.remotePeer.toString() === peerText,
      );
      if (existing !== undefined) return existing;
      if (!('transport' in target)) throw new Error(`no address for ${peerText}`);
      const c =
        target.relay !== undefined
          ? await (nat as Nat).transports.circuit.dial(target)
          : await t.dial(target);
      track(c);
      return c;
    },
    handle: (p: string, h: StreamHandler) => registry.handle(p, h),
    unhandle: (p: string) => registry.unhandle(p),
    addresses: () => listenAddresses,
  };
  if (cmd.role === 'relay') {
    const l = await t.listen(parseAddress(`/ip4/${bindAddress}/tcp/4001`), track);
    listenAddresses = [...l.addresses()];
  }
  const relayAddress = typeof cmd.relay === 'string' ? parseAddress(cmd.relay) : undefined;
  nat = createNat(
    {
      ...security,
      peerId: identity.peerId,
      connections: manager,
      mux: labMux(registry, noopPeerReporter),
      onConnection: track,
      logger: stderrLogger(),
      onUpgrade: (direct, relayed) => {
        track(direct);
        upgrades.push({ direct, relayed, at: performance.now() });
        void relayed.close().catch(() => relayed.abort());
      },
    },
    {
      iceServers: cmd.iceServers as IceServerInit[],
      bindAddress,
      relayService:
        cmd.role === 'relay' ? { circuitBytes: Number(cmd.circuitBytes ?? 16 << 20) } : false,
      relays: relayAddress !== undefined ? [relayAddress] : [],
      holePunching: cmd.holePunching !== false,
      autonatIntervalMs: 0,
    },
  );
  await nat.start();
  return { peer: identity.peerId.toString(), listen: listenAddresses.map(String) };
}

async function echoOnce(conn: Connection): Promise<number> {
  const t0 = performance.now();
  const s = await conn.newStream(ECHO);
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('error', reject);
    s.write(Buffer.alloc(100, 1));
  });
  s.end();
  return performance.now() - t0;
}

const calls: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
  status: () => Promise.resolve(nat?.status),
  relayStats: () => Promise.resolve(nat?.relay?.stats),
  /** Dials a circuit address, echoes over it, then waits for the upgrade to a direct connection. */
  async dialCircuit(args) {
    const t0 = performance.now();
    const relayed = await (nat as Nat).transports.circuit.dial(parseAddress(String(args.address)));
    track(relayed);
    const relayedMs = performance.now() - t0;
    const relayedEchoMs = await echoOnce(relayed);
    const deadline = Date.now() + Number(args.waitMs ?? 15_000);
    while (!upgrades.some((u) => u.relayed === relayed) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const up = upgrades.find((u) => u.relayed === relayed);
    if (up === undefined)
      return {
        relayed: true,
        relayedMs,
        relayedEchoMs,
        upgraded: false,
        relayedStillOpen: relayed.status === 'open',
      };
    const directEchoMs = await echoOnce(up.direct);
    await new Promise((r) => setTimeout(r, 200));
    return {
      relayed: true,
      relayedMs,
      relayedEchoMs,
      upgraded: true,
      upgradeMs: up.at - t0,
      direct: up.direct.remoteAddress.toString(),
      directTransport: up.direct.transport,
      directEchoMs,
      relayedStatusAfter: relayed.status,
    };
  },
  /** Dials a circuit address and writes `bytes` through it: is the circuit cut at the relay's limit? */
  async flood(args) {
    const relayed = await (nat as Nat).transports.circuit.dial(parseAddress(String(args.address)));
    track(relayed);
    const closed = new Promise<string>((resolve) =>
      relayed.onClose((err) => resolve(err?.message ?? 'closed')),
    );
    const s = await relayed.newStream(SINK);
    s.on('error', () => {});
    const total = Number(args.bytes);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024);
    const writing = (async () => {
      while (sent < total && relayed.status === 'open') {
        if (!s.write(chunk))
          await new Promise<void>((r) => {
            s.once('drain', r);
            s.once('close', r);
          });
        sent += chunk.length;
      }
    })();
    const outcome = await Promise.race([
      closed,
      new Promise<string>((r) => setTimeout(() => r('still open'), 20_000)),
    ]);
    await writing.catch(() => {});
    return { outcome, sent, status: relayed.status };
  },
};

readLines(process.stdin, (cmd) => {
  switch (cmd.op) {
    case 'init':
      init(cmd).then(
        (info) => emit({ ev: 'ready', ...info }),
        (err: Error) => {
          emit({ ev: 'log', msg: `init failed: ${err.message}` });
          process.exit(1);
        },
      );
      break;
    case 'call': {
      const id = Number(cmd.id);
      const fn = calls[String(cmd.name)];
      if (fn === undefined) {
        emit({ ev: 'reply', id, ok: false, error: 'no such call' });
        break;
      }
      fn((cmd.args ?? {}) as Record<string, unknown>).then(
        (value) => emit({ ev: 'reply', id, ok: true, value }),
        (err: Error) => emit({ ev: 'reply', id, ok: false, error: `${err.name}: ${err.message}` }),
      );
      break;
    }
    case 'exit':
      void (async () => {
        await Promise.resolve(nat?.stop()).catch(() => {});
        for (const c of conns) c.abort();
        await tcp?.close().catch(() => {});
        process.exit(0);
      })();
  }
});
process.stdin.on('end', () => process.exit(0));
