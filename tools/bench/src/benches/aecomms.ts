// aecomms beside @chainsafe/libp2p-noise and @hyperswarm/secret-stream, in one process, in memory
// (no sockets: the figures are the handshake and the secure channel, not TCP):
// - handshakes/s: complete Noise XX handshakes, both sides in this process, run back to back.
//   aecomms: identity signature + token verification + expected PeerId, every time (caches of
//   verified signatures off); "reconnect": the same with them on (as between peers that met before).
//   libp2p-noise: its XX with the libp2p identity payload and expected remote peer.
//   secret-stream: its XX (Ed25519 via sodium-native).
// - seal+open MB/s: aecomms sessions sealing and opening 64 KiB / 1 KiB messages (cipher layer,
//   frames fed to the opener as written), on every provider (sodium, node, noble).
// - channel MB/s: the same message sizes through each library's established secure stream over an
//   in-memory pair (framing, stream machinery and crypto: the comparable figure between libraries).
import '../lib/shims.js';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import {
  createIdentity,
  createNetwork,
  createSecureSession,
  createSecureStream,
  createTokenVerifier,
  issueToken,
  nobleCryptoProvider,
  nodeCryptoProvider,
  performHandshake,
  sodiumCryptoProvider,
  CipherState,
  type CryptoProvider,
  type Identity,
} from '@detr/aecomms';
import { noise } from '@chainsafe/libp2p-noise';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddrConnectionPair } from '@libp2p/utils';
import type { Benchmark, BenchContext } from '../lib/harness.js';

// ---------------------------------------------------------------------------------------------
// An in-memory Duplex pair: a write is pushed to the peer at once; its callback waits while the
// peer's readable buffer is full.

class MemoryEnd extends Duplex {
  peer!: MemoryEnd;
  private pending: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true, highWaterMark: 256 * 1024 });
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.push(chunk)) cb();
    else this.peer.pending = () => cb();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    let ok = true;
    for (const c of chunks) ok = this.peer.push(c.chunk);
    if (ok) cb();
    else this.peer.pending = () => cb();
  }

  override _read(): void {
    const p = this.pending;
    this.pending = undefined;
    p?.();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.peer.push(null);
    cb();
  }
}

function memoryPair(): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Runs `fn` `n` times in sequence after `warmup` runs; returns runs per second. */
async function rate(n: number, warmup: number, fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

// ---------------------------------------------------------------------------------------------
// aecomms

interface AecommsSetup {
  provider: CryptoProvider;
  alice: Identity;
  bob: Identity;
  handshake(): Promise<{
    a: Duplex;
    b: Duplex;
    ra: Awaited<ReturnType<typeof performHandshake>>;
    rb: Awaited<ReturnType<typeof performHandshake>>;
  }>;
}

function aecommsSetup(provider: CryptoProvider, cached = false): AecommsSetup {
  const admin = createIdentity(undefined, { provider });
  const network = createNetwork(admin, { name: 'bench' }, { provider });
  const verifier = createTokenVerifier(
    { provider },
    { network, verifiedTokenCacheEntries: cached ? 1024 : 0 },
  );
  const alice = createIdentity(undefined, { provider });
  const bob = createIdentity(undefined, { provider });
  const expiresAtMs = Date.now() + 86_400_000;
  const tokenA = issueToken(
    admin,
    { networkId: network.networkId, peer: alice.peerId, expiresAtMs },
    { provider },
  );
  const tokenB = issueToken(
    admin,
    { networkId: network.networkId, peer: bob.peerId, expiresAtMs },
    { provider },
  );
  return {
    provider,
    alice,
    bob,
    async handshake() {
      const [a, b] = memoryPair();
      const [ra, rb] = await Promise.all([
        performHandshake(a, {
          role: 'initiator',
          identity: alice,
          network,
          token: tokenA,
          tokenVerifier: verifier,
          expectedPeer: bob.peerId,
          provider,
          cacheVerifiedSignatures: cached,
        }),
        performHandshake(b, {
          role: 'responder',
          identity: bob,
          network,
          token: tokenB,
          tokenVerifier: verifier,
          provider,
          cacheVerifiedSignatures: cached,
        }),
      ]);
      return { a, b, ra, rb };
    },
  };
}

/**
 * Complete handshakes per second between two identities. `cached`: the verified-signature caches
 * on (a peer reconnecting: the identity and token signatures are checked once); otherwise every
 * handshake verifies all four signatures.
 */
export async function aecommsHandshakes(
  provider: CryptoProvider,
  n: number,
  cached = false,
): Promise<number> {
  const s = aecommsSetup(provider, cached);
  return rate(n, Math.min(50, n), async () => {
    const { a, b } = await s.handshake();
    a.destroy();
    b.destroy();
  });
}

/** Seal+open MB/s of one session pair, frames fed to the opener as the sealer returned them. */
export function aecommsSealOpen(
  provider: CryptoProvider,
  size: number,
  totalBytes: number,
): number {
  const k1 = provider.randomBytes(32);
  const k2 = provider.randomBytes(32);
  const cs = (k: Uint8Array): CipherState => {
    const c = new CipherState(provider);
    c.initializeKey(k);
    return c;
  };
  const h = new Uint8Array(32);
  const a = createSecureSession({ send: cs(k1), receive: cs(k2), handshakeHash: h });
  const b = createSecureSession({ send: cs(k2), receive: cs(k1), handshakeHash: h });
  const msg = Buffer.alloc(size, 0x5a);
  let got = 0;
  const onMessage = (m: Uint8Array): void => {
    got += m.length;
  };
  const n = Math.max(1, Math.ceil(totalBytes / size));
  for (let i = 0; i < Math.min(n, 200); i++) for (const f of a.seal(msg)) b.open(f, onMessage);
  got = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) for (const f of a.seal(msg)) b.open(f, onMessage);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (got !== n * size) throw new Error('seal/open lost data');
  return got / 1e6 / seconds;
}

