// @detr/dpeers: the cost of what runs on every message or connection attempt: a reputation
// update (penalty or reward, with decay), a ban check, and the connection gate's checks
// (allowInbound / allowDial / allowPeer) with many connections tracked.
import { createIdentity } from '@detr/aecomms';
import { createDpeers } from '@detr/dpeers';
import { parseAddress, type Address, type Connection, type PeerId } from '@detr/interface';
import type { Benchmark } from '../lib/harness.js';

export interface DpeersFigures {
  /** `penalize()` calls/s over `peers` peers (score decay, ban threshold check). */
  penalize: number;
  /** `reward()` calls/s. */
  reward: number;
  /** `isBanned()` calls/s (a third of the peers banned). */
  isBanned: number;
  /** `allowInbound()` calls/s with `connections` open (per-IP and per-/24 limits). */
  allowInbound: number;
  /** `allowDial()` calls/s. */
  allowDial: number;
  /** `allowPeer()` calls/s (ban, authorized set, fullness). */
  allowPeer: number;
}

function rate(n: number, start: bigint): number {
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** A connection as the gate sees it (it reads peer, address, direction and onClose). */
function connection(peer: PeerId, address: Address, i: number): Connection {
  return {
    id: `bench-${i}`,
    remotePeer: peer,
    remoteAddress: address,
    direction: i % 2 === 0 ? 'inbound' : 'outbound',
    onClose: () => {},
    close: () => Promise.resolve(),
    abort: () => {},
  } as unknown as Connection;
}

export async function measureDpeers(options: {
  peers: number;
  connections: number;
  ops: number;
}): Promise<DpeersFigures> {
  const { ops } = options;
  const peers = Array.from({ length: options.peers }, () => createIdentity().peerId);
  const addrs = peers.map((_, i) =>
    parseAddress(`/ip4/10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}/tcp/4001`),
  );
  // A high ban threshold so penalties do not turn into bans (that path is measured separately).
  const dp = createDpeers(
    {},
    {
      maxConnections: options.connections * 2,
      maxInboundConnections: options.connections * 2,
      maxOutboundConnections: options.connections * 2,
      banThreshold: 100,
    },
  );
  await dp.start();
  try {
    const n = peers.length;
    const at = (i: number): PeerId => peers[i % n] as PeerId;
    const addr = (i: number): Address => addrs[i % n] as Address;
    for (let i = 0; i < options.connections; i++)
      dp.connectionOpened(connection(at(i), addr(i), i));

    let t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) dp.penalize(at(i), 'timeout', 0.01);
    const penalize = rate(ops, t);
    t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) dp.reward(at(i), 'useful', 1);
    const reward = rate(ops, t);

    for (let i = 0; i < n; i += 3) dp.ban(at(i), { durationMs: 3_600_000, reason: 'bench' });
    let banned = 0;
    t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (dp.isBanned(at(i))) banned++;
    const isBanned = rate(ops, t);
    if (banned === 0) throw new Error('no ban seen');

    let allowed = 0;
    t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (dp.allowInbound(addr(i))) allowed++;
    const allowInbound = rate(ops, t);
    t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (dp.allowDial(addr(i), at(i))) allowed++;
    const allowDial = rate(ops, t);
    t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (dp.allowPeer(at(i), 'inbound', addr(i))) allowed++;
    const allowPeer = rate(ops, t);
    if (allowed === 0) throw new Error('nothing allowed');
    return { penalize, reward, isBanned, allowInbound, allowDial, allowPeer };
  } finally {
    await dp.stop();
  }
}

const bench: Benchmark = {
  name: 'dpeers',
  description: 'dpeers: reputation updates, ban checks and connection-gate checks per second',
  async run(ctx) {
    const plan = ctx.quick
      ? { peers: 200, connections: 50, ops: 20_000 }
      : { peers: 2000, connections: 100, ops: 500_000 };
    ctx.note(
      `${plan.peers} peers, ${plan.connections} connections tracked, ${plan.ops} calls each; shared machine: indicative`,
    );
    const f = await measureDpeers(plan);
    ctx.figure('dpeers.penalize', f.penalize, 'ops/s');
    ctx.figure('dpeers.reward', f.reward, 'ops/s');
    ctx.figure('dpeers.isBanned', f.isBanned, 'ops/s');
    ctx.figure('dpeers.gate.allowInbound', f.allowInbound, 'ops/s');
    ctx.figure('dpeers.gate.allowDial', f.allowDial, 'ops/s');
    ctx.figure('dpeers.gate.allowPeer', f.allowPeer, 'ops/s');
  },
};

export default bench;
