// Seeded pseudo-random numbers for building data sets.
//
// sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator, from PractRand), seeded
// through splitmix32. Owned here rather than taken from a package on purpose: a data set
// must be byte-identical for a seed forever, so the generator and the way integers are
// drawn from it must never change under us with a dependency upgrade. (pure-rand@8, already
// in the tree through fast-check, also only exposes subpath exports, which the repo's
// `moduleResolution: node` cannot type-check.)

export interface Rng {
  /** Uniform integer in [0, 2^32). */
  uint32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number;
  /** true with probability p. */
  bernoulli(p: number): boolean;
  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T;
}

const TWO_POW_32 = 0x1_0000_0000;

/** splitmix32 step: turns arbitrary (even similar) seeds into well-mixed 32-bit words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A generator for `seed` and an optional `stream` number. Different streams of one seed are
 * independent, so each use (split assignment, train decoys, test decoys …) gets its own
 * stream and changing one (e.g. the split sizes) does not reshuffle the others.
 */
export function createRng(seed: number, stream = 0): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // Fold a possibly 53-bit seed and the stream number into the splitmix state.
  const mix = { s: (seed | 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) | 0, 0x27d4eb2f) };
  mix.s = (splitmix32(mix) ^ Math.imul(stream | 0, 0x165667b1)) | 0;
  let a = splitmix32(mix) | 0;
  let b = splitmix32(mix) | 0;
  let c = splitmix32(mix) | 0;
  let d = 1; // sfc32's counter
  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32 needs a few rounds to decorrelate from its seed.
  for (let i = 0; i < 12; i++) uint32();

  const rng: Rng = {
    uint32,
    float: () => uint32() / TWO_POW_32,
    int(n) {
      if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`int(n) needs 1 ≤ n ≤ 2^32, got ${n}`);
      // Reject the top partial block so every residue is equally likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let x = uint32();
      while (x >= limit) x = uint32();
      return x % n;
    },
    bernoulli: (p) => uint32() / TWO_POW_32 < p,
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
      }
      return items;
    },
  };
  return rng;
}