/** Writes `n` messages of `size` bytes into `write` and resolves when `total` bytes arrived. */
async function pumpMessages(
  size: number,
  n: number,
  write: (buf: Buffer) => boolean,
  waitDrain: () => Promise<void>,
  received: () => number,
  whenReceived: (total: number) => Promise<void>,
): Promise<number> {
  const msg = Buffer.alloc(size, 0x5a);
  const start = received();
  const total = start + size * n;
  const done = whenReceived(total);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (!write(msg)) await waitDrain();
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return (size * n) / 1e6 / seconds;
}

function counter(on: (listener: (len: number) => void) => void): {
  received: () => number;
  whenReceived: (total: number) => Promise<void>;
} {
  let got = 0;
  let waiter: { total: number; resolve: () => void } | undefined;
  on((len) => {
    got += len;
    if (waiter !== undefined && got >= waiter.total) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  });
  return {
    received: () => got,
    whenReceived: (total) =>
      got >= total ? Promise.resolve() : new Promise((resolve) => (waiter = { total, resolve })),
  };
}

export async function aecommsChannel(
  provider: CryptoProvider,
  size: number,
  totalBytes: number,
): Promise<number> {
  const s = aecommsSetup(provider);
  const { a, b, ra, rb } = await s.handshake();
  const sa = createSecureStream(a, ra.session, { remainder: ra.remainder });
  const sb = createSecureStream(b, rb.session, { remainder: rb.remainder });
  const c = counter((l) => sb.on('data', (d: Buffer) => l(d.length)));
  const n = Math.max(1, Math.ceil(totalBytes / size));
  const drain = (): Promise<void> => new Promise((resolve) => sa.once('drain', () => resolve()));
  await pumpMessages(size, Math.min(n, 200), (m) => sa.write(m), drain, c.received, c.whenReceived);
  const mbps = await pumpMessages(size, n, (m) => sa.write(m), drain, c.received, c.whenReceived);
  sa.destroy();
  sb.destroy();
  return mbps;
}

// ---------------------------------------------------------------------------------------------
// @chainsafe/libp2p-noise

/** The parts of libp2p's secured message stream this benchmark uses. */
interface LibMessageStream {
  send(data: Uint8Array): boolean;
  addEventListener(
    type: 'message' | 'drain',
    listener: (evt: { data?: { byteLength: number } }) => void,
    options?: { once?: boolean },
  ): void;
}

interface LibEncrypter {
  secureOutbound(connection: unknown, options: object): Promise<{ connection: LibMessageStream }>;
  secureInbound(connection: unknown, options: object): Promise<{ connection: LibMessageStream }>;
}

const quietLog = Object.assign(() => {}, {
  enabled: false,
  error: () => {},
  trace: () => {},
  newScope: (): unknown => quietLog,
});

