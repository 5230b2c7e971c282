// The ConnectionGate and ConnectionTracker: limits, bans before the handshake completes, pruning
// of the lowest-value connections, protected peers.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { createManualClock, parseAddress, type ManualClock } from '@detr/interface';
import { ConnectionCutError, createDpeers, type Dpeers, type DpeersInit } from '../src/index.js';
import { fakeConnection, fakePeerId, type FakeConnection } from './support/fakes.js';

let clock: ManualClock;
const make = (init: DpeersInit = {}): Dpeers => createDpeers({ clock }, init);
const addr = (text: string) => parseAddress(text);

beforeEach(() => {
  clock = createManualClock();
});

function open(
  d: Dpeers,
  n: number | string,
  direction: 'inbound' | 'outbound' = 'inbound',
  remote?: string,
): FakeConnection {
  const peer = fakePeerId(n);
  const c = fakeConnection(
    peer,
    direction,
    remote ?? `/ip4/198.51.${Number(String(n).length)}.${Math.abs(hash(n)) % 250}/tcp/4001`,
  );
  d.connectionOpened(c);
  return c;
}
const hash = (n: number | string): number =>
  [...String(n)].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7);

describe('limits', () => {
  it('refuses inbound sockets past maxInboundConnections and dials past maxOutboundConnections', () => {
    const d = make({ maxInboundConnections: 2, maxOutboundConnections: 1, maxConnections: 100 });
    expect(d.allowInbound(addr('/ip4/203.0.113.9/tcp/1'))).toBe(true);
    open(d, 1, 'inbound', '/ip4/203.0.113.1/tcp/1');
    const second = open(d, 2, 'inbound', '/ip4/203.0.114.1/tcp/1');
    expect(d.allowInbound(addr('/ip4/203.0.115.9/tcp/1'))).toBe(false);
    expect(d.allowDial(addr('/ip4/203.0.116.9/tcp/1'))).toBe(true);
    open(d, 3, 'outbound', '/ip4/203.0.116.9/tcp/1');
    expect(d.allowDial(addr('/ip4/203.0.117.9/tcp/1'))).toBe(false);
    second.finish();
    expect(d.allowInbound(addr('/ip4/203.0.115.9/tcp/1'))).toBe(true);
    expect(d.stats().refused).toMatchObject({ 'inbound-limit': 1, 'outbound-limit': 1 });
    expect(d.stats().connections).toEqual({ inbound: 1, outbound: 1, total: 2 });
  });

  it('limits connections per IP and per IPv4 /24', () => {
    const d = make({ maxConnectionsPerIp: 2, maxConnectionsPerSubnet: 3 });
    open(d, 'a', 'inbound', '/ip4/203.0.113.5/tcp/1');
    open(d, 'b', 'inbound', '/ip4/203.0.113.5/tcp/2');
    expect(d.allowInbound(addr('/ip4/203.0.113.5/tcp/3'))).toBe(false);
    expect(d.allowDial(addr('/ip4/203.0.113.5/tcp/3'))).toBe(false);
    expect(d.allowInbound(addr('/ip4/203.0.113.6/tcp/3'))).toBe(true);
    open(d, 'c', 'outbound', '/ip4/203.0.113.6/tcp/1');
    expect(d.allowInbound(addr('/ip4/203.0.113.7/tcp/3'))).toBe(false);
    expect(d.allowInbound(addr('/ip4/203.0.112.7/tcp/3'))).toBe(true);
    expect(d.stats().refused).toMatchObject({ 'ip-limit': 2, 'subnet-limit': 1 });
  });

  it('groups IPv6 by /48 and IPv4-mapped IPv6 as IPv4', () => {
    const d = make({ maxConnectionsPerIp: 1, maxConnectionsPerSubnet: 2 });
    open(d, 'v6a', 'inbound', '/ip6/2001:db8:1:1::1/tcp/1');
    expect(d.allowInbound(addr('/ip6/2001:0db8:0001:0001:0000:0000:0000:0001/tcp/2'))).toBe(false);
    open(d, 'v6b', 'inbound', '/ip6/2001:db8:1:ffff::2/tcp/1');
    expect(d.allowInbound(addr('/ip6/2001:db8:1:2::3/tcp/1'))).toBe(false);
    expect(d.allowInbound(addr('/ip6/2001:db8:2::3/tcp/1'))).toBe(true);
    open(d, 'v4', 'inbound', '/ip4/192.0.2.1/tcp/1');
    expect(d.allowInbound(addr('/ip6/::ffff:192.0.2.1/tcp/1'))).toBe(false);
  });

  it('leaves loopback, memory and relayed addresses out of IP limits unless asked', () => {
    const d = make({ maxConnectionsPerIp: 1 });
    for (let i = 0; i < 5; i++) open(d, `lo${i}`, 'inbound', `/ip4/127.0.0.1/tcp/${i + 1}`);
    expect(d.allowInbound(addr('/ip4/127.0.0.1/tcp/99'))).toBe(true);
    expect(d.allowInbound(addr('/memory/x'))).toBe(true);
    const strict = make({ maxConnectionsPerIp: 1, limitLoopback: true });
    open(strict, 'lo', 'inbound', '/ip4/127.0.0.1/tcp/1');
    expect(strict.allowInbound(addr('/ip4/127.0.0.1/tcp/2'))).toBe(false);
    expect(strict.allowInbound(addr('/ip6/::1/tcp/2'))).toBe(true);
  });
});

