// The peer registry: addresses with source and last success, protocols, latency, last seen;
// bounded, evicting the least useful entries.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { createManualClock, parseAddress, type ManualClock } from '@detr/interface';
import { createDpeers, type Dpeers, type DpeersInit } from '../src/index.js';
import { fakeConnection, fakePeerId } from './support/fakes.js';

let clock: ManualClock;
const make = (init: DpeersInit = {}): Dpeers => createDpeers({ clock }, init);
const a = (text: string) => parseAddress(text);

beforeEach(() => {
  clock = createManualClock();
});

describe('addresses', () => {
  it('records addresses with their source, once each, and ranks them by success', () => {
    const d = make();
    const p = fakePeerId('p');
    d.addAddresses(p, [a('/ip4/192.0.2.1/tcp/1'), a('/ip4/192.0.2.2/tcp/1')], 'dht');
    clock.advance(10);
    d.addAddresses(
      p,
      [a('/ip4/192.0.2.1/tcp/1'), a(`/ip4/192.0.2.3/udp/1/quic/p2p/${p.toString()}`)],
      'mdns',
    );
    let info = d.get(p)!;
    expect(info.addresses.map((x) => [x.address.toString(), x.source])).toEqual([
      ['/ip4/192.0.2.3/udp/1/quic', 'mdns'],
      ['/ip4/192.0.2.1/tcp/1', 'dht'],
      ['/ip4/192.0.2.2/tcp/1', 'dht'],
    ]);
    d.addressFailed(p, a('/ip4/192.0.2.3/udp/1/quic'));
    d.addressSucceeded(p, a('/ip4/192.0.2.2/tcp/1'));
    info = d.get(p)!;
    expect(info.addresses.map((x) => x.address.toString())).toEqual([
      '/ip4/192.0.2.2/tcp/1',
      '/ip4/192.0.2.1/tcp/1',
      '/ip4/192.0.2.3/udp/1/quic',
    ]);
    expect(info.addresses[0]).toMatchObject({ lastSuccessMs: clock.now(), failures: 0 });
    expect(info.addresses[2]).toMatchObject({ lastFailureMs: clock.now(), failures: 1 });
    expect(info.lastSeenMs).toBe(clock.now());
  });

  it('ignores an address that names another peer, and never stores one that only failed', () => {
    const d = make();
    const p = fakePeerId('p');
    const q = fakePeerId('q');
    d.addAddresses(p, [a(`/ip4/192.0.2.1/tcp/1/p2p/${q.toString()}`)], 'dht');
    d.addressFailed(p, a('/ip4/192.0.2.9/tcp/1'));
    expect(d.get(p)?.addresses).toEqual([]);
  });

  it('keeps at most maxAddressesPerPeer, dropping the worst', () => {
    const d = make({ maxAddressesPerPeer: 3 });
    const p = fakePeerId('p');
    d.addAddresses(p, [a('/ip4/192.0.2.1/tcp/1')], 'bootstrap');
    d.addressSucceeded(p, a('/ip4/192.0.2.1/tcp/1'));
    for (let i = 2; i < 40; i++) {
      clock.advance(1);
      d.addAddresses(p, [a(`/ip4/192.0.2.${i}/tcp/1`)], 'dht');
    }
    const kept = d.get(p)!.addresses.map((x) => x.address.toString());
    expect(kept).toEqual([
      '/ip4/192.0.2.1/tcp/1',
      '/ip4/192.0.2.39/tcp/1',
      '/ip4/192.0.2.38/tcp/1',
    ]);
  });
});

describe('metadata', () => {
  it('keeps protocols (bounded), a smoothed latency and last seen', () => {
    const d = make();
    const p = fakePeerId('p');
    d.setProtocols(p, ['/detr/dht/1', '/detr/dht/1', '', 'x'.repeat(300), '/detr/msg/1']);
    expect(d.get(p)?.protocols).toEqual(['/detr/dht/1', '/detr/msg/1']);
    d.setProtocols(
      p,
      Array.from({ length: 500 }, (_, i) => `/p/${i}`),
    );
    expect(d.get(p)?.protocols).toHaveLength(64);
    d.recordLatency(p, 100);
    d.recordLatency(p, 20);
    expect(d.get(p)?.latencyMs).toBe(80);
    d.recordLatency(p, Number.NaN);
    d.recordLatency(p, -1);
    expect(d.get(p)?.latencyMs).toBe(80);
    clock.advance(5);
    d.markSeen(p);
    expect(d.get(p)?.lastSeenMs).toBe(clock.now());
    expect(d.peers().map((x) => x.peer.toString())).toEqual([p.toString()]);
    d.remove(p);
    expect(d.get(p)).toBeUndefined();
  });
});

describe('bounded size', () => {
  it('evicts the least useful entries, never connected, protected or banned ones', () => {
    const d = make({ maxKnownPeers: 10 });
    const connected = fakePeerId('connected');
    d.connectionOpened(fakeConnection(connected, 'outbound'));
    const guarded = fakePeerId('guarded');
    d.protect(guarded, 'relay');
    d.markSeen(guarded);
    const banned = fakePeerId('banned');
    d.ban(banned);
    const useful = fakePeerId('useful');
    d.addAddresses(useful, [a('/ip4/192.0.2.1/tcp/1')], 'dht');
    d.reward(useful, 'answered queries', 5);
    clock.advance(1000);
    for (let i = 0; i < 200; i++) {
      clock.advance(1);
      d.addAddresses(fakePeerId(`filler${i}`), [a(`/ip4/198.51.100.${i % 250}/tcp/1`)], 'dht');
      if (i === 5) d.addressSucceeded(useful, a('/ip4/192.0.2.1/tcp/1'));
    }
    expect(d.stats().knownPeers).toBeLessThanOrEqual(10);
    for (const p of [connected, guarded, banned]) expect(d.get(p)).toBeDefined();
    expect(d.get(useful)).toBeDefined();
    // The newest fillers are the most recently useful; the oldest are gone.
    expect(d.get(fakePeerId('filler199'))).toBeDefined();
    expect(d.get(fakePeerId('filler0'))).toBeUndefined();
    expect(d.stats().evicted).toBeGreaterThan(190);
  });

  it('evicts low-score entries before neutral ones of the same age', () => {
    const d = make({ maxKnownPeers: 3 });
    const bad = fakePeerId('bad');
    const x = fakePeerId('x');
    const y = fakePeerId('y');
    d.markSeen(bad);
    d.markSeen(x);
    d.markSeen(y);
    d.penalize(bad, 'timeout');
    d.markSeen(fakePeerId('z'));
    expect(d.get(bad)).toBeUndefined();
    expect(d.get(x)).toBeDefined();
  });
});
