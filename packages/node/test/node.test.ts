import { afterEach, describe, expect, it } from '@jest/globals';
import { createIdentity } from '@detr/aecomms';
import { createNode, type DetrNode } from '../src/node.js';
import { createNetwork, encodeJoin, decodeJoin, issueToken } from '../src/networks.js';
import { PeerUnreachableError } from '../src/errors.js';
import { EventEmitter } from 'node:events';
import { createMdnsDiscovery, type MdnsFactory } from '../src/mdns.js';
import { until } from './support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLmdbStore, type Store } from '@detr/stored';
import type { Identity } from '@detr/aecomms';
import { mailboxKey, senderSlots } from '../src/offline/mailbox.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const nodes: DetrNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

const base = {
  node: { gossip_heartbeat_ms: 50, retransmit_interval_ms: 100, log_level: 'silent' },
  transport: { listen: ['/ip4/127.0.0.1/tcp/0'], connection_timeout_ms: 5000 },
};

describe('createNode over @detr/transport and @detr/dht', () => {
  const fast = base;
  const admin = createIdentity();
  const network = createNetwork(admin, 'test');

  function member(
    opts: {
      adminNode?: boolean;
      token?: string;
      identity?: Identity;
      store?: Store;
      config?: object;
    } = {},
  ): DetrNode {
    const identity = opts.identity ?? createIdentity();
    const token = opts.token ?? issueToken(admin, network, identity.peerId).token;
    const node = createNode(
      {
        config: opts.config ?? fast,
        network,
        token,
        ...(opts.adminNode === true ? { admin } : {}),
      },
      { identity, ...(opts.store !== undefined ? { store: opts.store } : {}) },
    );
    nodes.push(node);
    return node;
  }

  it('members with tokens talk; no valid token is refused; DHT put/get and presence; revocation cuts only the holder', async () => {
    const a = member({ adminNode: true });
    const bId = createIdentity();
    const tokB = a.issueToken(bId.peerId);
    const b = member({ identity: bId, token: tokB.token });
    const c = member();
    const d = member({ token: 'not-a-token' });
    for (const n of [a, b, c, d]) await n.start();
    const got: string[] = [];
    b.onMessage('chat', (m) => {
      got.push(dec(m.data));
    });
    b.handle('echo', (x) => x);
    await a.connect(b.addresses()[0]!);
    await c.connect(a.addresses()[0]!);
    expect(a.peers().every((p) => p.transport === 'tcp')).toBe(true);
    expect((await a.send(b.peerId, 'chat', enc('hello'), { qos: 'ack' })).status).toBe('acked');
    expect(dec(await a.request(b.peerId, 'echo', enc('ping')))).toBe('ping');
    await until(() => got.length === 1);
    // d has no valid token: b refuses it, and counts the failed handshake.
    await expect(d.connect(b.addresses()[0]!)).rejects.toBeInstanceOf(PeerUnreachableError);
    await until(() => b.status().handshakeFailures >= 1, 5000, 'handshake failure counted');
    // The DHT: a record put by c is read by b (b is not connected to c: through a's table).
    await until(
      () => [a, b, c].every((n) => n.dht.kad.peers().length >= 1),
      10_000,
      'routing tables',
    );
    await c.dht.put(enc('k'), enc('v'));
    expect(dec((await b.dht.get(enc('k')))!)).toBe('v');
    expect(b.status().dht.lookups).toBeGreaterThan(0);
    await b.announce();
    expect(await c.findPeer(b.peerId)).toEqual(expect.arrayContaining([b.addresses()[0]]));
    // Revoking b's token cuts b's connections only: c stays connected to a.
    const events: number[] = [];
    b.on('revocations:update', (e) => events.push(e.seq));
    await a.revokeTokens([tokB.tokenId]);
    await until(
      () =>
        a.peers().every((p) => p.peer !== b.peerId.toString()) &&
        b.peers().every((p) => p.peer !== a.peerId.toString()),
      10_000,
      'b cut',
    );
    expect(a.peers().map((p) => p.peer)).toContain(c.peerId.toString());
    await expect(b.connect(a.addresses()[0]!)).rejects.toBeInstanceOf(PeerUnreachableError);
  }, 60_000);

  it('a request with no direct route is forwarded through a mutual peer, signed by the requester', async () => {
    const a = member();
    const r = member();
    // t listens nowhere (a peer behind a NAT): it can only dial out, so a has no route to it.
    const t = member({ config: { ...fast, transport: { ...fast.transport, listen: [] } } });
    for (const n of [a, r, t]) await n.start();
    const seen: Array<{ from: string; via: string | undefined }> = [];
    t.handle('echo', (x, ctx) => {
      seen.push({ from: ctx.from.toString(), via: ctx.via?.toString() });
      return x;
    });
    await a.connect(r.addresses()[0]!);
    await t.connect(r.addresses()[0]!);
    expect(dec(await a.request(t.peerId, 'echo', enc('via r'), { timeoutMs: 20_000 }))).toBe(
      'via r',
    );
    expect(seen).toEqual([{ from: a.peerId.toString(), via: r.peerId.toString() }]);
    await expect(
      a.request(t.peerId, 'echo', enc('x'), { relay: false, timeoutMs: 5_000 }),
    ).rejects.toBeInstanceOf(PeerUnreachableError);
  }, 60_000);

  it('join bundles round-trip', () => {
    const { network: n, token } = decodeJoin(encodeJoin(network, 'abc'));
    expect(n.id).toBe(network.id);
    expect(token).toBe('abc');
  });

  it('offline delivery through @detr/dht: sealed in the mailbox, fetched once and deleted when the recipient starts later', async () => {
    const a = member({ adminNode: true });
    const r = member();
    const bId = createIdentity();
    await a.start();
    await r.start();
    await a.connect(r.addresses()[0]!);
    // b has never run: a's send goes to b's mailbox in the DHT (held by a and r).
    const res = await a.send(bId.peerId, 'mail', enc('while you were out'), { qos: 'ack' });
    expect(res.status).toBe('stored-offline');
    expect(a.status().offline.stored).toBe(1);
    const b = member({ identity: bId });
    const got: string[] = [];
    b.onMessage('mail', (m) => {
      got.push(`${m.via}:${dec(m.data)}:${m.from.equals(a.peerId)}`);
    });
    await b.start();
    await b.connect(r.addresses()[0]!);
    await until(() => got.length === 1, 20_000, 'offline message');
    expect(got).toEqual(['offline:while you were out:true']);
    expect(b.status().offline.deleted).toBeGreaterThanOrEqual(1);
    // The slot holds b's tombstone now: reading again delivers nothing, and a's next message
    // takes the slot over (a newer seq than the tombstone).
    expect(await b.fetchOffline()).toBe(0);
    expect(got.length).toBe(1);
    const slots = senderSlots(a.peerId.bytes, bId.peerId.bytes);
    const recs = await Promise.all(slots.map((s) => r.dht.kad.get(mailboxKey(bId.peerId, s))));
    const rec = recs[0];
    expect(rec?.value.length).toBe(0);
    expect(Buffer.from(rec!.publisher).equals(Buffer.from(bId.peerId.publicKey))).toBe(true);
  }, 60_000);

  it('acknowledged delivery survives a receiver restarted with the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'detr-node-'));
    try {
      const a = member({ adminNode: true });
      await a.start();
      const bId = createIdentity();
      const bConfig = { ...fast, dht: { bootstrap: [a.addresses()[0]!] } };
      const openStore = async (): Promise<Store> => {
        const s = createLmdbStore({}, { path: dir, durability: 'committed' });
        await s.start();
        return s;
      };
      let store = await openStore();
      let b = member({ identity: bId, store, config: bConfig });
      const got: string[] = [];
      const listen = (n: DetrNode): void => {
        n.onMessage('c', (m) => {
          got.push(dec(m.data));
        });
      };
      listen(b);
      await b.start();
      await until(() => a.peers().length === 1, 10_000, 'b joined');
      expect((await a.send(bId.peerId, 'c', enc('one'), { qos: 'ack' })).status).toBe('acked');
      // b goes away; a keeps its acknowledged messages (no offline fallback here).
      await b.stop();
      await store.stop();
      await until(() => a.peers().length === 0, 10_000, 'b gone');
      const pending = [2, 3].map((i) =>
        a.send(bId.peerId, 'c', enc(`m${i}`), { qos: 'ack', offline: false, timeoutMs: 60_000 }),
      );
      await until(() => a.status().messaging.outbox === 2, 10_000, 'queued');
      // b comes back: same identity, same data dir, a new port; it rejoins through its bootstrap.
      store = await openStore();
      b = member({ identity: bId, store, config: bConfig });
      listen(b);
      await b.start();
      expect((await Promise.all(pending)).map((r) => r.status)).toEqual(['acked', 'acked']);
      await until(() => got.length === 3, 10_000, 'delivered');
      expect(got).toEqual(['one', 'm2', 'm3']);
      await b.stop();
      await store.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/**
 * An in-process stand-in for the multicast group: this machine's loopback has no MULTICAST flag,
 * so real multicast-dns sockets on 127.0.0.1 never hear each other here.
 */
function mdnsBus(): MdnsFactory {
  const members = new Set<EventEmitter>();
  const broadcast = (event: string, packet: unknown): void => {
    setImmediate(() => {
      for (const m of members) m.emit(event, packet);
    });
  };
  return () => {
    const e = new EventEmitter();
    members.add(e);
    return {
      on: (ev: string, fn: (...args: never[]) => void) =>
        e.on(ev, fn as (...args: unknown[]) => void),
      query: (q: unknown) => broadcast('query', q),
      respond: (r: unknown, cb?: () => void) => {
        broadcast('response', r);
        cb?.();
      },
      destroy: (cb?: () => void) => {
        members.delete(e);
        cb?.();
      },
    };
  };
}

describe('mDNS discovery', () => {
  it('two nodes find each other, connect, and see the goodbye', async () => {
    const bus = mdnsBus();
    const admin = createIdentity();
    const network = createNetwork(admin, 'lan');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const config = {
      ...base,
      node: { ...base.node, mdns: true, mdns_port: port, mdns_interface: '127.0.0.1' },
    };
    const mk = (): DetrNode => {
      const identity = createIdentity();
      const n = createNode(
        { config, network, token: issueToken(admin, network, identity.peerId).token },
        { identity, mdnsFactory: bus },
      );
      nodes.push(n);
      return n;
    };
    const a = mk();
    const b = mk();
    const discovered: string[] = [];
    const lost: string[] = [];
    a.on('peer:discovered', (e) => discovered.push(e.peer.toString()));
    a.on('peer:lost', (e) => lost.push(e.peer.toString()));
    await a.start();
    await b.start();
    await until(() => a.peers().length === 1, 15_000, 'mdns connection');
    expect(a.peers()[0]!.peer).toBe(b.peerId.toString());
    await b.stop();
    await until(() => lost.includes(b.peerId.toString()), 10_000, 'goodbye');
    expect(discovered).toContain(b.peerId.toString());
  }, 30_000);
});

describe('mDNS with real multicast-dns sockets', () => {
  it('binds to 127.0.0.1, answers and stops cleanly (goodbye sent, socket closed)', async () => {
    const d = createMdnsDiscovery({
      networkId: 'ab'.repeat(32),
      peerId: 'dself',
      addresses: () => ['/ip4/127.0.0.1/tcp/1'],
      port: 20_000 + Math.floor(Math.random() * 20_000),
      onPeer: () => {},
      onLost: () => {},
    });
    d.start();
    await new Promise((r) => setTimeout(r, 100));
    await d.stop();
    await d.stop();
  });
});
