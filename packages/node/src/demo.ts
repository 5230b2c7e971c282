// `detr demo` (and `npm start`): a local network of detr nodes on 127.0.0.1 that exercises
// connect, presence, DHT put/get, pub/sub, request/response, acknowledged and offline delivery,
// with live progress lines and a summary table.
import { createIdentity, type Identity } from '@detr/aecomms';
import type { PeerId } from '@detr/interface';
import { createNode, type DetrNode } from './node.js';
import { createNetwork, issueToken } from './networks.js';

export interface DemoOptions {
  /** @default 20 */
  nodes?: number;
  /** Seconds of steady acknowledged traffic after the checks. @default 3 */
  durationSec?: number;
  /** Stay up after the summary until SIGINT/SIGTERM. @default false */
  keep?: boolean;
  /** Print the summary as one JSON line. @default false */
  json?: boolean;
  log?: (line: string) => void;
}

/** One row of the summary. */
export interface DemoRow {
  step: string;
  ok: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await wait(10);
  }
  return true;
}

/**
 * Runs the demo network; resolves true when every check passed.
 *
 * @throws {RangeError} for fewer than 3 or more than 200 nodes
 * @example
 * ```ts
 * const ok = await runDemo({ nodes: 20, log: console.log })
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<boolean> {
  const n = options.nodes ?? 20;
  const log = options.log ?? (() => {});
  if (!Number.isInteger(n) || n < 3 || n > 200) throw new RangeError('--nodes must be 3–200');
  const rows: DemoRow[] = [];
  const row = (step: string, ok: number, total: number, lat: number[]): void => {
    rows.push({ step, ok, total, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) });
    log(
      `  ${ok === total ? '✓' : '✗'} ${step}: ${ok}/${total}${lat.length ? `, p50 ${pct(lat, 50).toFixed(2)} ms` : ''}`,
    );
  };
  const admin = createIdentity();
  const network = createNetwork(admin, 'demo');
  const config = {
    transport: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    stored: { backend: 'memory' },
    node: { gossip_heartbeat_ms: 200, retransmit_interval_ms: 500, log_level: 'silent' },
  };
  const make = (identity: Identity): DetrNode =>
    createNode(
      { config, network, token: issueToken(admin, network, identity.peerId).token, admin },
      { identity },
    );
  const identities = Array.from({ length: n }, () => createIdentity());
  const nodes: DetrNode[] = identities.map(make);
  const pick = (not?: number): number => {
    for (;;) {
      const i = Math.floor(Math.random() * n);
      if (i !== not) return i;
    }
  };
  log(`detr demo: ${n} nodes on 127.0.0.1, network ${network.id.slice(0, 16)}…`);
  log(
    '(connections: @detr/transport TCP with Noise XX, token check and mux; records and presence: @detr/dht Kademlia)',
  );
  try {
    // 1. start
    let t = performance.now();
    await Promise.all(nodes.map((node) => node.start()));
    log(`started ${n} nodes in ${(performance.now() - t).toFixed(0)} ms`);

    // 2. connect: everyone to node 0 and three random others
    const lat: number[] = [];
    let ok = 0;
    let total = 0;
    const boot = nodes[0]!.addresses()[0]!;
    for (let i = 1; i < n; i++) {
      const targets = [boot, ...[1, 2, 3].map(() => nodes[pick(i)]!.addresses()[0]!)];
      for (const addr of targets) {
        total++;
        const s = performance.now();
        try {
          await nodes[i]!.connect(addr);
          ok++;
          lat.push(performance.now() - s);
        } catch {
          // counted as a failure
        }
      }
      if (i % 5 === 0 || i === n - 1) log(`connecting… ${i}/${n - 1} nodes`);
    }
    row('connect', ok, total, lat);
    // Join the DHT: a bootstrap round through the new connections (twice: the first nodes joined
    // an almost empty network).
    t = performance.now();
    for (let round = 0; round < 2; round++)
      await Promise.all(nodes.map((node) => node.dht.kad.bootstrap().catch(() => 0)));
    const tables = nodes.map((node) => node.dht.kad.peers().length);
    log(
      `DHT joined in ${(performance.now() - t).toFixed(0)} ms (routing table sizes ${Math.min(...tables)}–${Math.max(...tables)})`,
    );

    // 3. presence: announce, then findPeer
    await Promise.all(nodes.map((node) => node.announce()));
    const plat: number[] = [];
    let pok = 0;
    for (let k = 0; k < n; k++) {
      const a = pick();
      const b = pick(a);
      const s = performance.now();
      const found = await nodes[a]!.findPeer(nodes[b]!.peerId).catch(() => undefined);
      if (found !== undefined && found.length > 0) {
        pok++;
        plat.push(performance.now() - s);
      }
    }
    row('presence (announce + findPeer)', pok, n, plat);

    // 4. DHT put/get
    const putLat: number[] = [];
    const getLat: number[] = [];
    let dok = 0;
    const keys = 20;
    for (let k = 0; k < keys; k++) {
      const a = pick();
      const b = pick(a);
      const key = enc(`demo-key-${k}`);
      let s = performance.now();
      await nodes[a]!.dht.put(key, enc(`value ${k}`));
      putLat.push(performance.now() - s);
      s = performance.now();
      const v = await nodes[b]!.dht.get(key);
      if (v !== undefined && dec(v) === `value ${k}`) {
        dok++;
        getLat.push(performance.now() - s);
      }
    }
    row('dht put', keys, keys, putLat);
    row('dht get (other node)', dok, keys, getLat);

    // 5. pub/sub
    const received = new Map<string, number[]>();
    for (const node of nodes) {
      node.subscribe('demo', (m) => {
        if (m.from.equals(node.peerId)) return;
        const sentAt = Number(dec(m.data).split(' ')[1]);
        const list = received.get(m.id) ?? [];
        list.push(performance.timeOrigin + performance.now() - sentAt);
        received.set(m.id, list);
      });
    }
    await until(
      () => nodes.every((node) => node.pubsub.mesh('demo').length >= Math.min(3, n - 1)),
      10_000,
    );
    const ids: string[] = [];
    for (let k = 0; k < 10; k++) {
      const { id } = await nodes[pick()]!.publish(
        'demo',
        enc(`msg ${performance.timeOrigin + performance.now()}`),
      );
      ids.push(id);
    }
    await until(() => ids.every((id) => (received.get(id)?.length ?? 0) >= n - 1), 10_000);
    const deliveries = ids.reduce((s, id) => s + Math.min(n - 1, received.get(id)?.length ?? 0), 0);
    const dupes = ids.reduce(
      (s, id) => s + Math.max(0, (received.get(id)?.length ?? 0) - (n - 1)),
      0,
    );
    row(
      `pub/sub deliveries (${dupes} duplicates)`,
      dupes === 0 ? deliveries : 0,
      ids.length * (n - 1),
      ids.flatMap((id) => received.get(id) ?? []),
    );

    // 6. request/response
    for (const node of nodes) node.handle('echo', (d) => d);
    const rlat: number[] = [];
    let rok = 0;
    for (let k = 0; k < 50; k++) {
      const a = pick();
      const b = pick(a);
      const s = performance.now();
      const reply = await nodes[a]!.request(nodes[b]!.peerId, 'echo', enc(`ping ${k}`)).catch(
        () => undefined,
      );
      if (reply !== undefined && dec(reply) === `ping ${k}`) {
        rok++;
        rlat.push(performance.now() - s);
      }
    }
    row('request/response (echo)', rok, 50, rlat);

    // 7. acknowledged delivery
    const got = new Map<number, Set<string>>();
    nodes.forEach((node, i) =>
      node.onMessage(
        'demo',
        (m) => void (got.get(i) ?? got.set(i, new Set()).get(i))!.add(dec(m.data)),
      ),
    );
    const alat: number[] = [];
    let aok = 0;
    const sends: Array<[number, string]> = [];
    for (let k = 0; k < 50; k++) {
      const a = pick();
      const b = pick(a);
      const s = performance.now();
      const r = await nodes[a]!.send(nodes[b]!.peerId, 'demo', enc(`hello ${k}`), {
        qos: 'ack',
        timeoutMs: 10_000,
      }).catch(() => undefined);
      if (r?.status === 'acked') {
        aok++;
        alat.push(performance.now() - s);
        sends.push([b, `hello ${k}`]);
      }
    }
    const arrived = sends.filter(([b, text]) => got.get(b)?.has(text) === true).length;
    row(
      'acknowledged send',
      aok === 50 && arrived === aok ? aok : Math.min(aok, arrived),
      50,
      alat,
    );

    // 8. offline delivery: the last node leaves, a message is sent, it comes back
    const gone = n - 1;
    await nodes[gone]!.stop();
    await wait(100);
    const sender = 1;
    const r = await nodes[sender]!.send(
      identities[gone]!.peerId,
      'mail',
      enc('while you were away'),
      { qos: 'ack', timeoutMs: 10_000 },
    ).catch((e: unknown) => e);
    const stored = (r as { status?: string }).status === 'stored-offline';
    log(
      `node ${gone} left; message to it: ${stored ? 'sealed and stored in the DHT' : String((r as Error).message ?? r)}`,
    );
    const back = make(identities[gone]!);
    nodes[gone] = back;
    let mail: string | undefined;
    back.onMessage('mail', (m) => {
      mail = `${m.via}: ${dec(m.data)}`;
    });
    const s = performance.now();
    await back.start();
    await back.connect(boot);
    await until(() => mail !== undefined, 10_000);
    const olat = mail !== undefined ? [performance.now() - s] : [];
    log(
      `node ${gone} is back; ${mail !== undefined ? `received "${mail}"` : 'no offline message'}`,
    );
    row('offline delivery', stored && mail === 'offline: while you were away' ? 1 : 0, 1, olat);

    // 9. steady traffic
    const durationSec = options.durationSec ?? 3;
    if (durationSec > 0) {
      log(`steady traffic for ${durationSec} s…`);
      const end = Date.now() + durationSec * 1000;
      const tl: number[] = [];
      let sent = 0;
      let acked = 0;
      let lastTick = Date.now();
      while (Date.now() < end) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const a = pick(gone);
            const b = pick(a);
            const st = performance.now();
            sent++;
            const res = await nodes[a]!.send(nodes[b]!.peerId, 'steady', enc('x'), {
              qos: 'ack',
              timeoutMs: 10_000,
            }).catch(
              (e: unknown) => (process.env.DETR_DEMO_DEBUG ? log(String(e)) : undefined, undefined),
            );
            return res?.status === 'acked' ? performance.now() - st : undefined;
          }),
        );
        for (const v of batch) {
          if (v === undefined) continue;
          acked++;
          tl.push(v);
        }
        if (Date.now() - lastTick > 1000) {
          lastTick = Date.now();
          log(`  … ${acked} messages acknowledged`);
        }
      }
      row(
        `steady acknowledged traffic (${(acked / durationSec).toFixed(0)} msg/s)`,
        acked,
        sent,
        tl,
      );
    }
    t = performance.now();
    void t;
  } finally {
    const allOk = rows.every((r) => r.ok === r.total);
    if (options.json === true) {
      log(JSON.stringify({ nodes: n, ok: allOk, rows }));
    } else {
      log('');
      log('summary');
      const w = Math.max(...rows.map((r) => r.step.length), 4);
      log(
        `  ${'step'.padEnd(w)}  ${'ok'.padStart(9)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}`,
      );
      for (const r of rows) {
        const f = (v: number): string => (Number.isNaN(v) ? '—' : v.toFixed(2)).padStart(8);
        log(
          `  ${r.step.padEnd(w)}  ${`${r.ok}/${r.total}`.padStart(9)}  ${f(r.p50Ms)}  ${f(r.p99Ms)}`,
        );
      }
    }
    if (options.keep === true) {
      log('--keep: nodes stay up; Ctrl-C stops them');
      log(`bootstrap address: ${nodes[0]?.addresses()[0] ?? ''}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    await Promise.all(nodes.map((node) => node.stop().catch(() => {})));
    log(allOk ? 'demo: ok' : 'demo: FAILED');
    // eslint-disable-next-line no-unsafe-finally
    return allOk;
  }
}

export type { PeerId };
