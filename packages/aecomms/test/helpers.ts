// Small helpers shared by the tests.
import { nobleCryptoProvider } from '../src/crypto/noble.js';
import { nodeCryptoProvider } from '../src/crypto/node.js';
import type { CryptoProvider } from '../src/crypto/provider.js';

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array | readonly Uint8Array[]): string =>
  Array.isArray(b)
    ? Buffer.concat((b as readonly Uint8Array[]).map((x) => Buffer.from(x))).toString('hex')
    : Buffer.from(b as Uint8Array).toString('hex');
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Both providers, for `describe.each`. */
export const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node', nodeCryptoProvider],
  ['noble', nobleCryptoProvider],
];