async function libp2pNoiseSetup() {
  const keyA = await generateKeyPair('Ed25519');
  const keyB = await generateKeyPair('Ed25519');
  const peerB = peerIdFromPrivateKey(keyB);
  const encrypter = (privateKey: typeof keyA): LibEncrypter =>
    noise()({
      privateKey,
      peerId: peerIdFromPrivateKey(privateKey),
      logger: { forComponent: () => quietLog },
      upgrader: { getStreamMuxers: () => new Map() },
    } as never) as unknown as LibEncrypter;
  const encA = encrypter(keyA);
  const encB = encrypter(keyB);
  return {
    async handshake() {
      const [outbound, inbound] = multiaddrConnectionPair();
      const [ca, cb] = await Promise.all([
        encA.secureOutbound(outbound, { remotePeer: peerB, skipStreamMuxerNegotiation: true }),
        encB.secureInbound(inbound, { skipStreamMuxerNegotiation: true }),
      ]);
      return { ca: ca.connection, cb: cb.connection, outbound, inbound };
    },
  };
}

export async function libp2pNoiseHandshakes(n: number): Promise<number> {
  const s = await libp2pNoiseSetup();
  return rate(n, Math.min(50, n), async () => {
    const { outbound, inbound } = await s.handshake();
    outbound.abort(new Error('done'));
    inbound.abort(new Error('done'));
  });
}

export async function libp2pNoiseChannel(size: number, totalBytes: number): Promise<number> {
  const s = await libp2pNoiseSetup();
  const { ca, cb, outbound, inbound } = await s.handshake();
  const c = counter((l) => cb.addEventListener('message', (evt) => l(evt.data?.byteLength ?? 0)));
  const n = Math.max(1, Math.ceil(totalBytes / size));
  const drain = (): Promise<void> =>
    new Promise((resolve) => ca.addEventListener('drain', () => resolve(), { once: true }));
  const send = (m: Buffer): boolean => ca.send(m);
  await pumpMessages(size, Math.min(n, 200), send, drain, c.received, c.whenReceived);
  const mbps = await pumpMessages(size, n, send, drain, c.received, c.whenReceived);
  outbound.abort(new Error('done'));
  inbound.abort(new Error('done'));
  return mbps;
}

// ---------------------------------------------------------------------------------------------
// @hyperswarm/secret-stream (CommonJS without type declarations: typed here as far as used)

interface SecretStreamInstance extends Duplex {
  readonly rawStream: Duplex;
}
interface SecretStreamClass {
  new (isInitiator: boolean, rawStream: null, options: { keyPair: unknown }): SecretStreamInstance;
  keyPair(): unknown;
}
const SecretStream = createRequire(import.meta.url)(
  '@hyperswarm/secret-stream',
) as SecretStreamClass;

function secretStreamPair(keyA: unknown, keyB: unknown) {
  const a = new SecretStream(true, null, { keyPair: keyA });
  const b = new SecretStream(false, null, { keyPair: keyB });
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream);
  const ready = Promise.all([
    new Promise<void>((resolve, reject) => {
      a.once('handshake', () => resolve());
      a.once('error', reject);
    }),
    new Promise<void>((resolve, reject) => {
      b.once('handshake', () => resolve());
      b.once('error', reject);
    }),
  ]);
  return { a, b, ready };
}

export async function secretStreamHandshakes(n: number): Promise<number> {
  const keyA = SecretStream.keyPair();
  const keyB = SecretStream.keyPair();
  return rate(n, Math.min(50, n), async () => {
    const { a, b, ready } = secretStreamPair(keyA, keyB);
    await ready;
    a.on('error', () => {});
    b.on('error', () => {});
    a.destroy();
    b.destroy();
  });
}

export async function secretStreamChannel(size: number, totalBytes: number): Promise<number> {
  const { a, b, ready } = secretStreamPair(SecretStream.keyPair(), SecretStream.keyPair());
  await ready;
  const c = counter((l) => b.on('data', (d: Buffer) => l(d.length)));
  const n = Math.max(1, Math.ceil(totalBytes / size));
  const drain = (): Promise<void> => new Promise((resolve) => a.once('drain', () => resolve()));
  const send = (m: Buffer): boolean => a.write(m);
  await pumpMessages(size, Math.min(n, 200), send, drain, c.received, c.whenReceived);
  const mbps = await pumpMessages(size, n, send, drain, c.received, c.whenReceived);
  a.on('error', () => {});
  b.on('error', () => {});
  a.destroy();
  b.destroy();
  return mbps;
}

// ---------------------------------------------------------------------------------------------

