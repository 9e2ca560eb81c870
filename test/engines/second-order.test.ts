/**
 * Second-order gradients in TensorFlow.js for the ops of our models (second-order.ts,
 * docs/engines.md): for each op f and random tensors, h(x, w…) = Σ r ⊙ ∂/∂x [Σ s ⊙ f(x, w…)²]
 * — the gradient w.r.t. the data input x, as an attribution takes it, with a dy that depends
 * on x and w — is differentiated again w.r.t. every input and compared with central finite
 * differences, on the cpu and the wasm backend.
 */
import * as assert from 'node:assert/strict';
import { logSoftmax, withExactPooling } from '../../server/src/engines/tfjs/second-order';
import { tf } from '../../server/src/engines/tfjs/tf';
import { randomNormal, useBackend } from './helpers';

type Op = (...xs: tf.Tensor[]) => tf.Tensor;
const c4 = [2, 6, 6, 3];
const odd = [1, 5, 7, 2];

/** The ops on our models' first backward pass (and a few neighbours), with input shapes. */
export const OPS: { name: string; f: Op; shapes: number[][]; exact?: boolean }[] = [
  { name: 'relu', f: (x) => tf.relu(x), shapes: [[3, 5]] },
  { name: 'maxPool 2×2/2', f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), shapes: [c4] },
  { name: 'maxPool 2×2/2, odd size', f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), shapes: [odd] },
  { name: 'maxPool 2×2/2, exact pooling (attributions)', f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), shapes: [c4], exact: true },
  { name: 'maxPool 2×2/2, odd size, exact pooling', f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), shapes: [odd], exact: true },
  { name: 'conv2d 3×3 stride 1 pad 1', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 1), shapes: [c4, [3, 3, 3, 4]] },
  { name: 'conv2d 3×3 stride 2 pad 1', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1), shapes: [odd, [3, 3, 2, 4]] },
  { name: 'conv2d 1×1 stride 2 pad 0', f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 0), shapes: [c4, [1, 1, 3, 4]] },
  { name: 'matMul', f: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), shapes: [[3, 4], [4, 5]] },
  { name: 'add (bias broadcast)', f: (x, b) => tf.add(x, b), shapes: [c4, [3]] },
  { name: 'sub, mul (normalisation)', f: (x, m) => tf.mul(tf.sub(x, m), 0.7), shapes: [c4, [3]] },
  { name: 'mean (GAP)', f: (x) => tf.mean(x, [1, 2]), shapes: [c4] },
  { name: 'sum', f: (x) => tf.sum(x, 3), shapes: [c4] },
  { name: 'reshape', f: (x) => tf.reshape(x, [2, -1]), shapes: [c4] },
  { name: 'logSoftmax (second-order.ts)', f: (x) => logSoftmax(x as tf.Tensor2D), shapes: [[3, 5]] },
  { name: 'softmax', f: (x) => tf.softmax(x), shapes: [[3, 5]] },
];

const tensor = (shape: number[], seed: number) => tf.tensor(randomNormal(shape.reduce((a, b) => a * b, 1), seed), shape);

/** Worst relative error of the second-order gradient against finite differences (float32: eps 1e-2). */
export function secondOrderError(f: Op, shapes: number[][]): number {
  return tf.tidy(() => {
    const inputs = shapes.map((s, i) => tensor(s, 10 + i));
    const s = tensor(f(...inputs).shape, 50);
    const r = tensor(shapes[0], 60);
    const h = (...xs: tf.Tensor[]) => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(s, tf.square(f(x, ...xs.slice(1))))))(xs[0]);
      return tf.sum(tf.mul(r, g)) as tf.Scalar;
    };
    const analytic = tf.grads(h)(inputs).map((g) => g.dataSync());
    const eps = 1e-2;
    let worst = 0;
    inputs.forEach((t, i) => {
      const base = t.dataSync() as Float32Array;
      for (let j = 0; j < Math.min(base.length, 10); j++) {
        const k = (j * 7919) % base.length;
        const at = (d: number) => {
          const v = base.slice();
          v[k] += d;
          return h(...inputs.map((u, q) => (q === i ? tf.tensor(v, u.shape) : u))).dataSync()[0];
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - analytic[i][k]) / Math.max(1, Math.abs(numeric)));
      }
    });
    return worst;
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tfjs second-order gradients (${backend})`, function () {
    this.timeout(60_000);
    before(async () => useBackend(backend));

    for (const op of OPS) {
      it(`${op.name}: the gradient of its gradient matches finite differences`, () => {
        const before = tf.memory().numTensors;
        const err = op.exact ? withExactPooling(() => secondOrderError(op.f, op.shapes)) : secondOrderError(op.f, op.shapes);
        assert.ok(err < 5e-3, `${op.name}: relative error ${err}`);
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      });
    }

    it("finding: tf.logSoftmax's own second derivative is wrong (its gradient reads a disconnected copy of its output)", () => {
      assert.ok(secondOrderError((x) => tf.logSoftmax(x), [[3, 5]]) > 0.1);
    });

    it('exact pooling routes the gradient of tied maxima to the first one, as the cpu kernel', () => {
      const tied = tf.tensor4d([0, 0, 0, 0, 2, 2, 1, 2, 3, 1, 3, 3, 1, 1, 1, 1], [1, 4, 4, 1]);
      const g = (exact: boolean) => {
        const f = () => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tied).dataSync();
        return Array.from(exact ? withExactPooling(f) : f());
      };
      // windows: [0 0; 2 2] → first 2 at (1,0); [0 0; 1 2] → (1,1); [3 1; 1 1] → (2,0); [3 3; 1 1] → (2,2)
      assert.deepEqual(g(true), [0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0]);
      if (backend === 'cpu') assert.deepEqual(g(false), g(true));
    });

    it('refuses a pooling it has no second-order gradient for, with a message', () => {
      assert.throws(() => secondOrderError((x) => tf.maxPool(x as tf.Tensor4D, 3, 1, 'same'), [c4]), /2×2 windows with stride 2/);
    });
  });
}
