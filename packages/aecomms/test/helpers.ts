// Small helpers shared by the tests.
import { nobleCryptoProvider } from '../src/crypto/noble.js';
import { nodeCryptoProvider } from '../src/crypto/node.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { sodiumCryptoProvider, sodiumLoadError } from '../src/crypto/sodium.js';

/** libsodium (sodium-native); its prebuilt binary exists for this platform, so it must load. */
export const sodiumProvider: CryptoProvider = (() => {
  const p = sodiumCryptoProvider();
  if (p === undefined) throw new Error('sodium-native did not load', { cause: sodiumLoadError() });
  return p;
})();

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array | readonly Uint8Array[]): string =>
  Array.isArray(b)
    ? Buffer.concat((b as readonly Uint8Array[]).map((x) => Buffer.from(x))).toString('hex')
    : Buffer.from(b as Uint8Array).toString('hex');
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Every provider, for `describe.each`. */
export const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['sodium', sodiumProvider],
  ['node', nodeCryptoProvider],
  ['noble', nobleCryptoProvider],
];
