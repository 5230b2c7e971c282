// Hostile and greedy peers against one pub/sub node: a raw peer speaks /detr/gossip/1 by hand
// (garbage, floods, IHAVE/IWANT abuse, too many topics), time moves only when the test says so.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  createManualClock,
  type ManualClock,
  type PenaltyReason,
  type PeerId,
  type Stream,
} from '@detr/interface';
import { MessageType, type GossipRpc, type GossipRpcInit } from '@detr/protocol';
import { frameBytes, readMessages, writeBytes } from '../src/framing.js';
import { MessageCache, SeenCache } from '../src/gossip/cache.js';
import { signPublish } from '../src/gossip/message.js';
import type { GossipLinks, PeerState } from '../src/gossip/peers.js';
import { MeshRouter } from '../src/gossip/router.js';
import { PeerScores } from '../src/gossip/score.js';
import { resolvePubSubInit, type PubSubStats } from '../src/gossip/types.js';
import {
  createPubSub,
  GOSSIP_PROTOCOL,
  type PubSub,
  type PubSubInit,
} from '../src/gossip/pubsub.js';
import { peerIdFromBytes } from '../src/identity.js';
import { memoryPeers, until, type TestPeer } from './support.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  clock: ManualClock;
  node: PubSub;
  raw: TestPeer;
  /** Penalties the node reported, by reason, against the raw peer. */
  penalties: PenaltyReason[];
  /** RPCs the node sent the raw peer. */
  received: GossipRpc[];
  /** The raw peer's stream to the node. */
  out: Stream;
  send(rpc: GossipRpcInit): Promise<void>;
}

async function rig(init: PubSubInit = {}): Promise<Rig> {
  const { peers } = await memoryPeers(2);
  const [n, raw] = peers as [TestPeer, TestPeer];
  const clock = createManualClock(Date.now());
  const penalties: PenaltyReason[] = [];
  const node = createPubSub(
    {
      connections: n.cm,
      identity: n.identity,
      peerIdFromBytes,
      clock,
      peerReporter: {
        penalize: (peer: PeerId, reason: PenaltyReason) => {
          if (peer.equals(raw.identity.peerId)) penalties.push(reason);
        },
        reward: () => {},
      },
    },
    { heartbeatMs: 1000, ...init },
  );
  node.start();
  const received: GossipRpc[] = [];
  raw.cm.handle(GOSSIP_PROTOCOL, (s) => {
    s.on('error', () => {});
    void (async () => {
      try {
        for await (const m of readMessages(s, [MessageType.GossipRpc]))
          if (m.type === MessageType.GossipRpc) received.push(m.message);
      } catch {
        /* reset */
      }
    })();
  });
  const conn = await raw.cm.dial(n.identity.peerId);
  const out = await conn.newStream(GOSSIP_PROTOCOL);
  out.on('error', () => {});
  cleanups.push(async () => {
    node.stop();
    for (const p of peers) await p.cm.stop();
  });
  return {
    clock,
    node,
    raw,
    penalties,
    received,
    out,
    send: (rpc) => writeBytes(out, frameBytes(MessageType.GossipRpc, rpc)),
  };
}

const messagesIn = (rpcs: GossipRpc[]): number => rpcs.reduce((a, r) => a + r.messages.length, 0);
const iwantIds = (rpcs: GossipRpc[]): number =>
  rpcs.reduce(
    (a, r) => a + (r.control?.iwant ?? []).reduce((b, w) => b + w.messageIds.length, 0),
    0,
  );

