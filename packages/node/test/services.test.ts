import { afterEach, describe, expect, it } from '@jest/globals';
import { TimeoutError } from '@detr/interface';
import { createServices, type Services } from '../src/services.js';
import { peerIdFromBytes } from '../src/identity.js';
import {
  HandlerError,
  PeerUnreachableError,
  RequestRefusedError,
  UnknownServiceError,
} from '../src/errors.js';
import { memoryPeers, type TestPeer } from './support.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function net(n: number): Promise<{ peers: TestPeer[]; svc: Services[]; hub: any }> {
  const { hub, peers } = await memoryPeers(n);
  const svc = peers.map((p) =>
    createServices({ connections: p.cm, peerIdFromBytes }, { requestTimeoutMs: 2000 }),
  );
  for (const s of svc) s.start();
  cleanups.push(async () => {
    for (const s of svc) s.stop();
    for (const p of peers) await p.cm.stop();
  });
  return { peers, svc, hub };
}

describe('services', () => {
  it('answers a request and maps every failure to its typed error', async () => {
    const { peers, svc } = await net(2);
    const b = peers[1]!.identity.peerId;
    svc[1]!.handle('echo', (d, ctx) => enc(`${dec(d)} from ${ctx.from.toString().slice(0, 4)}`));
    svc[1]!.handle('refuse', () => {
      throw new RequestRefusedError('no thanks');
    });
    svc[1]!.handle('boom', () => {
      throw new Error('kaput');
    });
    svc[1]!.handle(
      'slow',
      (_d, ctx) => new Promise((r) => ctx.signal.addEventListener('abort', () => r(enc('late')))),
    );
    expect(dec(await svc[0]!.request(b, 'echo', enc('hi')))).toBe(
      `hi from ${peers[0]!.identity.peerId.toString().slice(0, 4)}`,
    );
    await expect(svc[0]!.request(b, 'nope', enc(''))).rejects.toBeInstanceOf(UnknownServiceError);
    await expect(svc[0]!.request(b, 'refuse', enc(''))).rejects.toBeInstanceOf(RequestRefusedError);
    const err = await svc[0]!.request(b, 'boom', enc('')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as Error).message).toBe('kaput');
    await expect(svc[0]!.request(b, 'slow', enc(''), { timeoutMs: 200 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const ac = new AbortController();
    const p = svc[0]!.request(b, 'slow', enc(''), { signal: ac.signal, timeoutMs: 5000 });
    ac.abort();
    await expect(p).rejects.toThrow();
    expect(svc[1]!.stats().served).toBe(1);
  });

  it('forwards through a relay when there is no direct route', async () => {
    const { peers, svc, hub } = await net(3);
    const [a, r, t] = peers as [TestPeer, TestPeer, TestPeer];
    svc[2]!.handle('echo', (d) => d);
    await a.cm.dial(r.identity.peerId);
    await r.cm.dial(t.identity.peerId);
    // a cannot dial t (different "network path"): make t refuse dials but keep r's connection.
    const original = a.cm.dial.bind(a.cm);
    a.cm.dial = async (target: any, o?: any) => {
      if ('equals' in target && target.equals(t.identity.peerId))
        throw new PeerUnreachableError('t');
      return original(target, o);
    };
    void hub;
    expect(dec(await svc[0]!.request(t.identity.peerId, 'echo', enc('via relay')))).toBe(
      'via relay',
    );
    expect(svc[0]!.stats().forwarded).toBe(1);
    expect(svc[1]!.stats().relayed).toBe(1);
    // With no relay holding a connection to the target, the request fails as unreachable.
    await r.cm.connections(t.identity.peerId)[0]!.close();
    await expect(svc[0]!.request(t.identity.peerId, 'echo', enc('x'))).rejects.toBeInstanceOf(
      PeerUnreachableError,
    );
  });
});
