// Forwarding through a relay: a (requester) — r (relay) — t (target), where a has no route to t.
// The target must see a's PeerId, authenticated by a's signature, and r must not be able to
// forge, redirect, replay or chain requests.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Connection, PenaltyReason, PeerId } from '@detr/interface';
import type { ServiceResponse } from '@detr/protocol';
import { ServiceStatus } from '@detr/protocol';
import { createIdentity, peerIdFromBytes } from '../src/identity.js';
import {
  createServices,
  FORWARD_SERVICE,
  FORWARDED_SERVICE,
  type RequestContext,
  type Services,
  type ServicesInit,
} from '../src/services.js';
import { exchange } from '../src/services/exchange.js';
import { openForward, ReplayCache, signForward } from '../src/services/forward.js';
import { PeerUnreachableError, RequestRefusedError } from '../src/errors.js';
import { memoryPeers, type TestPeer } from './support.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const noReporter = { penalize: () => {}, reward: () => {} };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Trio {
  a: TestPeer;
  r: TestPeer;
  t: TestPeer;
  svc: [Services, Services, Services];
  penalties: Array<Array<{ peer: PeerId; reason: PenaltyReason }>>;
  /** What t's `whoami` handler saw. */
  seen: RequestContext[];
}

/** a — r — t with a's dials to t refused: a reaches t only through r. */
async function trio(init: (i: number) => ServicesInit = () => ({})): Promise<Trio> {
  const { peers } = await memoryPeers(3);
  const [a, r, t] = peers as [TestPeer, TestPeer, TestPeer];
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
  ) as [Services, Services, Services];
  for (const s of svc) s.start();
  cleanups.push(async () => {
    for (const s of svc) s.stop();
    for (const p of peers) await p.cm.stop();
  });
  const seen: RequestContext[] = [];
  svc[2].handle('whoami', (d, ctx) => {
    seen.push(ctx);
    return enc(`${dec(d)} for ${ctx.from.toString()}`);
  });
  await a.cm.dial(r.identity.peerId);
  await r.cm.dial(t.identity.peerId);
  const dial = a.cm.dial.bind(a.cm);
  a.cm.dial = (target, o) =>
    'equals' in target && target.equals(t.identity.peerId)
      ? Promise.reject(new PeerUnreachableError('t'))
      : dial(target, o);
  return { a, r, t, svc, penalties, seen };
}

/** Sends raw `payload` to `service` on `conn` and returns the response. */
function raw(conn: Connection, service: string, payload: Uint8Array): Promise<ServiceResponse> {
  return exchange(conn, service, payload, 5000, new AbortController().signal, noReporter, 1 << 20);
}

