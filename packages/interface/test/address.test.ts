import { describe, expect, it } from '@jest/globals';
import { InvalidAddressError, parseAddress, withPeer } from '../src/index.js';

const PEER = 'detr1abcdefghijklmnop';

describe('parseAddress', () => {
  it.each([
    '/ip4/127.0.0.1/tcp/4001',
    '/ip6/::1/tcp/0',
    '/ip4/127.0.0.1/udp/4001/quic',
    '/ip4/10.0.0.1/udp/9/webrtc',
    '/memory/node-1',
    `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`,
    `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}/p2p-circuit/p2p/detr1zyxwvutsrqponm`,
  ])('round-trips %s', (text) => {
    expect(parseAddress(text).toString()).toBe(text);
  });

  it('exposes the parts', () => {
    const a = parseAddress(`/ip4/127.0.0.1/udp/4001/quic/p2p/${PEER}`);
    expect([a.transport, a.host, a.family, a.port, a.peer]).toEqual([
      'quic',
      '127.0.0.1',
      4,
      4001,
      PEER,
    ]);
    const r = parseAddress(`/ip4/1.2.3.4/tcp/1/p2p/${PEER}/p2p-circuit/p2p/detr1target000`);
    expect(r.relay?.peer).toBe(PEER);
    expect(r.peer).toBe('detr1target000');
  });

  it.each([
    '',
    'ip4/127.0.0.1/tcp/1',
    '/ip4/127.0.0.1/tcp/65536',
    '/ip4/127.0.0.1/tcp/01',
    '/ip4/127.0.0.1/tcp/-1',
    '/ip4/256.0.0.1/tcp/1',
    '/ip4/::1/tcp/1',
    '/ip6/127.0.0.1/tcp/1',
    '/ip4/127.0.0.1/tcp/1/',
    '/ip4/127.0.0.1/udp/1',
    '/ip4/127.0.0.1/tcp/1/quic',
    '/dns/example.com/tcp/1',
    '/memory/',
    '/memory/a/b',
    '/ip4/127.0.0.1/tcp/1/p2p/UPPER',
    '/ip4/127.0.0.1/tcp/1/p2p-circuit/p2p/detr1target000',
    'x'.repeat(2000),
  ])('rejects %j', (text) => {
    expect(() => parseAddress(text)).toThrow(InvalidAddressError);
  });

  it('withPeer adds or replaces the peer', () => {
    const a = parseAddress('/ip4/127.0.0.1/tcp/1');
    expect(withPeer(a, PEER).peer).toBe(PEER);
    expect(withPeer(withPeer(a, PEER), 'detr1other0000').toString()).toBe(
      '/ip4/127.0.0.1/tcp/1/p2p/detr1other0000',
    );
  });
});
