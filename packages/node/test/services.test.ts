import { afterEach, describe, expect, it } from '@jest/globals';
import { AbortError, TimeoutError, type PenaltyReason, type PeerId } from '@detr/interface';
import { MessageType } from '@detr/protocol';
import { frameBytes, writeBytes } from '../src/framing.js';
import { createServices, SVC_PROTOCOL, type Services, type ServicesInit } from '../src/services.js';
import { peerIdFromBytes } from '../src/identity.js';
import {
  HandlerError,
  MessageTooLargeError,
  PeerUnreachableError,
  RequestRefusedError,
  UnknownServiceError,
} from '../src/errors.js';
import { memoryPeers, until, type TestPeer } from './support.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface ServicesNet {
  peers: TestPeer[];
  svc: Services[];
  /** Penalties reported by node i, as "reason peer". */
  penalties: Array<Array<{ peer: PeerId; reason: PenaltyReason }>>;
}

async function net(
  n: number,
  init: (i: number) => ServicesInit = () => ({}),
): Promise<ServicesNet> {
  const { peers } = await memoryPeers(n);
  const penalties = peers.map(() => [] as Array<{ peer: PeerId; reason: PenaltyReason }>);
  const svc = peers.map((p, i) =>
    createServices(
      {
        connections: p.cm,
        peerIdFromBytes,
        identity: p.identity,
        peerReporter: {
          penalize: (peer, reason) => penalties[i]!.push({ peer, reason }),
          reward: () => {},
        },
      },
      { requestTimeoutMs: 5000, ...init(i) },
    ),
  );
  for (const s of svc) s.start();
  cleanups.push(async () => {
    for (const s of svc) s.stop();
    for (const p of peers) await p.cm.stop();
  });
  return { peers, svc, penalties };
}

