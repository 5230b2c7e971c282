// performHandshake over in-memory pairs: success, both providers, and every authentication check.
import { describe, expect, it } from '@jest/globals';
import { AbortError, TimeoutError } from '@detr/interface';
import { AccessToken } from '@detr/protocol';
import {
  HandshakeError,
  createIdentity,
  createNetwork,
  createNoiseStaticKey,
  createRevocationList,
  createSecureStream,
  createTokenVerifier,
  issueToken,
  nobleCryptoProvider,
  nodeCryptoProvider,
  performHandshake,
} from '../../src/index.js';
import { closed, createDuplexPair } from '../support/duplex-pair.js';
import {
  DAY_MS,
  createTestNetwork,
  runHandshake,
  sideOptions,
  type Outcome,
} from '../support/network.js';

function reasonOf(o: Outcome): string {
  if (o.ok) return 'ok';
  if (o.error instanceof HandshakeError) return o.error.reason;
  return (o.error as Error).name;
}

function expectGenericMessage(o: Outcome): void {
  expect(o.ok).toBe(false);
  if (!o.ok && o.error instanceof HandshakeError) {
    // No oracle: the message never names the check.
    expect(o.error.message).toBe('Handshake failed');
    expect(o.error.code).toBe('HANDSHAKE_FAILED');
  }
}

describe('performHandshake', () => {
  it('authenticates both sides and yields working sessions (node provider)', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const { i, r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', {
        expectedPeer: bob.identity.peerId,
        features: ['relay'],
      }),
      sideOptions(net, bob, 'responder'),
    );
    if (!i.ok || !r.ok) throw new Error(`handshake failed: ${reasonOf(i)} / ${reasonOf(r)}`);
    expect(i.result.remote.peer.equals(bob.identity.peerId)).toBe(true);
    expect(r.result.remote.peer.equals(alice.identity.peerId)).toBe(true);
    expect(r.result.remote.features).toEqual(['relay']);
    expect(i.result.remote.protocolVersion).toBe(1);
    expect(i.result.remote.networkId).toBe(net.network.networkIdHex);
    expect(r.result.remote.token?.peer.equals(alice.identity.peerId)).toBe(true);
    expect(Buffer.from(i.result.session.handshakeHash)).toEqual(
      Buffer.from(r.result.session.handshakeHash),
    );
    const sa = createSecureStream(a, i.result.session, { remainder: i.result.remainder });
    const sb = createSecureStream(b, r.result.session, { remainder: r.result.remainder });
    const got = new Promise<string>((resolve) =>
      sb.once('data', (d: Buffer) => resolve(d.toString())),
    );
    sa.write('hello over noise');
    expect(await got).toBe('hello over noise');
    sb.resume();
    sa.resume();
    sa.end();
    sb.end();
    await Promise.all([closed(sa), closed(sb)]);
    expect(a.destroyed && b.destroyed).toBe(true);
  });

  it('works with one side on each provider', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member({ provider: nobleCryptoProvider });
    const { i, r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { provider: nodeCryptoProvider }),
      sideOptions(net, bob, 'responder', { provider: nobleCryptoProvider }),
    );
    if (!i.ok || !r.ok) throw new Error(`handshake failed: ${reasonOf(i)} / ${reasonOf(r)}`);
    const sa = createSecureStream(a, i.result.session);
    const sb = createSecureStream(b, r.result.session);
    const echoed = new Promise<string>((resolve) =>
      sa.once('data', (d: Buffer) => resolve(d.toString())),
    );
    sb.once('data', (d: Buffer) => sb.write(Buffer.concat([Buffer.from('echo: '), d])));
    sa.write('cross-provider');
    expect(await echoed).toBe('echo: cross-provider');
    sa.end();
    sb.end();
    await Promise.all([closed(sa), closed(sb)]);
  });

  it('returns bytes read past the handshake as remainder, and they decrypt first', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const [a, b] = createDuplexPair();
    const initiator = performHandshake(a, sideOptions(net, alice, 'initiator')).then((res) => {
      // Send application data immediately after message 3, before the responder has finished.
      for (const f of res.session.seal(Buffer.from('early'))) a.write(f);
      return res;
    });
    const [ri, rr] = await Promise.all([
      initiator,
      performHandshake(b, sideOptions(net, bob, 'responder')),
    ]);
    void ri;
    const sb = createSecureStream(b, rr.session, { remainder: rr.remainder });
    const first = await new Promise<string>((resolve) =>
      sb.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(first).toBe('early');
    sb.destroy();
    await Promise.all([closed(a), closed(b)]);
  });

  it('works on an open network (tokenVerifier: null) without tokens', async () => {
    const networkId = new Uint8Array(32).fill(9);
    const x = createIdentity();
    const y = createIdentity();
    const { i, r } = await runHandshake(
      { role: 'initiator', identity: x, network: { networkId }, tokenVerifier: null },
      { role: 'responder', identity: y, network: { networkId }, tokenVerifier: null },
    );
    expect(i.ok && r.ok).toBe(true);
    if (i.ok) expect(i.result.remote.token).toBeUndefined();
  });

  it('rejects invalid options before touching the stream', async () => {
    const net = createTestNetwork();
    const m = net.member();
    const [a] = createDuplexPair();
    await expect(
      performHandshake(a, {
        ...sideOptions(net, m, 'initiator'),
        tokenVerifier: undefined as never,
      }),
    ).rejects.toThrow(TypeError);
    await expect(
      performHandshake(a, {
        ...sideOptions(net, m, 'initiator'),
        network: { networkId: new Uint8Array(3) },
      }),
    ).rejects.toThrow(TypeError);
    await expect(
      performHandshake(a, {
        ...sideOptions(net, m, 'initiator'),
        maxHandshakeMessageBytes: 70_000,
      }),
    ).rejects.toThrow(RangeError);
    expect(a.destroyed).toBe(false);
    a.destroy();
  });
});

