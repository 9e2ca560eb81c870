// Deterministic, class-stratified train / validation / test index splits.

import type { Rng } from './rng';

export interface SplitSizes {
  /** Images in the test split. */
  testCount: number;
  /** Share of the remaining (non-test) images held out for validation. */
  valFraction: number;
}

export interface SplitIndices {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/**
 * Splits `labels.length` items so that every split keeps (to within one item per class) the
 * class proportions of the whole set, with exact split sizes. Each class is shuffled, its
 * k-th member gets the quantile key (k + ½) / n_class, and items are dealt out in key order
 * (random tie-break): a prefix of that order is a proportional sample of every class.
 * Each split comes back shuffled.
 */
export function stratifiedSplit(labels: Int32Array, classes: number, sizes: SplitSizes, rng: Rng): SplitIndices {
  const total = labels.length;
  const { testCount, valFraction } = sizes;
  if (!Number.isInteger(testCount) || testCount < 0 || testCount >= total) {
    throw new RangeError(`testCount must be an integer in [0, ${total}), got ${testCount}`);
  }
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  const valCount = Math.round((total - testCount) * valFraction);

  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((label, index) => byClass[label].push(index));
  const keyed: { index: number; key: number; tie: number }[] = [];
  for (const members of byClass) {
    rng.shuffle(members);
    members.forEach((index, k) => keyed.push({ index, key: (k + 0.5) / members.length, tie: rng.float() }));
  }
  keyed.sort((p, q) => p.key - q.key || p.tie - q.tie);
  const order = Int32Array.from(keyed, (item) => item.index);

  return {
    test: rng.shuffle(order.slice(0, testCount)),
    val: rng.shuffle(order.slice(testCount, testCount + valCount)),
    train: rng.shuffle(order.slice(testCount + valCount)),
  };
}
