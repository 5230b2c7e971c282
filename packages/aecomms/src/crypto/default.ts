// The default provider: libsodium (sodium-native) when its native module loads, node:crypto
// otherwise. Chosen by measurement (tools/bench `aecomms` and `transport`): libsodium seals and
// opens small messages ~5–10× faster than node:crypto (no cipher object per message), runs the
// handshake's X25519, Ed25519 and SHA-256 without KeyObject imports or hash objects, and matches
// node:crypto on 64 KiB messages.
import { nodeCryptoProvider } from './node.js';
import type { CryptoProvider } from './provider.js';
import { sodiumCryptoProvider } from './sodium.js';

/**
 * The provider used wherever none is given: {@link sodiumCryptoProvider} when `sodium-native`
 * loads on this platform, else {@link nodeCryptoProvider}. Check `defaultCryptoProvider.name`.
 *
 * @example
 * ```ts
 * const identity = createIdentity(undefined, { provider: defaultCryptoProvider })
 * ```
 */
export const defaultCryptoProvider: CryptoProvider = sodiumCryptoProvider() ?? nodeCryptoProvider;
