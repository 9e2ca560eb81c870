/**
 * The training kernels we register on the wasm backend (wasm-kernels.ts) against the
 * pure-JavaScript cpu backend's, on random inputs: both gradients of a convolution for
 * strides 1 and 2 and same / valid / symmetric / explicit padding.
 */
import * as assert from 'node:assert/strict';
import { tf } from '../../server/src/engines/tfjs/tf';
import { maxAbs, maxAbsDiff, randomNormal, useBackend } from './helpers';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number | [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  { x: [4, 28, 28, 1], w: [3, 3, 1, 8], stride: 1, pad: 'same' },
  { x: [2, 14, 14, 8], w: [3, 3, 8, 16], stride: 1, pad: 1 },
  { x: [2, 14, 14, 8], w: [3, 3, 8, 16], stride: 2, pad: 'same' },
  { x: [2, 15, 13, 4], w: [3, 3, 4, 6], stride: 2, pad: 1 },
  { x: [3, 9, 11, 5], w: [3, 2, 5, 7], stride: [2, 1], pad: 'valid' },
  { x: [2, 8, 9, 3], w: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { x: [2, 8, 8, 3], w: [5, 5, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 8, 9, 3], w: [2, 4, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 10, 10, 3], w: [1, 1, 3, 6], stride: 2, pad: 0 },
  { x: [2, 11, 10, 3], w: [3, 3, 3, 2], stride: 2, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
  { x: [2, 12, 12, 2], w: [3, 3, 2, 3], stride: 3, pad: 'valid' },
];

/** Gradients of Σ conv(x, w) ⊙ r with respect to x and w on the active backend. */
function convGrads(c: ConvCase, seed: number): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomNormal(c.x.reduce((a, b) => a * b), seed), c.x);
    const w = tf.tensor4d(randomNormal(c.w.reduce((a, b) => a * b), seed + 1), c.w);
    const outShape = tf.conv2d(x, w, c.stride, c.pad as 'same').shape;
    const r = tf.tensor(randomNormal(outShape.reduce((a, b) => a * b), seed + 2), outShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad as 'same'), r)))([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

describe('wasm training kernels', function () {
  this.timeout(60000);

  before(async () => {
    await useBackend('wasm');
    await useBackend('cpu');
  });
  after(async () => {
    await useBackend('cpu');
  });

  for (const [i, c] of CASES.entries()) {
    it(`conv gradients match the cpu backend: x ${c.x.join('×')}, w ${c.w.join('×')}, stride ${JSON.stringify(c.stride)}, pad ${JSON.stringify(c.pad)}`, async () => {
      await useBackend('cpu');
      const ref = convGrads(c, 10 * i);
      await useBackend('wasm');
      const before = tf.memory().numTensors;
      const got = convGrads(c, 10 * i);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      // float32 sums of a few hundred products: relative error well below 1e-4
      assert.ok(maxAbsDiff(ref.dw, got.dw) <= 1e-4 * Math.max(1, maxAbs(ref.dw)), `dW differs by ${maxAbsDiff(ref.dw, got.dw)}`);
      assert.ok(maxAbsDiff(ref.dx, got.dx) <= 1e-4 * Math.max(1, maxAbs(ref.dx)), `dX differs by ${maxAbsDiff(ref.dx, got.dx)}`);
    });
  }

  for (const [shape, size, stride] of [
    [[4, 28, 28, 8], 2, 2],
    [[2, 7, 9, 3], 2, 2],
    [[2, 8, 8, 3], 3, 2],
    [[2, 9, 9, 2], 3, 3],
  ] as [[number, number, number, number], number, number][]) {
    it(`max-pool gradient matches the cpu backend: x ${shape.join('×')}, pool ${size}, stride ${stride}`, async () => {
      const grad = (seed: number) =>
        tf.tidy(() => {
          const x = tf.tensor4d(randomNormal(shape.reduce((a, b) => a * b), seed), shape);
          const outShape = tf.maxPool(x, size, stride, 'valid').shape;
          const r = tf.tensor(randomNormal(outShape.reduce((a, b) => a * b), seed + 1), outShape);
          return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, 'valid'), r)))(x).dataSync();
        });
      await useBackend('cpu');
      const ref = grad(7);
      await useBackend('wasm');
      assert.equal(maxAbsDiff(ref, grad(7)), 0);
    });
  }

  it('max-pool gradient at tied maxima goes to the first one in reading order, as on the cpu backend and in PyTorch', async () => {
    // windows of a constant value (a background), two equal maxima, and a zero tie after a ReLU
    const shape: [number, number, number, number] = [2, 6, 6, 3];
    const values = randomNormal(shape.reduce((a, b) => a * b), 11).map((v, i) => (i % 5 === 0 ? 0.75 : i % 7 === 0 ? 0 : Math.round(v * 2) / 2));
    const grad = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(values, shape);
        const r = tf.tensor(randomNormal(2 * 3 * 3 * 3, 12), [2, 3, 3, 3]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), r)))(x).dataSync();
      });
    await useBackend('cpu');
    const ref = grad();
    await useBackend('wasm');
    const got = grad();
    assert.equal(maxAbsDiff(ref, got), 0);
    // every window's gradient sits at one position only
    const ones = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.ones([1, 4, 4, 1])).dataSync());
    assert.deepEqual([...ones], [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  });

  it('the kernels release their intermediate wasm memory', async () => {
    await useBackend('wasm');
    const c = CASES[2];
    const work = () => {
      convGrads(c, 1);
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.ones([2, 5, 5, 3])).dataSync());
    };
    work();
    const bytes = tf.memory().numBytes;
    const dataIds = (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    for (let k = 0; k < 3; k++) work();
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal((tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds(), dataIds);
  });

  it('bias-gradient sums (all axes but the last) match the cpu backend', async () => {
    const sums = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomNormal(8 * 12 * 12 * 5, 3), [8, 12, 12, 5]);
        return [tf.sum(x, [0, 1, 2]), tf.sum(x, [0, 1, 2], true), tf.sum(x, [2, 0, 1]), tf.sum(tf.reshape(x, [-1, 5]), 0), tf.sum(x, [1, 2]), tf.sum(x)].map((t) => ({ shape: t.shape, values: t.dataSync() }));
      });
    await useBackend('cpu');
    const ref = sums();
    await useBackend('wasm');
    sums().forEach((got, i) => {
      assert.deepEqual(got.shape, ref[i].shape);
      assert.ok(maxAbsDiff(got.values, ref[i].values) < 1e-3, `sum ${i} differs by ${maxAbsDiff(got.values, ref[i].values)}`);
    });
  });

  it('UnsortedSegmentSum (the gradient of gather) runs on wasm through the cpu kernel', async () => {
    await useBackend('wasm');
    const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([0, 2, 2], 'int32'))))([tf.tensor1d([1, 2, 3])]);
    assert.deepEqual(Array.from(g.dataSync()), [1, 0, 2]);
  });
});