describe('performHandshake refuses, with a generic error and closed channels', () => {
  // Each case: [name, what the failing side's reason must be, which side fails, setup].
  it('forged token signature', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const forger = createIdentity();
    const forged = issueToken(
      forger,
      {
        networkId: net.network.networkId,
        peer: alice.identity.peerId,
        expiresAtMs: net.clock.now() + DAY_MS,
      },
      { clock: net.clock },
    );
    // Also: a genuine admin signature over different bytes (signature copied onto a new body).
    const { i, r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { token: forged }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('token-signature');
    expectGenericMessage(r);
    expect(i.ok).toBe(true); // the initiator finished message 3; the responder then closed
    await Promise.all([closed(a), closed(b)]);
    const tampered = { ...alice.token, body: Uint8Array.from(alice.token.body) };
    tampered.body[tampered.body.length - 1]! ^= 1;
    const again = await runHandshake(
      sideOptions(net, alice, 'initiator', { token: tampered }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(again.r)).toBe('token-signature');
  });

  it('expired token (beyond the skew allowance)', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    net.clock.advance(DAY_MS + 60_000); // expiry + the default 60 s skew
    const { i, r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, bob, 'responder'),
    );
    // The initiator checks first (message 2): bob's token has expired too.
    expect(reasonOf(i)).toBe('token-expired');
    expectGenericMessage(i);
    // Bob was authenticated (his identity signature verified): the error names him.
    expect(!i.ok && (i.error as HandshakeError).peer?.equals(bob.identity.peerId)).toBe(true);
    expect(r.ok).toBe(false);
    await Promise.all([closed(a), closed(b)]);
  });

  it('a token within the skew allowance is still accepted', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    net.clock.advance(DAY_MS + 59_000);
    const { i, r } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(i)).toBe('ok');
    expect(reasonOf(r)).toBe('ok');
  });

  it('not-yet-valid token', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const future = issueToken(
      net.admin,
      {
        networkId: net.network.networkId,
        peer: alice.identity.peerId,
        notBeforeMs: net.clock.now() + 61_000,
        expiresAtMs: net.clock.now() + DAY_MS,
      },
      { clock: net.clock },
    );
    const { r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { token: future }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('token-not-yet-valid');
    expectGenericMessage(r);
    await Promise.all([closed(a), closed(b)]);
  });

  it('token bound to another peer', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const carol = net.member();
    const { r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { token: carol.token }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('token-peer');
    expectGenericMessage(r);
    await Promise.all([closed(a), closed(b)]);
  });

  it('token for another network (same admin)', async () => {
    const net = createTestNetwork();
    const other = createNetwork(net.admin, { name: 'other' }, { clock: net.clock });
    const alice = net.member();
    const bob = net.member();
    const wrongNet = issueToken(
      net.admin,
      {
        networkId: other.networkId,
        peer: alice.identity.peerId,
        expiresAtMs: net.clock.now() + DAY_MS,
      },
      { clock: net.clock },
    );
    const { r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { token: wrongNet }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('token-network');
    expectGenericMessage(r);
    await Promise.all([closed(a), closed(b)]);
  });

  it('revoked token', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const verifier = createTokenVerifier({ clock: net.clock }, { network: net.network });
    const tokenId = AccessToken.decode(alice.token.body).tokenId;
    expect(
      verifier.updateRevocationList(
        createRevocationList(net.admin, {
          networkId: net.network.networkId,
          seq: 1,
          revokedTokenIds: [tokenId],
        }),
      ),
    ).toBe(true);
    const { r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, bob, 'responder', { tokenVerifier: verifier }),
    );
    expect(reasonOf(r)).toBe('token-revoked');
    expectGenericMessage(r);
    await Promise.all([closed(a), closed(b)]);
  });

  it('missing token', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const { r } = await runHandshake(
      { ...sideOptions(net, alice, 'initiator'), token: undefined },
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('token-missing');
  });

  it('identity/static-key signature mismatch', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    // Alice presents her identity key, but the static key is signed by someone else.
    const mallory = createIdentity();
    const staticKey = createNoiseStaticKey(mallory, nodeCryptoProvider);
    const { r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator', { staticKey }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(r)).toBe('identity-signature');
    expectGenericMessage(r);
    // Nothing proves who the remote is: no peer named.
    expect(!r.ok && (r.error as HandshakeError).peer).toBeUndefined();
    await Promise.all([closed(a), closed(b)]);
  });

  it('unexpected PeerId: the initiator never sends its identity', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const carol = net.member();
    const [a, b] = createDuplexPair();
    let bytesFromInitiator = 0;
    const tap = a.write.bind(a);
    a.write = ((chunk: Buffer, ...rest: never[]) => {
      bytesFromInitiator += chunk.length;
      return tap(chunk, ...rest);
    }) as typeof a.write;
    const [i, r] = await Promise.all([
      performHandshake(
        a,
        sideOptions(net, alice, 'initiator', { expectedPeer: carol.identity.peerId }),
      ).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      performHandshake(b, sideOptions(net, bob, 'responder')).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    ]);
    expect(i.ok).toBe(false);
    if (!i.ok) expect((i.error as HandshakeError).reason).toBe('unexpected-peer');
    expect(r.ok).toBe(false);
    if (!r.ok) expect((r.error as HandshakeError).reason).toBe('closed');
    expect(bytesFromInitiator).toBe(2 + 32); // only message 1
    await Promise.all([closed(a), closed(b)]);
  });

  it('a connection to ourselves is refused', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const { i, r } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, alice, 'responder'),
    );
    expect(reasonOf(i)).toBe('unexpected-peer');
    expect(r.ok).toBe(false);
  });

  it('the connection gate (allowPeer) refuses a peer before the handshake completes', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const seen: string[] = [];
    const { i, r, a, b } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, bob, 'responder', {
        allowPeer: (peer) => {
          seen.push(peer.toString());
          return false;
        },
      }),
    );
    expect(seen).toEqual([alice.identity.peerId.toString()]);
    expect(reasonOf(r)).toBe('peer-refused');
    expect(i.ok).toBe(true);
    await Promise.all([closed(a), closed(b)]);
    const thrown = await runHandshake(
      sideOptions(net, alice, 'initiator', {
        allowPeer: () => {
          throw new Error('banned');
        },
      }),
      sideOptions(net, bob, 'responder'),
    );
    expect(reasonOf(thrown.i)).toBe('peer-refused');
  });

  it('different networks never complete (prologue)', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const other = createNetwork(net.admin, { name: 'other' });
    const { i, r } = await runHandshake(
      sideOptions(net, alice, 'initiator'),
      sideOptions(net, bob, 'responder', {
        network: other,
        tokenVerifier: createTokenVerifier({ clock: net.clock }, { network: other }),
      }),
    );
    expect(reasonOf(i)).toBe('noise');
    expect(reasonOf(r)).toBe('closed');
  });

  it('no common protocol version', async () => {
    const net = createTestNetwork();
    const alice = net.member();
    const bob = net.member();
    const { i } = await runHandshake(
      sideOptions(net, alice, 'initiator', { versions: [7] }),
      sideOptions(net, bob, 'responder', { versions: [1] }),
    );
    expect(reasonOf(i)).toBe('version');
  });

  it('times out (TimeoutError) on a silent peer, and aborts (AbortError) on signal', async () => {
    const net = createTestNetwork();
    const bob = net.member();
    const [a, b] = createDuplexPair();
    const p = performHandshake(b, sideOptions(net, bob, 'responder', { timeoutMs: 5000 }));
    await net.clock.advanceAsync(5000);
    await expect(p).rejects.toThrow(TimeoutError);
    await Promise.all([closed(a), closed(b)]);
    const [c, d] = createDuplexPair();
    const ac = new AbortController();
    const q = performHandshake(d, sideOptions(net, bob, 'responder', { signal: ac.signal }));
    ac.abort();
    await expect(q).rejects.toThrow(AbortError);
    await Promise.all([closed(c), closed(d)]);
  });
});