describe('pub/sub under hostile input', () => {
  it('garbage on a gossip stream: stream reset, peer penalised, node unharmed', async () => {
    const r = await rig();
    await writeBytes(r.out, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5]));
    await until(() => r.penalties.includes('invalid-message'), 5000, 'penalty');
    await until(() => r.out.destroyed, 5000, 'stream reset');
    expect(r.node.stats().invalid).toBe(1);
  });

  it('messages past the per-heartbeat limit are dropped and the sender penalised once', async () => {
    const r = await rig({ maxMessagesPerHeartbeat: 10 });
    const got: string[] = [];
    r.node.subscribe('t', (m) => got.push(m.id));
    for (let i = 0; i < 3; i++) {
      const batch = Array.from({ length: 10 }, (_, k) =>
        signPublish(r.raw.identity, 't', i * 10 + k + 1, enc(`m${i}-${k}`)),
      );
      await r.send({ messages: batch.map((b) => b.message) });
    }
    await until(() => r.node.stats().dropped === 20, 5000, 'drops');
    expect(got).toHaveLength(10);
    expect(r.penalties.filter((p) => p === 'rate-limit')).toHaveLength(1);
    // The next heartbeat restores the allowance.
    r.clock.advance(1000);
    await r.send({ messages: [signPublish(r.raw.identity, 't', 99, enc('later')).message] });
    await until(() => got.length === 11, 5000, 'after heartbeat');
  });

  it('checks signatures only on subscribed topics; a forged one there is penalised', async () => {
    const r = await rig();
    const got: string[] = [];
    r.node.subscribe('t', (m) => got.push(m.topic));
    const forge = (topic: string): GossipRpcInit['messages'] => {
      const { message } = signPublish(r.raw.identity, topic, 1, enc('x'));
      return [{ ...message, signed: { ...message.signed, signature: new Uint8Array(64) } }];
    };
    await r.send({ messages: forge('elsewhere') });
    await tick();
    expect(r.penalties).toEqual([]);
    await r.send({ messages: forge('t') });
    await until(() => r.penalties.length === 1, 5000, 'penalty');
    expect(r.penalties).toEqual(['invalid-message']);
    expect(got).toEqual([]);
  });

  it('a publisher past its per-heartbeat limit is ignored without penalty', async () => {
    const r = await rig({ maxPublisherMessagesPerHeartbeat: 5 });
    const got: string[] = [];
    r.node.subscribe('t', (m) => got.push(m.id));
    const batch = Array.from({ length: 8 }, (_, k) =>
      signPublish(r.raw.identity, 't', k + 1, enc(`p${k}`)),
    );
    await r.send({ messages: batch.map((b) => b.message) });
    await until(() => r.node.stats().ignored === 3, 5000, 'ignored');
    expect(got).toHaveLength(5);
    expect(r.penalties).toEqual([]);
  });

  it('answers at most maxIWantPerHeartbeat IWANT ids per peer per heartbeat', async () => {
    const r = await rig({ maxIWantPerHeartbeat: 20 });
    r.node.subscribe('t', () => {});
    const ids: Uint8Array[] = [];
    for (let k = 0; k < 50; k++) {
      const { id } = await r.node.publish('t', enc(`own ${k}`));
      ids.push(Buffer.from(id, 'hex'));
    }
    await tick();
    r.received.length = 0;
    await r.send({ control: { iwant: [{ messageIds: ids }, { messageIds: ids }] } });
    await until(() => r.node.stats().iwantServed === 20, 5000, 'served');
    await tick();
    expect(messagesIn(r.received)).toBe(20);
    r.clock.advance(1000);
    await r.send({ control: { iwant: [{ messageIds: ids.slice(20) }] } });
    await until(() => messagesIn(r.received) === 40, 5000, 'served after heartbeat');
  });

  it('IHAVE floods: bounded IWANT asks, broken promises penalised', async () => {
    const r = await rig({
      maxIWantPerHeartbeat: 30,
      maxIHavePerHeartbeat: 2,
      iwantFollowupMs: 500,
    });
    r.node.subscribe('t', () => {});
    const fake = (i: number): Uint8Array => Buffer.alloc(20, i % 256).fill(i >> 8, 0, 1);
    for (let k = 0; k < 5; k++) {
      const messageIds = Array.from({ length: 25 }, (_, i) => fake(k * 25 + i + 1));
      await r.send({ control: { ihave: [{ topic: 't', messageIds }] } });
    }
    // An IHAVE for a topic the node does not subscribe to is not answered.
    await r.send({ control: { ihave: [{ topic: 'other', messageIds: [fake(999)] }] } });
    await until(() => iwantIds(r.received) === 30, 5000, 'iwant');
    await tick();
    expect(iwantIds(r.received)).toBe(30);
    // The peer never delivers what it advertised: every id it owes counts against it.
    r.clock.advance(1000);
    expect(r.node.stats().brokenPromises).toBe(30);
    expect(r.penalties).toContain('timeout');
    expect(r.node.score(r.raw.identity.peerId)).toBeLessThan(0);
  });

  it('a peer subscribing to too many topics is capped and penalised once', async () => {
    const r = await rig({ maxPeerTopics: 70 });
    for (let b = 0; b < 2; b++) {
      const subscriptions = Array.from({ length: 64 }, (_, i) => ({
        subscribe: true,
        topic: `topic-${b}-${i}`,
      }));
      await r.send({ subscriptions });
    }
    await until(() => r.penalties.length === 1, 5000, 'penalty');
    expect(r.penalties).toEqual(['rate-limit']);
    const known = Array.from({ length: 128 }, (_, i) =>
      r.node.topicPeers(`topic-${i >> 6}-${i & 63}`),
    ).filter((p) => p.length > 0);
    expect(known).toHaveLength(70);
  });

  it('a validator that never answers counts as ignore', async () => {
    const r = await rig({ validateTimeoutMs: 2000 });
    const got: string[] = [];
    r.node.subscribe('t', (m) => got.push(m.id));
    r.node.setValidator('t', () => new Promise(() => {}));
    await r.send({ messages: [signPublish(r.raw.identity, 't', 1, enc('x')).message] });
    await tick();
    expect(r.node.stats().ignored).toBe(0);
    r.clock.advance(2000);
    await until(() => r.node.stats().ignored === 1, 5000, 'ignored');
    expect(got).toEqual([]);
    expect(r.penalties).toEqual([]);
  });

  it('a GRAFT during backoff is refused and counted', async () => {
    const r = await rig();
    r.node.subscribe('t', () => {});
    await r.send({ subscriptions: [{ subscribe: true, topic: 't' }] });
    await r.send({ control: { graft: [{ topic: 't' }] } });
    await until(() => r.node.mesh('t').length === 1, 5000, 'grafted');
    await r.send({ control: { prune: [{ topic: 't', backoffSec: 60 }] } });
    await until(() => r.node.mesh('t').length === 0, 5000, 'pruned');
    r.received.length = 0;
    await r.send({ control: { graft: [{ topic: 't' }] } });
    await until(() => r.penalties.includes('protocol-violation'), 5000, 'penalty');
    await until(() => r.received.some((x) => (x.control?.prune.length ?? 0) > 0), 5000, 'prune');
    expect(r.node.mesh('t')).toEqual([]);
  });
});

