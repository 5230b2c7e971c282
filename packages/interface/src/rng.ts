import { randomBytes, randomInt } from 'node:crypto';

/**
 * Randomness as a component, so protocol choices (jitter, peer selection, ids) are reproducible
 * in tests and simulations. Key material never comes from here: it comes from the crypto provider.
 */
export interface Rng {
  /** A float in [0, 1). */
  random(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

/**
 * The default: `node:crypto`'s generator.
 *
 * @example
 * ```ts
 * const rng = components.rng ?? cryptoRng
 * ```
 */
export const cryptoRng: Rng = {
  random: () => randomInt(0, 2 ** 48 - 1) / 2 ** 48,
  int: (max) =>
    max <= 1 ? 0 : max <= 2 ** 48 ? randomInt(0, max) : Math.floor(Math.random() * max),
  bytes: (n) => new Uint8Array(randomBytes(n)),
};

/**
 * A fast deterministic generator (sfc32 seeded through splitmix32): the same seed gives the same
 * sequence on every machine. Not for secrets.
 *
 * @throws {TypeError} if `seed` is not a finite number
 * @example
 * ```ts
 * const rng = createSeededRng(42)
 * rng.int(10) // always the same first value for seed 42
 * ```
 */
export function createSeededRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new TypeError('seed must be a finite number');
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  const random = (): number => next32() / 2 ** 32;
  return {
    random,
    int: (max) => Math.floor(random() * max),
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = next32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}