describe('bans at the gate', () => {
  it('refuses a banned peer at dial (by PeerId or /p2p/ address) and mid-handshake', () => {
    const d = make();
    const bad = fakePeerId('bad');
    d.ban(bad, { reason: 'test' });
    expect(d.allowDial(addr('/ip4/203.0.113.1/tcp/1'), bad)).toBe(false);
    expect(d.allowDial(addr(`/ip4/203.0.113.1/tcp/1/p2p/${bad.toString()}`))).toBe(false);
    expect(d.allowPeer(bad, 'inbound', addr('/ip4/203.0.113.1/tcp/1'))).toBe(false);
    expect(d.allowPeer(bad, 'outbound', addr('/ip4/203.0.113.1/tcp/1'))).toBe(false);
    expect(d.allowPeer(fakePeerId('good'), 'inbound', addr('/ip4/203.0.113.1/tcp/1'))).toBe(true);
    expect(d.stats().refused.banned).toBe(4);
  });

  it('cuts a connection at once if its peer was banned between allowPeer and open', () => {
    const d = make();
    const peer = fakePeerId('late');
    expect(d.allowPeer(peer, 'inbound', addr('/ip4/203.0.113.1/tcp/1'))).toBe(true);
    d.ban(peer);
    const c = fakeConnection(peer, 'inbound');
    d.connectionOpened(c);
    expect(c.closedWith).toBe('abort');
    expect(c.abortError).toBeInstanceOf(ConnectionCutError);
    expect(d.stats().connections.total).toBe(0);
  });

  it('cuts every open connection of a peer the moment penalties ban it', () => {
    const d = make();
    const peer = fakePeerId('flooder');
    const c1 = open(d, 'flooder', 'inbound', '/ip4/203.0.113.1/tcp/1');
    const c2 = open(d, 'flooder', 'outbound', '/ip4/203.0.113.2/tcp/1');
    const other = open(d, 'innocent');
    const cuts: string[] = [];
    d.on('connection:cut', (e) => cuts.push(e.reason));
    for (let i = 0; i < 4; i++) d.penalize(peer, 'invalid-message');
    expect(c1.closedWith).toBeUndefined();
    d.penalize(peer, 'invalid-message');
    expect(d.isBanned(peer)).toBe(true);
    expect([c1.closedWith, c2.closedWith]).toEqual(['abort', 'abort']);
    expect((c1.abortError as ConnectionCutError).reason).toBe('banned');
    expect(other.closedWith).toBeUndefined();
    expect(cuts).toEqual(['banned', 'banned']);
    expect(d.stats().connections.total).toBe(1);
  });
});

