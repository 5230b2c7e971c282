// The quinn binding is loaded by file path from @chainsafe/libp2p-quic's platform package. These
// tests fail loudly when the installed binding is not the one the wrapper was written for.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import {
  QUIC_BINDING_VERSION,
  REQUIRED_METHODS,
  loadQuinnBinding,
  platformPackage,
  type NativeClient,
  type NativeServer,
  type QuinnConfigInit,
} from '../../src/quic/binding.js';
import {
  base58Decode,
  base58Encode,
  libp2pPeerIdText,
  libp2pPrivateKey,
  remoteHostPort,
  remoteKeyFromMultiaddr,
} from '../../src/quic/keys.js';
import { QuicIdentityError } from '../../src/errors.js';

function keyPair(): { seed: Buffer; pub: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    seed: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32),
    pub: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32),
  };
}

const config = (proto: Uint8Array): QuinnConfigInit => ({
  privateKeyProto: proto,
  handshakeTimeout: 5000,
  maxIdleTimeout: 5000,
  keepAliveInterval: 1000,
  maxConcurrentStreamLimit: 16,
  maxStreamData: 1 << 20,
  maxConnectionData: 1 << 22,
  receiveBufferSize: 1 << 20,
  sendBufferSize: 1 << 20,
});

let server: NativeServer | undefined;
let client: NativeClient | undefined;
afterEach(async () => {
  client?.abort();
  await server?.abort();
  server = client = undefined;
});

describe('quinn binding', () => {
  it(`is @chainsafe/libp2p-quic ${QUIC_BINDING_VERSION}, exactly`, () => {
    const require = createRequire(import.meta.url);
    const platform = require(`${platformPackage()}/package.json`) as { version: string };
    expect(platform.version).toBe(QUIC_BINDING_VERSION);
  });

  it('has exactly the classes and methods the wrapper was written for', () => {
    const mod = loadQuinnBinding() as unknown as Record<string, { prototype: object }>;
    for (const [cls, methods] of Object.entries(REQUIRED_METHODS)) {
      const own = Object.getOwnPropertyNames(mod[cls]!.prototype).filter(
        (m) => m !== 'constructor',
      );
      // Extra methods are listed here so that an API change is seen, not silently absorbed.
      const known: Record<string, string[]> = {
        Server: ['stats'],
        Client: ['stats'],
        Connection: ['stats'],
      };
      expect(own.sort()).toEqual([...methods, ...(known[cls] ?? [])].sort());
    }
    expect(loadQuinnBinding()).toBe(loadQuinnBinding());
  });

  it('connects two endpoints with Ed25519 identities and reports the remote key', async () => {
    const b = loadQuinnBinding();
    const ks = keyPair();
    const kc = keyPair();
    server = new b.Server(
      new b.QuinnConfig(config(libp2pPrivateKey(ks.seed, ks.pub))),
      '127.0.0.1',
      0,
    );
    client = new b.Client(new b.QuinnConfig(config(libp2pPrivateKey(kc.seed, kc.pub))), 0);
    const accepted = server.inboundConnection();
    const conn = await client.outboundConnection('127.0.0.1', server.port());
    const inbound = await accepted;
    expect(Buffer.from(remoteKeyFromMultiaddr(conn.remoteMultiaddr())).equals(ks.pub)).toBe(true);
    expect(Buffer.from(remoteKeyFromMultiaddr(inbound.remoteMultiaddr())).equals(kc.pub)).toBe(
      true,
    );
    expect(conn.remoteMultiaddr()).toContain(libp2pPeerIdText(ks.pub));
    expect(remoteHostPort(conn.remoteMultiaddr())).toEqual({
      family: 4,
      host: '127.0.0.1',
      port: server.port(),
    });
    const s = await conn.outboundStream();
    await s.write(Buffer.from('ping'));
    const r = await inbound.inboundStream();
    expect(Buffer.from((await r.read(100))!).toString()).toBe('ping');
    await s.finishWrite();
    expect(await r.read(100)).toBeNull();
    conn.abort();
    inbound.abort();
  });
});

describe('QUIC identity conversions', () => {
  it('round-trips base58 (with leading zeros)', () => {
    for (const bytes of [
      Uint8Array.of(0, 0, 1, 2, 255),
      new Uint8Array(38).fill(7),
      Uint8Array.of(0),
    ]) {
      expect(base58Decode(base58Encode(bytes))).toEqual(bytes);
    }
    expect(base58Encode(Buffer.from('hello world'))).toBe('StV1DL6CwTryKyV');
    expect(base58Decode('0OIl')).toBeUndefined();
    expect(base58Decode('')).toBeUndefined();
  });

  it('builds the libp2p private key protobuf', () => {
    const k = libp2pPrivateKey(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
    expect([...k.subarray(0, 4)]).toEqual([0x08, 0x01, 0x12, 0x40]);
    expect(k.length).toBe(68);
    expect(() => libp2pPrivateKey(new Uint8Array(31), new Uint8Array(32))).toThrow(RangeError);
  });

  it.each([
    '/ip4/127.0.0.1/udp/1/quic-v1',
    '/ip4/127.0.0.1/udp/1/quic-v1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
    '/ip4/127.0.0.1/udp/1/quic-v1/p2p/0OIl',
    `/ip4/127.0.0.1/udp/1/quic-v1/p2p/${base58Encode(Uint8Array.of(0, 0x24, 8, 2, 0x12, 0x20, ...new Uint8Array(32)))}`,
  ])('rejects a remote that is not an Ed25519 identity: %s', (ma) => {
    expect(() => remoteKeyFromMultiaddr(ma)).toThrow(QuicIdentityError);
  });
});