describe('services: forwarding through a relay', () => {
  it("reaches the target, which sees the requester's PeerId (signed) and the relay", async () => {
    const { a, r, t, svc, seen } = await trio();
    const reply = await svc[0].request(t.identity.peerId, 'whoami', enc('hello'));
    expect(dec(reply)).toBe(`hello for ${a.identity.peerId.toString()}`);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.from.equals(a.identity.peerId)).toBe(true);
    expect(seen[0]!.via?.equals(r.identity.peerId)).toBe(true);
    expect(svc[0].stats().forwarded).toBe(1);
    expect(svc[1].stats().relayed).toBe(1);
    // The target's answers keep their types through the relay.
    svc[2].handle('refuse', () => {
      throw new RequestRefusedError('not you');
    });
    const err = await svc[0].request(t.identity.peerId, 'refuse', enc('')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect((err as Error).message).toBe('not you');
    await expect(svc[0].request(t.identity.peerId, 'nope', enc(''))).rejects.toHaveProperty(
      'name',
      'UnknownServiceError',
    );
  });

  it('a direct dial that hangs gives way to the relay within the time limit', async () => {
    const { a, t, svc, seen } = await trio((i) => (i === 0 ? { directDialTimeoutMs: 300 } : {}));
    // A dial that never completes on its own (a peer behind a NAT), only when aborted.
    a.cm.dial = (_target, o) =>
      new Promise((_resolve, reject) =>
        o?.signal?.addEventListener('abort', () => reject(new PeerUnreachableError('t'))),
      );
    const reply = await svc[0].request(t.identity.peerId, 'whoami', enc('slow'), {
      timeoutMs: 8000,
    });
    expect(dec(reply)).toContain('slow for');
    expect(seen).toHaveLength(1);
  });

  it('a relay forwards only over a connection it has, and only when its policy allows', async () => {
    const policy: Array<[string, string]> = [];
    const { a, r, t, svc } = await trio((i) =>
      i === 1
        ? {
            relay: (from, target) => {
              policy.push([from.toString(), target.toString()]);
              return policy.length === 1;
            },
          }
        : {},
    );
    expect(dec(await svc[0].request(t.identity.peerId, 'whoami', enc('1')))).toContain('1 for');
    expect(policy).toEqual([[a.identity.peerId.toString(), t.identity.peerId.toString()]]);
    const refused = await svc[0]
      .request(t.identity.peerId, 'whoami', enc('2'))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PeerUnreachableError);
    expect((refused as Error).cause).toBeInstanceOf(RequestRefusedError);
    await r.cm.connections(t.identity.peerId)[0]!.close();
    const unreachable = await svc[0]
      .request(t.identity.peerId, 'whoami', enc('3'))
      .catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(PeerUnreachableError);
  });

  it('relay: false refuses to forward; acceptForwarded: false refuses forwarded requests', async () => {
    const noRelay = await trio((i) => (i === 1 ? { relay: false } : {}));
    const e1 = await noRelay.svc[0]
      .request(noRelay.t.identity.peerId, 'whoami', enc(''))
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PeerUnreachableError);
    expect(noRelay.seen).toEqual([]);
    const closed = await trio((i) => (i === 2 ? { acceptForwarded: false } : {}));
    const e2 = await closed.svc[0]
      .request(closed.t.identity.peerId, 'whoami', enc(''))
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(RequestRefusedError);
    expect(closed.seen).toEqual([]);
  });

  it('a relay forwards only what the asking peer signed itself (one hop, no laundering)', async () => {
    const { r, t, a, penalties, seen } = await trio();
    const conn = a.cm.connections(r.identity.peerId)[0]!;
    // Signed by someone else: refused, the asking peer penalised.
    const other = createIdentity();
    const laundered = signForward(
      other,
      t.identity.peerId,
      { service: 'whoami', payload: enc('x') },
      Date.now(),
    );
    const res = await raw(conn, FORWARD_SERVICE, laundered);
    expect(res.status).toBe(ServiceStatus.SERVICE_STATUS_BAD_REQUEST);
    expect(penalties[1]!.map((p) => p.reason)).toEqual(['protocol-violation']);
    // A request for the forward service itself is not forwarded.
    const nested = signForward(
      a.identity,
      t.identity.peerId,
      { service: FORWARD_SERVICE, payload: enc('x') },
      Date.now(),
    );
    expect((await raw(conn, FORWARD_SERVICE, nested)).status).toBe(
      ServiceStatus.SERVICE_STATUS_REFUSED,
    );
    // Garbage is a bad request and a penalty.
    expect((await raw(conn, FORWARD_SERVICE, enc('garbage'))).status).toBe(
      ServiceStatus.SERVICE_STATUS_BAD_REQUEST,
    );
    expect(penalties[1]).toHaveLength(2);
    expect(seen).toEqual([]);
  });

  it('the target refuses redirected, tampered, stale and replayed requests', async () => {
    const { a, r, t, penalties, seen } = await trio();
    const conn = r.cm.connections(t.identity.peerId)[0]!;
    const req = { service: 'whoami', payload: enc('x') };
    // For another target: a bad request, and the relay that sent it penalised.
    const elsewhere = signForward(a.identity, r.identity.peerId, req, Date.now());
    expect((await raw(conn, FORWARDED_SERVICE, elsewhere)).status).toBe(
      ServiceStatus.SERVICE_STATUS_BAD_REQUEST,
    );
    // Tampered (one byte of the signed body changed): same.
    const good = signForward(a.identity, t.identity.peerId, req, Date.now());
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 101]! ^= 1; // the last byte of the signed body
    expect((await raw(conn, FORWARDED_SERVICE, tampered)).status).toBe(
      ServiceStatus.SERVICE_STATUS_BAD_REQUEST,
    );
    expect(penalties[2]!.map((p) => p.peer.equals(r.identity.peerId))).toEqual([true, true]);
    // Stale (signed two minutes ago): refused, no penalty (the requester's clock may be off).
    const stale = signForward(a.identity, t.identity.peerId, req, Date.now() - 120_000);
    expect((await raw(conn, FORWARDED_SERVICE, stale)).status).toBe(
      ServiceStatus.SERVICE_STATUS_REFUSED,
    );
    // The genuine one is served once, as a's; the same bytes again are a replay.
    const first = await raw(conn, FORWARDED_SERVICE, good);
    expect(first.status).toBe(ServiceStatus.SERVICE_STATUS_OK);
    expect(dec(first.payload)).toBe(`x for ${a.identity.peerId.toString()}`);
    const again = await raw(conn, FORWARDED_SERVICE, good);
    expect(again.status).toBe(ServiceStatus.SERVICE_STATUS_REFUSED);
    expect(again.error).toContain('replayed');
    expect(seen).toHaveLength(1);
    expect(penalties[2]).toHaveLength(2);
  });

  it('limits the forwards one requester has in flight at a relay', async () => {
    const { t, svc } = await trio((i) =>
      i === 1 ? { maxForwardsPerPeer: 1 } : i === 0 ? { maxRelayAttempts: 1 } : {},
    );
    const release: Array<() => void> = [];
    svc[2].handle(
      'hold',
      () => new Promise<Uint8Array>((resolve) => release.push(() => resolve(enc('ok')))),
    );
    const first = svc[0].request(t.identity.peerId, 'hold', enc(''));
    while (release.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await svc[0]
      .request(t.identity.peerId, 'hold', enc(''))
      .catch((e: unknown) => e);
    expect(second).toBeInstanceOf(PeerUnreachableError);
    expect(((second as Error).cause as Error).message).toBe('busy');
    release[0]!();
    expect(dec(await first)).toBe('ok');
  });
});

describe('forward envelopes', () => {
  it('open what was signed, and nothing else', () => {
    const id = createIdentity();
    const target = createIdentity().peerId;
    const bytes = signForward(id, target, { service: 's', payload: enc('p') }, 1000);
    const opened = openForward(bytes, peerIdFromBytes);
    expect(opened.requester.equals(id.peerId)).toBe(true);
    expect(opened.target.equals(target)).toBe(true);
    expect(opened.forward.issuedAtMs).toBe(1000);
    expect(opened.forward.request).toMatchObject({ service: 's', requestId: 0 });
    expect(() => openForward(enc('junk'), peerIdFromBytes)).toThrow();
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => openForward(flipped, peerIdFromBytes)).toThrow();
  });

  it('the replay cache expires oldest first and refuses when full', () => {
    const cache = new ReplayCache(2);
    expect(cache.add('a', 100, 0)).toBe('new');
    expect(cache.add('a', 100, 1)).toBe('replay');
    expect(cache.add('b', 150, 50)).toBe('new');
    expect(cache.add('c', 160, 60)).toBe('full');
    expect(cache.add('c', 200, 101)).toBe('new');
    expect(cache.size).toBe(2);
  });
});
