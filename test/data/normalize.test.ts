/** Input normalisation statistics (data/normalize.ts), against hand-computed values. */
import * as assert from 'node:assert/strict';
import type { ImageSet } from '../../server/src/data/image-set';
import { channelStatistics, IMAGENET_NORMALIZATION, NormalizationError, resolveNormalization } from '../../server/src/data/normalize';

function set(images: number[], channels: 1 | 3, size: number): ImageSet {
  const count = images.length / (size * size * channels);
  return {
    images: Float32Array.from(images),
    channels,
    labels: new Int32Array(count),
    saliency: new Float32Array(count * size * size),
    size,
    count,
    decoyMask: new Uint8Array(count * size * size),
    decoyShade: new Float32Array(count).fill(-1),
  };
}

describe('input normalisation', () => {
  it('per-channel mean and population std over every pixel of every image', () => {
    // two 1×1 RGB images: R = 0, 1; G = 0.5, 0.5; B = 0.25, 0.75
    const s = channelStatistics(set([0, 0.5, 0.25, 1, 0.5, 0.75], 3, 1));
    assert.deepEqual(s.mean, [0.5, 0.5, 0.5]);
    // R: values 0, 1 → std 0.5; G constant → 1 (never divide by ~0); B: 0.25, 0.75 → 0.25
    assert.equal(s.std[0], 0.5);
    assert.equal(s.std[1], 1);
    assert.ok(Math.abs(s.std[2] - 0.25) < 1e-7);
  });

  it('grayscale: one mean and std over a 2×2 image pair', () => {
    // values 0, 0, 0, 1 | 1, 1, 0, 1: mean 0.5, E[x²] = 0.5, var 0.25
    const s = channelStatistics(set([0, 0, 0, 1, 1, 1, 0, 1], 1, 2));
    assert.deepEqual(s, { mean: [0.5], std: [0.5] });
  });

  it('resolves none / dataset / imagenet, and refuses ImageNet statistics on grayscale images', () => {
    const gray = set([0, 1], 1, 1);
    assert.equal(resolveNormalization('none', gray), undefined);
    assert.deepEqual(resolveNormalization('dataset', gray), { mean: [0.5], std: [0.5] });
    assert.deepEqual(resolveNormalization('imagenet', set([0, 0, 0], 3, 1)), IMAGENET_NORMALIZATION);
    assert.throws(() => resolveNormalization('imagenet', gray), (e: unknown) => e instanceof NormalizationError && /needs RGB images.*normalize = dataset/.test((e as Error).message));
  });
});
