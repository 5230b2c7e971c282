// The quinn (Rust) binding that ships inside @chainsafe/libp2p-quic as prebuilt platform packages.
// The package only exports its libp2p factory, so the native module is loaded here deliberately:
// the platform package is required directly (resolved from this file, or from the libp2p-quic
// package's own location), its version must be the one this wrapper was written for, and every
// class and method used below must be present. Anything else fails with QuicBindingError.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { QuicBindingError } from '../errors.js';

/** The @chainsafe/libp2p-quic version (and platform package version) this wrapper is written for. */
export const QUIC_BINDING_VERSION = '2.1.1';

/** `QuinnConfig` options; every value a u32. */
export interface QuinnConfigInit {
  /** libp2p private key protobuf (`KeyType.Ed25519` + 64-byte seed‖public key). */
  privateKeyProto: Uint8Array;
  /** Ignored by the binding: the handshake ends at `maxIdleTimeout`. */
  handshakeTimeout: number;
  maxIdleTimeout: number;
  keepAliveInterval: number;
  /** Concurrent bidirectional streams the remote may open; past it, its opens wait. */
  maxConcurrentStreamLimit: number;
  /** Receive window of one stream. */
  maxStreamData: number;
  /** Receive window of the connection. */
  maxConnectionData: number;
  /** Socket buffers (only the dialing socket uses them). */
  receiveBufferSize: number;
  sendBufferSize: number;
}

/** An opaque configuration handle. */
export type NativeConfig = object;

export interface NativeStream {
  id(): string;
  /** Up to `maxLen` bytes in a new buffer, or null at the remote's FIN. Rejects after a reset. */
  read(maxLen: number): Promise<Uint8Array | null>;
  /** Resolves once all of `data` is in quinn's send buffer. */
  write(data: Uint8Array): Promise<void>;
  finishWrite(): Promise<void>;
  resetWrite(): Promise<void>;
  stopRead(): Promise<void>;
}

export interface NativeConnection {
  inboundStream(): Promise<NativeStream>;
  outboundStream(): Promise<NativeStream>;
  /** Closes at once (code 0). */
  abort(): void;
  /** Smoothed RTT in whole milliseconds. */
  rtt(): number;
  id(): string;
  /** `/ip4/…/udp/…/quic-v1/p2p/<base58 libp2p peer id>` of the authenticated remote. */
  remoteMultiaddr(): string;
  closed(): Promise<void>;
}

export interface NativeServer {
  inboundConnection(): Promise<NativeConnection>;
  abort(): Promise<void>;
  port(): number;
}

export interface NativeClient {
  outboundConnection(ip: string, port: number): Promise<NativeConnection>;
  abort(): void;
}

/** The typed surface of the native module. */
export interface QuinnBinding {
  QuinnConfig: new (config: QuinnConfigInit) => NativeConfig;
  Server: new (config: NativeConfig, ip: string, port: number) => NativeServer;
  Client: new (config: NativeConfig, family: 0 | 1) => NativeClient;
}

/** Methods each native class must have (checked at load). */
export const REQUIRED_METHODS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  QuinnConfig: [],
  Server: ['inboundConnection', 'abort', 'port'],
  Client: ['outboundConnection', 'abort'],
  Connection: [
    'inboundStream',
    'outboundStream',
    'abort',
    'rtt',
    'id',
    'remoteMultiaddr',
    'closed',
  ],
  Stream: ['id', 'read', 'write', 'finishWrite', 'resetWrite', 'stopRead'],
});

function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report?.getReport() as
    { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

/** The platform package holding the native module for this process, e.g. `…-linux-x64-gnu`. */
export function platformPackage(): string {
  const { platform, arch } = process;
  let suffix: string;
  if (platform === 'linux') suffix = `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  else if (platform === 'win32') suffix = `win32-${arch}-msvc`;
  else suffix = `${platform}-${arch}`;
  return `@chainsafe/libp2p-quic-${suffix}`;
}

let loaded: QuinnBinding | undefined;

/**
 * Loads the quinn binding once per process: the typed native layer the QUIC transport runs on,
 * exported for benchmarks and diagnostics (the raw baseline in tools/bench).
 *
 * @throws {QuicBindingError} when the platform package is missing, has another version, or lacks
 *   a class or method this wrapper uses
 * @example
 * ```ts
 * const quinn = loadQuinnBinding()
 * const server = new quinn.Server(new quinn.QuinnConfig(config), '127.0.0.1', 0)
 * ```
 */
export function loadQuinnBinding(): QuinnBinding {
  if (loaded !== undefined) return loaded;
  const pkg = platformPackage();
  const require = createRequire(import.meta.url);
  let req = require;
  try {
    require.resolve(`${pkg}/package.json`);
  } catch {
    // Not hoisted: look next to @chainsafe/libp2p-quic itself.
    const dirs = require.resolve.paths('@chainsafe/libp2p-quic') ?? [];
    const home = dirs
      .map((d) => join(d, '@chainsafe', 'libp2p-quic', 'package.json'))
      .find((p) => existsSync(p));
    if (home === undefined) {
      throw new QuicBindingError(`QUIC needs @chainsafe/libp2p-quic and ${pkg}; neither was found`);
    }
    req = createRequire(home);
  }
  let version: string;
  let mod: Record<string, unknown>;
  try {
    version = (req(`${pkg}/package.json`) as { version: string }).version;
    mod = req(pkg) as Record<string, unknown>;
  } catch (cause) {
    throw new QuicBindingError(`Cannot load the QUIC native module ${pkg}`, { cause });
  }
  if (version !== QUIC_BINDING_VERSION) {
    throw new QuicBindingError(
      `${pkg} is ${version}; this wrapper is written for ${QUIC_BINDING_VERSION} exactly`,
    );
  }
  for (const [cls, methods] of Object.entries(REQUIRED_METHODS)) {
    const ctor = mod[cls];
    if (typeof ctor !== 'function') throw new QuicBindingError(`${pkg} has no class ${cls}`);
    const proto = (ctor as { prototype?: Record<string, unknown> }).prototype;
    for (const m of methods) {
      if (typeof proto?.[m] !== 'function') {
        throw new QuicBindingError(`${pkg}: ${cls}.${m} is missing (binding API changed)`);
      }
    }
  }
  loaded = mod as unknown as QuinnBinding;
  return loaded;
}
