import { NoCommonVersionError } from './errors.js';

/**
 * Agrees on a protocol version: the highest version both peers list. Each side runs it on its
 * own list and the one the remote sent in its `HandshakePayload.versions`, so both pick the same
 * version without another round trip. Remote entries outside 1..2^32-1 are ignored.
 *
 * @throws {RangeError} when `local` is empty or holds a non-integer or a value outside 1..2^32-1
 * @throws {NoCommonVersionError} when the lists share no version; it names both lists
 * @example
 * ```ts
 * const version = negotiateVersion(SUPPORTED_VERSIONS, remotePayload.versions)
 * const decoder = createFrameDecoder({ versions: [version] })
 * ```
 */
export function negotiateVersion(local: readonly number[], remote: readonly number[]): number {
  if (local.length === 0) throw new RangeError('local versions must not be empty');
  for (const v of local) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff_ffff) {
      throw new RangeError('protocol versions are integers in 1..2^32-1');
    }
  }
  const mine = new Set(local);
  let best = 0;
  for (const v of remote) {
    if (mine.has(v) && v > best) best = v;
  }
  if (best === 0) throw new NoCommonVersionError(local, remote);
  return best;
}