describe('services', () => {
  it('answers a request with the authenticated requester as ctx.from', async () => {
    const { peers, svc } = await net(2);
    const b = peers[1]!.identity.peerId;
    svc[1]!.handle('echo', (d, ctx) => {
      expect(ctx.via).toBeUndefined();
      return enc(`${dec(d)} from ${ctx.from.toString()}`);
    });
    expect(dec(await svc[0]!.request(b, 'echo', enc('hi')))).toBe(
      `hi from ${peers[0]!.identity.peerId.toString()}`,
    );
    expect(svc[1]!.stats().served).toBe(1);
    expect(svc[0]!.stats().requests).toBe(1);
  });

  it('maps every failure to its typed error', async () => {
    const { peers, svc } = await net(2, () => ({ maxMessageBytes: 1000 }));
    const b = peers[1]!.identity.peerId;
    svc[1]!.handle('refuse', () => {
      throw new RequestRefusedError('no thanks');
    });
    svc[1]!.handle('boom', () => {
      throw new Error('kaput');
    });
    svc[1]!.handle('big', () => new Uint8Array(5000));
    svc[1]!.handle('not-bytes', () => 'text' as unknown as Uint8Array);
    const fail = (service: string): Promise<unknown> =>
      svc[0]!.request(b, service, enc('')).catch((e: unknown) => e);

    const unknown = await fail('nope');
    expect(unknown).toBeInstanceOf(UnknownServiceError);
    expect((unknown as UnknownServiceError).code).toBe('UNKNOWN_SERVICE');
    const refused = await fail('refuse');
    expect(refused).toBeInstanceOf(RequestRefusedError);
    expect((refused as Error).message).toBe('no thanks');
    const boom = await fail('boom');
    expect(boom).toBeInstanceOf(HandlerError);
    expect((boom as Error).message).toBe('kaput');
    expect(await fail('not-bytes')).toBeInstanceOf(HandlerError);
    // A response over the limit is not sent: the caller gets a protocol-level failure.
    expect((await fail('big')) as Error).toHaveProperty('name', 'RemoteProtocolError');
    await expect(svc[0]!.request(b, 'boom', new Uint8Array(1001))).rejects.toBeInstanceOf(
      MessageTooLargeError,
    );
    await expect(svc[0]!.request(b, 'echo', 'x' as never)).rejects.toBeInstanceOf(TypeError);
    expect(() => svc[0]!.handle('detr.forward', (d) => d)).toThrow(TypeError);
    expect(() => svc[0]!.handle('', (d) => d)).toThrow(TypeError);
  });

  it('times out (caller side and handler side) and aborts; the handler sees its signal', async () => {
    const { peers, svc } = await net(2);
    const b = peers[1]!.identity.peerId;
    const aborted: string[] = [];
    svc[1]!.handle(
      'slow',
      (d, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(dec(d));
            resolve(enc('late'));
          });
        }),
    );
    const timedOut = await svc[0]!
      .request(b, 'slow', enc('t1'), { timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    await until(() => aborted.includes('t1'), 5000, 'handler aborted after the timeout');

    const ac = new AbortController();
    const p = svc[0]!.request(b, 'slow', enc('a1'), { signal: ac.signal, timeoutMs: 5000 });
    setTimeout(() => ac.abort(new AbortError('user')), 50);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await until(() => aborted.includes('a1'), 5000, 'handler aborted after the abort');

    // An already aborted signal fails at once.
    await expect(
      svc[0]!.request(b, 'slow', enc('x'), { signal: AbortSignal.abort(new AbortError()) }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it('refuses past the per-peer concurrency limit ("busy")', async () => {
    const { peers, svc } = await net(3, (i) => (i === 2 ? { maxConcurrentPerPeer: 2 } : {}));
    const t = peers[2]!.identity.peerId;
    const release: Array<() => void> = [];
    svc[2]!.handle(
      'hold',
      () => new Promise<Uint8Array>((resolve) => release.push(() => resolve(enc('ok')))),
    );
    const held = [svc[0]!.request(t, 'hold', enc('')), svc[0]!.request(t, 'hold', enc(''))];
    await until(() => release.length === 2, 5000, 'two held');
    const third = await svc[0]!.request(t, 'hold', enc('')).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(RequestRefusedError);
    expect((third as Error).message).toBe('busy');
    // Another requester is not affected by the first one's load.
    const other = svc[1]!.request(t, 'hold', enc(''));
    await until(() => release.length === 3, 5000, 'other requester served');
    for (const r of release) r();
    expect((await Promise.all([...held, other])).map(dec)).toEqual(['ok', 'ok', 'ok']);
    expect(svc[2]!.stats().refused).toBe(1);
  });

  it('without a route and with relay: false, the request fails as unreachable', async () => {
    const { peers, svc } = await net(2);
    const b = peers[1]!.identity.peerId;
    const a = peers[0]!;
    a.cm.dial = () => Promise.reject(new PeerUnreachableError('b'));
    await expect(svc[0]!.request(b, 'echo', enc(''), { relay: false })).rejects.toBeInstanceOf(
      PeerUnreachableError,
    );
    // And with relays allowed but none connected, too.
    await expect(svc[0]!.request(b, 'echo', enc(''))).rejects.toBeInstanceOf(PeerUnreachableError);
  });

  it('hostile bytes on a service stream: reset and penalty, the node keeps serving', async () => {
    const { peers, svc, penalties } = await net(2, () => ({ maxMessageBytes: 1000 }));
    const [a, b] = peers as [TestPeer, TestPeer];
    svc[1]!.handle('echo', (d) => d);
    const conn = await a.cm.dial(b.identity.peerId);
    const garbage = await conn.newStream(SVC_PROTOCOL);
    garbage.on('error', () => {});
    await writeBytes(garbage, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 9, 9, 9]));
    await until(() => penalties[1]!.length === 1, 5000, 'penalty for garbage');
    // A frame far over the size limit is refused without buffering it.
    const big = await conn.newStream(SVC_PROTOCOL);
    big.on('error', () => {});
    const frame = frameBytes(MessageType.ServiceRequest, {
      requestId: 1,
      service: 'echo',
      payload: new Uint8Array(100_000),
    });
    void writeBytes(big, frame).catch(() => {});
    await until(() => penalties[1]!.length === 2, 5000, 'penalty for the oversized frame');
    expect(penalties[1]!.every((p) => p.peer.equals(a.identity.peerId))).toBe(true);
    expect(svc[1]!.stats().invalid).toBe(2);
    expect(dec(await svc[0]!.request(b.identity.peerId, 'echo', enc('still here')))).toBe(
      'still here',
    );
  });
});