describe('IWANT answers', () => {
  it('are split into RPCs that fit the frame limit of peers, each id served once', () => {
    const sent: GossipRpcInit[] = [];
    const links = { peers: new Map(), send: (_st: unknown, rpc: GossipRpcInit) => sent.push(rpc) };
    const o = resolvePubSubInit({});
    const mcache = new MessageCache(o.historyLength, o.historyGossip);
    const router = new MeshRouter({
      o,
      links: links as unknown as GossipLinks,
      scores: new PeerScores(),
      seen: new SeenCache(o.seenTtlMs, o.seenMax),
      mcache,
      reporter: { penalize: () => {}, reward: () => {} },
      clock: createManualClock(),
      random: Math.random,
      counters: { iwantServed: 0 } as PubSubStats,
    });
    const ids: Uint8Array[] = [];
    for (let k = 0; k < 5; k++) {
      const id = new Uint8Array(20).fill(k + 1);
      const body = new Uint8Array(1024 * 1024).fill(k);
      mcache.put(Buffer.from(id).toString('hex'), {
        topic: 't',
        message: {
          messageId: id,
          signed: {
            payloadType: 65,
            body,
            signer: new Uint8Array(32),
            signature: new Uint8Array(64),
          },
        },
      });
      ids.push(id);
    }
    const st = { key: 'p', iwantServedThisBeat: 0 } as unknown as PeerState;
    router.handleControl(st, {
      ihave: [],
      iwant: [{ messageIds: [...ids, ...ids] }],
      graft: [],
      prune: [],
    });
    const sizes = sent.map((r) =>
      (r.messages ?? []).reduce((a, m) => a + (m.signed?.body?.length ?? 0), 0),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5 * 1024 * 1024);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of sizes) expect(size).toBeLessThan(4 * 1024 * 1024);
    expect(st.iwantServedThisBeat).toBe(5);
  });
});

describe('caches', () => {
  it('the seen-cache forgets by time and by count', () => {
    const seen = new SeenCache(1000, 3);
    expect(seen.check('a', 0)).toBe(false);
    expect(seen.check('a', 1)).toBe(true);
    for (const id of ['b', 'c', 'd']) seen.check(id, 10);
    expect(seen.size).toBe(3);
    expect(seen.has('a')).toBe(false);
    seen.expire(1011);
    expect(seen.size).toBe(0);
  });

  it('the message cache keeps history windows and at most max messages', () => {
    const cache = new MessageCache(3, 2, 4);
    const entry = { topic: 't', message: { messageId: new Uint8Array([1]), signed: {} as never } };
    for (const id of ['a', 'b', 'c']) cache.put(id, entry);
    cache.shift();
    for (const id of ['d', 'e']) cache.put(id, entry);
    expect(cache.size).toBe(4);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.gossipIds('t').sort()).toEqual(['b', 'c', 'd', 'e']);
    cache.shift();
    cache.shift();
    expect(cache.gossipIds('t')).toEqual([]);
    expect(cache.get('d')).toBeDefined();
    cache.shift();
    expect(cache.size).toBe(0);
  });
});