async function run(ctx: BenchContext): Promise<void> {
  const q = ctx.quick;
  const rounds = q ? 1 : 3;
  ctx.note(
    'in-process, in-memory pairs; both sides of every handshake run in this process; ' +
      `every figure is the best of ${rounds} rounds, implementations alternating within a round`,
  );
  const sodium = sodiumCryptoProvider();
  const providers: Array<[string, CryptoProvider, number]> = [
    ...(sodium !== undefined ? [['sodium', sodium, 1] as [string, CryptoProvider, number]] : []),
    ['node', nodeCryptoProvider, 1],
    ['noble', nobleCryptoProvider, 0.06],
  ];
  // Best of `rounds`, each round running every implementation once.
  const bestOf = async (fns: Array<[string, () => Promise<number> | number]>) => {
    const bestBy = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of fns) bestBy.set(name, Math.max(bestBy.get(name) ?? 0, await fn()));
    }
    return bestBy;
  };

  const hsN = q ? 100 : 1000;
  const hs = await bestOf([
    ...providers.map(
      ([name, p, scale]) =>
        [name, () => aecommsHandshakes(p, Math.max(10, Math.round(hsN * scale)))] as [
          string,
          () => Promise<number>,
        ],
    ),
    ...providers
      .filter(([n]) => n !== 'noble')
      .map(
        ([name, p]) =>
          [`${name}.reconnect`, () => aecommsHandshakes(p, hsN, true)] as [
            string,
            () => Promise<number>,
          ],
      ),
    ['libp2p_noise', () => libp2pNoiseHandshakes(hsN)],
    ['secret_stream', () => secretStreamHandshakes(hsN)],
  ]);
  for (const [name] of providers) ctx.figure(`aecomms.handshake.${name}`, hs.get(name)!, 'hs/s');
  for (const [name] of providers.filter(([n]) => n !== 'noble')) {
    ctx.figure(`aecomms.handshake.${name}.reconnect`, hs.get(`${name}.reconnect`)!, 'hs/s');
  }
  ctx.figure('libp2p_noise.handshake', hs.get('libp2p_noise')!, 'hs/s');
  ctx.figure('secret_stream.handshake', hs.get('secret_stream')!, 'hs/s');
  for (const [name] of providers.filter(([n]) => n !== 'noble')) {
    ctx.ratio(`aecomms.handshake.${name}_vs_libp2p_noise`, hs.get(name)!, hs.get('libp2p_noise')!);
    ctx.ratio(
      `aecomms.handshake.${name}_vs_secret_stream`,
      hs.get(name)!,
      hs.get('secret_stream')!,
    );
  }

  const MB = 1024 * 1024;
  for (const [label, size] of [
    ['64k', 64 * 1024 - 17],
    ['1k', 1024],
  ] as const) {
    // 65,519 bytes is the largest plaintext of one Noise message: "64 KiB" messages fill a frame.
    const big = label === '64k';
    const soBytes = (q ? 64 : big ? 1024 : 128) * MB;
    const so = await bestOf(
      providers.map(([name, p, scale]) => [
        name,
        () => aecommsSealOpen(p, size, Math.max(size, Math.round(soBytes * scale))),
      ]),
    );
    for (const [name] of providers) {
      ctx.figure(`aecomms.seal_open.${label}.${name}`, so.get(name)!, 'MB/s');
    }
    const total = (q ? 32 : big ? 512 : 64) * MB;
    const ch = await bestOf([
      ...providers.map(
        ([name, p, scale]) =>
          [name, () => aecommsChannel(p, size, Math.max(size, Math.round(total * scale)))] as [
            string,
            () => Promise<number>,
          ],
      ),
      ['libp2p_noise', () => libp2pNoiseChannel(size, total)],
      ['secret_stream', () => secretStreamChannel(size, total)],
    ]);
    for (const [name] of providers) {
      ctx.figure(`aecomms.channel.${label}.${name}`, ch.get(name)!, 'MB/s');
    }
    ctx.figure(`libp2p_noise.channel.${label}`, ch.get('libp2p_noise')!, 'MB/s');
    ctx.figure(`secret_stream.channel.${label}`, ch.get('secret_stream')!, 'MB/s');
    for (const [name] of providers.filter(([n]) => n !== 'noble')) {
      const v = ch.get(name)!;
      ctx.ratio(`aecomms.channel.${label}.${name}_vs_libp2p_noise`, v, ch.get('libp2p_noise')!);
      ctx.ratio(`aecomms.channel.${label}.${name}_vs_secret_stream`, v, ch.get('secret_stream')!);
    }
  }
}

const bench: Benchmark = {
  name: 'aecomms',
  description:
    'Noise XX handshakes/s and secure-channel MB/s (64 KiB, 1 KiB) beside libp2p-noise and secret-stream',
  run,
};

export default bench;
