// In-memory image data as the training engines consume it: grayscale images, labels and one
// human saliency map per image, all flat typed arrays (cheap to hand to tensors or workers).

import type { PixelBox } from './boxes';

export interface ImageSet {
  /** count × size × size × channels, row-major, channels last, values in [0, 1]. */
  images: Float32Array;
  /** 1 (grayscale) or 3 (RGB). */
  channels: 1 | 3;
  /** count class indices. */
  labels: Int32Array;
  /** count × size × size human saliency maps in [0, 1] (what a person would point at). */
  saliency: Float32Array;
  /** Side length in pixels (images are square). */
  size: number;
  count: number;
  /**
   * count × size × size, 1 where a known spurious feature sits (the decoy swatch), else 0:
   * the "irrelevant" region A that Ross et al.'s RRR penalises input gradients in, and
   * where analyses measure how much attribution lands on the shortcut. All zeros for clean data.
   */
  decoyMask: Uint8Array;
  /** Per image: 1 when it has a human saliency map, 0 when not (its `saliency` is then zeros). Absent: every image has one. */
  hasSaliency?: Uint8Array;
  /** Per image: its file, relative to the data folder (folder data sets only), for error messages and overlays. */
  files?: string[];
  /** Per image: the shade of its decoy in [0, 1], or -1 when it has none. */
  decoyShade: Float32Array;
  /** Multi-label data sets only: count × classes, 1 where the image has that label (`labels` holds its first one). */
  multiLabels?: Uint8Array;
  /** `annotation = boxes` only: per image, its boxes in target pixels with their class (data/boxes.ts). */
  boxes?: PixelBox[][];
}

/** Rows `idx` of a row-major array of `width`-value rows (images, maps or masks), in a new array of the same kind. */
export function gatherRows<T extends Float32Array | Uint8Array>(values: T, width: number, idx: ArrayLike<number>): T {
  const out = new (values.constructor as new (length: number) => T)(idx.length * width);
  for (let i = 0; i < idx.length; i++) out.set(values.subarray(idx[i] * width, (idx[i] + 1) * width), i * width);
  return out;
}

/** The images `idx` of a set, one batch as a new array (what a tensor or a worker takes). */
export function gatherImages(set: ImageSet, idx: ArrayLike<number>): Float32Array {
  return gatherRows(set.images, set.size * set.size * set.channels, idx);
}

export interface ImageSplits {
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  classes: number;
}
