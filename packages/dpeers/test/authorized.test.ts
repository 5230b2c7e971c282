// Authorized peer sets (commonware's oracle): only members may connect, and connections of peers
// dropped from the set are cut at once.
import { describe, expect, it } from '@jest/globals';
import { parseAddress } from '@detr/interface';
import type { ConnectionCutError } from '../src/index.js';
import { createDpeers } from '../src/index.js';
import { fakeConnection, fakePeerId } from './support/fakes.js';

const remote = parseAddress('/ip4/203.0.113.1/tcp/1');
const [a, b, c, x] = ['a', 'b', 'c', 'x'].map((n) => fakePeerId(n)) as [
  ReturnType<typeof fakePeerId>,
  ReturnType<typeof fakePeerId>,
  ReturnType<typeof fakePeerId>,
  ReturnType<typeof fakePeerId>,
];

describe('authorized sets', () => {
  it('admits everyone until a set is given, then only its members', () => {
    const d = createDpeers();
    expect(d.allowPeer(x, 'inbound', remote)).toBe(true);
    d.setAuthorized(1, [a, b]);
    expect(d.isAuthorized(a)).toBe(true);
    expect(d.isAuthorized(x)).toBe(false);
    expect(d.allowPeer(a, 'inbound', remote)).toBe(true);
    expect(d.allowPeer(x, 'inbound', remote)).toBe(false);
    expect(d.allowPeer(x, 'outbound', remote)).toBe(false);
    expect(d.allowDial(remote, x)).toBe(false);
    expect(d.allowDial(parseAddress(`/ip4/203.0.113.1/tcp/1/p2p/${x.toString()}`))).toBe(false);
    // Without a known peer the dial may go ahead; allowPeer decides once the identity is known.
    expect(d.allowDial(remote)).toBe(true);
    expect(d.stats().refused.unauthorized).toBe(4);
    d.clearAuthorized();
    expect(d.allowPeer(x, 'inbound', remote)).toBe(true);
  });

  it('cuts the connections of peers removed from the set at once, and only those', () => {
    const d = createDpeers();
    d.setAuthorized(1, [a, b, c]);
    const ca = fakeConnection(a, 'inbound');
    const cb1 = fakeConnection(b, 'outbound');
    const cb2 = fakeConnection(b, 'inbound', '/ip4/203.0.113.2/tcp/1');
    const cc = fakeConnection(c, 'inbound', '/ip4/203.0.113.3/tcp/1');
    for (const conn of [ca, cb1, cb2, cc]) d.connectionOpened(conn);
    const cuts: string[] = [];
    d.on('connection:cut', (e) => cuts.push(`${e.connection.remotePeer.toString()}:${e.reason}`));
    d.setAuthorized(2, [a, c]);
    expect([ca, cc].map((k) => k.closedWith)).toEqual([undefined, undefined]);
    expect([cb1, cb2].map((k) => k.closedWith)).toEqual(['abort', 'abort']);
    expect((cb1.abortError as ConnectionCutError).reason).toBe('unauthorized');
    expect(cuts).toEqual([`${b.toString()}:unauthorized`, `${b.toString()}:unauthorized`]);
    expect(d.stats().connections.total).toBe(2);
    expect(d.stats().cut).toBe(2);
  });

  it('rejects an older epoch, replaces the set of the same epoch', () => {
    const d = createDpeers();
    d.setAuthorized(5, [a]);
    expect(() => d.setAuthorized(4, [b])).toThrow(RangeError);
    expect(() => d.setAuthorized(-1, [b])).toThrow(RangeError);
    expect(() => d.setAuthorized(1.5, [b])).toThrow(RangeError);
    d.setAuthorized(5, [b]);
    expect(d.isAuthorized(a)).toBe(false);
    expect(d.isAuthorized(b)).toBe(true);
  });

  it('with trackedAuthorizedSets = 2 admits the union of the two latest epochs', () => {
    const d = createDpeers({}, { trackedAuthorizedSets: 2 });
    d.setAuthorized(1, [a]);
    d.setAuthorized(2, [b]);
    expect([a, b, c].map((p) => d.isAuthorized(p))).toEqual([true, true, false]);
    const ca = fakeConnection(a, 'inbound');
    d.connectionOpened(ca);
    d.setAuthorized(3, [c]);
    // Epoch 1 dropped out of the window: a is no longer authorized.
    expect([a, b, c].map((p) => d.isAuthorized(p))).toEqual([false, true, true]);
    expect(ca.closedWith).toBe('abort');
  });

  it('cuts a connection that opens for a peer de-authorized after allowPeer', () => {
    const d = createDpeers();
    d.setAuthorized(1, [a]);
    expect(d.allowPeer(a, 'inbound', remote)).toBe(true);
    d.setAuthorized(2, [b]);
    const ca = fakeConnection(a, 'inbound');
    d.connectionOpened(ca);
    expect(ca.closedWith).toBe('abort');
  });
});
