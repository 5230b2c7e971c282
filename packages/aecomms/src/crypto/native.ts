// The native ChaCha20-Poly1305 of aecomms (native/src/aead.cc, compiled by `npm ci` through
// node-gyp): the OpenSSL that Node links, sealing into and opening into the caller's buffers, so
// a 64 KiB message costs no allocation and no cipher object. Optional: when the build failed (no
// compiler) or `DETR_NATIVE_AEAD=0` is set, the providers use node:crypto as before.
import { createRequire } from 'node:module';
import { totalLength } from './provider.js';

/** The addon's functions. Each throws a TypeError for malformed arguments. */
export interface NativeAead {
  /**
   * Seals the concatenation of `parts` (at most 64) with `ad` into `out` at `offset` as
   * ciphertext ‖ tag(16); returns the bytes written. A part may be `out`'s own bytes exactly in
   * place (same offset), never overlapping it elsewhere.
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array | null,
    parts: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
  ): number;
  /**
   * Opens the ciphertext `pieces` (at most 64) into `out` at `offset`; false, with the output
   * zeroed, when `tag` does not verify.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array | null,
    pieces: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
    tag: Uint8Array,
  ): boolean;
}

/** The most parts or pieces one native call takes. */
export const NATIVE_MAX_PARTS = 64;

function load(): { aead?: NativeAead; error?: Error } {
  if (process.env['DETR_NATIVE_AEAD'] === '0') {
    return { error: new Error('the native AEAD is disabled by DETR_NATIVE_AEAD=0') };
  }
  try {
    // src/crypto and dist/crypto are both two levels below the package root.
    const require = createRequire(import.meta.url);
    return { aead: require('../../native/build/Release/detr_aead.node') as NativeAead };
  } catch (err) {
    return { error: err instanceof Error ? err : new Error(String(err)) };
  }
}

const loaded = load();

/**
 * The native AEAD, or undefined when it was not built or is disabled (`DETR_NATIVE_AEAD=0`).
 *
 * @example
 * ```ts
 * if (nativeAead() === undefined) log.warn(nativeAeadError()?.message)
 * ```
 */
export function nativeAead(): NativeAead | undefined {
  return loaded.aead;
}

/** Why {@link nativeAead} is undefined (the load error); undefined when it loaded. */
export function nativeAeadError(): Error | undefined {
  return loaded.error;
}

const EMPTY = new Uint8Array(0);

/** Joins `parts` into one array when there are more than the native call takes (never in use). */
function fewParts(parts: readonly Uint8Array[]): readonly Uint8Array[] {
  if (parts.length <= NATIVE_MAX_PARTS) return parts;
  const all = new Uint8Array(totalLength(parts));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return [all];
}

/**
 * @internal ChaCha20-Poly1305 on the native addon: seals into the caller's frame buffer (the
 * secure session's one-buffer frames at any size) and opens into a buffer of its own.
 */
export class NativeChaChaPoly {
  /** Its own memory, never a slice of Buffer's pool (a long-lived key would pin a whole slab). */
  private readonly key: Uint8Array;

  constructor(
    private readonly native: NativeAead,
    key: Uint8Array,
  ) {
    this.key = Uint8Array.from(key);
  }

  seal(nonce: Uint8Array, ad: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[] {
    const out = Buffer.allocUnsafeSlow(totalLength(parts) + 16);
    this.native.seal(this.key, nonce, ad ?? null, fewParts(parts), out, 0);
    return [out];
  }

  sealInto(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    parts: readonly Uint8Array[],
    out: Uint8Array,
    offset: number,
  ): number {
    return this.native.seal(this.key, nonce, ad ?? null, fewParts(parts), out, offset);
  }

  open(
    nonce: Uint8Array,
    ad: Uint8Array | undefined,
    pieces: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array | null {
    if (tag.length !== 16) return null;
    const n = totalLength(pieces);
    // Its own memory: a caller may keep a plaintext (or a view of it) for long.
    const out = n === 0 ? EMPTY : n < 4096 ? Buffer.allocUnsafeSlow(n) : Buffer.allocUnsafe(n);
    return this.native.open(this.key, nonce, ad ?? null, fewParts(pieces), out, 0, tag)
      ? out
      : null;
  }
}
