// A detr peer inside a host namespace: @detr/nat's WebRTC transport (NAT discovery, staged ICE,
// the detr handshake bound to DTLS, the stream multiplexer), with signaling relayed by the lab
// driver. The dialer opens an echo stream, writes 100 bytes and times the first byte back.
import { createIdentity, createNetwork, createTokenVerifier, issueToken } from '@detr/aecomms';
import type { Connection, PeerId, StreamHandler } from '@detr/interface';
import { AbortError, noopPeerReporter, parseAddress } from '@detr/interface';
import {
  createWebRTCTransport,
  detrHandshake,
  discoverNatBehaviour,
  UNKNOWN_PROFILE,
  type IceServerInit,
  type NatProfile,
  type OfferHandler,
  type SignalBody,
  type SignalPath,
  type SignalRoutes,
  type WebRTCTransport,
} from '@detr/nat';
import { peerIdFromString } from '@detr/aecomms';
import { labMux } from './mux.js';
import { readLines, writeLine, type AttemptResult } from './proto.js';

const ECHO = '/natlab/echo/1';
const emit = (v: unknown): void => writeLine(process.stdout, v);
const paths = new Map<string, { queue: SignalBody[]; wake?: () => void; closed: boolean }>();
const live = new Map<number, Connection[]>();
let transport: WebRTCTransport | undefined;
let self: PeerId | undefined;
let offerHandler: OfferHandler | undefined;
let currentDial = 0;
let pathSeq = 0;

function makePath(id: number, key: string, to: string): SignalPath {
  const state: { queue: SignalBody[]; wake?: () => void; closed: boolean } = {
    queue: [],
    closed: false,
  };
  paths.set(key, state);
  return {
    route: 'relay',
    trickle: true,
    sessionId: Buffer.from(key),
    send(body) {
      if (state.closed) return Promise.reject(new Error('path closed'));
      emit({ ev: 'signal', id, data: { path: key, from: self?.toString(), to, body } });
      return Promise.resolve();
    },
    async next(options = {}) {
      for (;;) {
        const b = state.queue.shift();
        if (b !== undefined) return b;
        if (state.closed) throw new AbortError('path closed');
        const signal = options.signal;
        if (signal?.aborted === true) throw new AbortError();
        await new Promise<void>((resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new AbortError()), { once: true });
          state.wake = resolve;
        });
      }
    },
    close() {
      state.closed = true;
      state.wake?.();
      paths.delete(key);
    },
  };
}

const routes: SignalRoutes = {
  open(target) {
    return Promise.resolve(makePath(currentDial, `${currentDial}/${pathSeq++}`, target.toString()));
  },
  onOffer(h) {
    offerHandler = h;
  },
};

const echo: StreamHandler = (stream) => {
  stream.pipe(stream);
};

async function dial(id: number, target: string, timeoutMs: number): Promise<AttemptResult> {
  const t = transport as WebRTCTransport;
  currentDial = id;
  const before = { ...t.stats };
  const t0 = performance.now();
  try {
    const conn = await t.dial(parseAddress(`/ip4/0.0.0.0/udp/0/webrtc/p2p/${target}`), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    live.set(id, [...(live.get(id) ?? []), conn]);
    const stream = await conn.newStream(ECHO);
    const first = new Promise<void>((resolve, reject) => {
      stream.once('data', () => resolve());
      stream.once('error', reject);
    });
    stream.write(Buffer.alloc(100, 1));
    await first;
    const ttfbMs = performance.now() - t0;
    stream.end();
    const relayed = t.stats.relayed > before.relayed;
    return {
      ok: true,
      path: relayed ? 'relayed' : 'direct',
      remote: conn.remoteAddress.toString(),
      ttfbMs,
    };
  } catch (err) {
    return { ok: false, error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

readLines(process.stdin, (cmd) => {
  const id = Number(cmd.id);
  switch (cmd.op) {
    case 'init': {
      const bindAddress = String(cmd.bindAddress);
      const admin = createIdentity(Buffer.from(String(cmd.adminSeed), 'hex'));
      const network = createNetwork(admin, {
        name: 'natlab',
        networkId: Buffer.from(String(cmd.networkId), 'hex'),
        createdAtMs: Number(cmd.createdAtMs),
      });
      const identity = createIdentity();
      self = identity.peerId;
      const token = issueToken(admin, {
        networkId: network.networkId,
        peer: identity.peerId,
        expiresAtMs: Date.now() + 3_600_000,
      });
      const handlers = new Map<string, StreamHandler>([[ECHO, echo]]);
      let profile: NatProfile = UNKNOWN_PROFILE;
      transport = createWebRTCTransport(
        {
          peerId: identity.peerId,
          handshake: detrHandshake({
            identity,
            network,
            token,
            tokenVerifier: createTokenVerifier({}, { network }),
          }),
          mux: labMux({ handler: (p) => handlers.get(p) }, noopPeerReporter),
          signaling: routes,
          natProfile: () => profile,
        },
        { iceServers: cmd.iceServers as IceServerInit[], bindAddress, dialTimeoutMs: 15_000 },
      );
      const stun = cmd.stunServers as Array<{ host: string; port: number }>;
      void discoverNatBehaviour(stun, { bindAddress })
        .then(
          (b) => (profile = { mapping: b.mapping, filtering: b.filtering }),
          () => undefined,
        )
        .then(() =>
          transport?.listen(parseAddress(`/ip4/${bindAddress}/udp/0/webrtc`), (c) =>
            live.set(-1, [...(live.get(-1) ?? []), c]),
          ),
        )
        .then(() => emit({ ev: 'ready', peer: identity.peerId.toString(), nat: profile }));
      break;
    }
    case 'dial':
      void dial(id, String(cmd.target), Number(cmd.timeoutMs)).then((result) =>
        emit({ ev: 'result', id, result }),
      );
      break;
    case 'accept':
      break;
    case 'signal': {
      const {
        path: key,
        from,
        body,
      } = cmd.data as { path: string; from: string; body: SignalBody };
      const existing = paths.get(key);
      if (existing !== undefined) {
        existing.queue.push(body);
        existing.wake?.();
        break;
      }
      if (body.kind !== 'offer' || offerHandler === undefined) break;
      const path = makePath(id, key, from);
      offerHandler(path, peerIdFromString(from), body);
      break;
    }
    case 'close':
      for (const c of live.get(id) ?? []) c.abort();
      live.delete(id);
      for (const c of live.get(-1) ?? []) c.abort();
      live.delete(-1);
      break;
    case 'exit':
      void (transport?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
process.stdin.on('end', () => {
  void (transport?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