describe('pruning', () => {
  it('closes the lowest-value connections when over maxConnections', () => {
    const d = make({ maxConnections: 3 });
    const good = fakePeerId('good');
    for (let i = 0; i < 20; i++) d.reward(good, 'useful');
    const bad = fakePeerId('meh');
    d.penalize(bad, 'timeout');
    const cGood = open(d, 'good', 'inbound');
    const cOut = open(d, 'out', 'outbound');
    const cBad = open(d, 'meh', 'inbound');
    expect(d.stats().connections.total).toBe(3);
    const cNew = open(d, 'new', 'inbound');
    // Lowest value: the penalised peer (score -2), below the newcomer (0).
    expect(cBad.closedWith).toBe('close');
    expect([cGood, cOut, cNew].map((c) => c.closedWith)).toEqual([undefined, undefined, undefined]);
    expect(d.stats().pruned).toBe(1);
    expect(d.stats().connections.total).toBe(3);
  });

  it('prefers to keep older connections among equals, and values age and direction', () => {
    const d = make({ maxConnections: 2 });
    const old = open(d, 'old');
    clock.advance(5 * 60_000);
    const mid = open(d, 'mid');
    const young = open(d, 'young');
    expect(young.closedWith).toBe('close');
    expect(old.closedWith).toBeUndefined();
    expect(mid.closedWith).toBeUndefined();
  });

  it('never prunes protected peers, even when they are the lowest', () => {
    const d = make({ maxConnections: 2 });
    const p1 = fakePeerId('p1');
    const p2 = fakePeerId('p2');
    d.protect(p1, 'dht-closest');
    d.protect(p2, 'relay');
    d.penalize(p1, 'timeout', 5);
    const c1 = open(d, 'p1');
    const c2 = open(d, 'p2');
    const c3 = open(d, 'p3');
    expect(c1.closedWith).toBeUndefined();
    expect(c2.closedWith).toBeUndefined();
    expect(c3.closedWith).toBe('close');
    // All protected: over the limit, nothing to prune.
    d.protect(fakePeerId('p4'), 'keep');
    const c4 = open(d, 'p4');
    expect(c4.closedWith).toBeUndefined();
    expect(d.prune()).toBe(0);
    expect(d.stats().connections.total).toBe(3);
    d.unprotect(p2, 'relay');
    expect(d.isProtected(p2)).toBe(false);
    expect(d.prune()).toBe(1);
    expect(c2.closedWith).toBe('close');
  });

  it('refuses a newcomer mid-handshake when full unless it is worth more than the weakest', () => {
    const d = make({ maxConnections: 2 });
    open(d, 'a');
    open(d, 'b');
    const remote = addr('/ip4/203.0.113.50/tcp/1');
    expect(d.allowPeer(fakePeerId('stranger'), 'inbound', remote)).toBe(false);
    expect(d.stats().refused.full).toBe(1);
    // An outbound connection we chose (+10) is worth more than an idle inbound one.
    expect(d.allowPeer(fakePeerId('stranger'), 'outbound', remote)).toBe(true);
    const star = fakePeerId('star');
    for (let i = 0; i < 5; i++) d.reward(star, 'useful');
    expect(d.allowPeer(star, 'inbound', remote)).toBe(true);
    const vip = fakePeerId('vip');
    d.protect(vip, 'keep');
    expect(d.allowPeer(vip, 'inbound', remote)).toBe(true);
  });

  it('aborts a pruned connection whose graceful close hangs past the timeout', () => {
    const d = make({ maxConnections: 1, pruneCloseTimeoutMs: 1000 });
    open(d, 'keep', 'outbound');
    const c = fakeConnection(fakePeerId('hang'), 'inbound', '/ip4/203.0.113.77/tcp/1', {
      closeHangs: true,
    });
    d.connectionOpened(c);
    expect(c.closedWith).toBe('close');
    expect(c.status).toBe('closing');
    clock.advance(1000);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      expect(c.status).toBe('closed');
      expect(c.abortError?.name).toBe('ConnectionPrunedError');
      expect(d.stats().connections.total).toBe(1);
    });
  });
});

describe('tracking', () => {
  it('counts each connection once and forgets it once, whoever reports the close', () => {
    const d = make();
    const c = open(d, 'x', 'inbound', '/ip4/203.0.113.1/tcp/1');
    d.connectionOpened(c);
    expect(d.stats().connections.total).toBe(1);
    expect(d.get(fakePeerId('x'))?.connections).toBe(1);
    c.finish();
    d.connectionClosed(c);
    d.connectionClosed(c);
    expect(d.stats().connections).toEqual({ inbound: 0, outbound: 0, total: 0 });
    expect(d.get(fakePeerId('x'))?.connections).toBe(0);
    expect(d.get(fakePeerId('x'))?.lastSeenMs).toBe(clock.now());
  });
});
