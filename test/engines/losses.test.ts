/**
 * CAM, cross-entropy and CYBORG (cam.ts, losses.ts): values on tiny tensors worked out by
 * hand, and gradients through a real model against central finite differences.
 */
import * as assert from 'node:assert/strict';
import { camTargets, classActivationMap, normalizeMaps, saliencyAtCamSize } from '../../server/src/engines/tfjs/cam';
import { crossEntropyLoss, crossEntropyPerImage, cyborgLoss } from '../../server/src/engines/tfjs/losses';
import { createModel, type Model } from '../../server/src/engines/tfjs/models';
import { tf } from '../../server/src/engines/tfjs/tf';
import { maxAbs, maxAbsDiff, randomNormal, useBackend } from './helpers';

const close = (actual: number, expected: number, tol = 1e-6) => assert.ok(Math.abs(actual - expected) <= tol, `${actual} ≠ ${expected}`);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

// One image, 2×2 features with 2 channels, 2 classes:
//   F(0,0) = [1, 0]  F(0,1) = [0, 2]
//   F(1,0) = [3, 1]  F(1,1) = [1, 1]
//   W = [[1, −1],     (row c = channel, column k = class)
//        [2, 0.5]]
const F = () => tf.tensor4d([1, 0, 0, 2, 3, 1, 1, 1], [1, 2, 2, 2]);
const W = () => tf.tensor2d([1, -1, 2, 0.5], [2, 2]);

describe('CAM and losses', function () {
  this.timeout(60000);
  before(() => useBackend('cpu'));

  it('CAM is W[k]·F summed over channels, without bias or ReLU', () => {
    // k = 0: 1·F_c0 + 2·F_c1 = [1, 4; 5, 3]; k = 1: −F_c0 + 0.5·F_c1 = [−1, 1; −2.5, −0.5]
    assert.deepEqual(values(classActivationMap(F(), W(), tf.tensor1d([0], 'int32'))), [1, 4, 5, 3]);
    assert.deepEqual(values(classActivationMap(F(), W(), tf.tensor1d([1], 'int32'))), [-1, 1, -2.5, -0.5]);
  });

  it('normalises each map to [0, 1] by its own min and max; a flat map becomes zeros', () => {
    // [1, 4; 5, 3] → (x − 1) / 4 = [0, 0.75; 1, 0.5]; [7, 7; 7, 7] → zeros; [−2, 0; 2, 0] → [0, .5; 1, .5]
    const maps = tf.tensor3d([1, 4, 5, 3, 7, 7, 7, 7, -2, 0, 2, 0], [3, 2, 2]);
    assert.deepEqual(values(normalizeMaps(maps)), [0, 0.75, 1, 0.5, 0, 0, 0, 0, 0, 0.5, 1, 0.5]);
  });

  it('the flat-map guard keeps gradients finite', () => {
    const g = tf.grad((m: tf.Tensor) => tf.sum(tf.mul(normalizeMaps(m as tf.Tensor3D), tf.tensor3d([1, 2, 3, 4], [1, 2, 2]))))(tf.tensor3d([5, 5, 5, 5], [1, 2, 2]));
    assert.deepEqual(values(g), [0, 0, 0, 0]);
  });

  it('cam_class picks the label or the arg-max of the logits', () => {
    const logits = tf.tensor2d([0.1, 0.9, 2, -1], [2, 2]);
    const labels = tf.tensor1d([0, 0], 'int32');
    assert.deepEqual(values(camTargets(logits, labels, 'label')), [0, 0]);
    assert.deepEqual(values(camTargets(logits, labels, 'predicted')), [1, 0]);
  });

  it('cross-entropy is −log softmax at the label', () => {
    // logits [0, 0] → log 2; logits [3.25, −0.75], label 0 → log(1 + e^−4) = 0.0181499...
    const logits = tf.tensor2d([0, 0, 3.25, -0.75], [2, 2]);
    const ce = values(crossEntropyPerImage(logits, tf.tensor1d([1, 0], 'int32')));
    close(ce[0], Math.LN2);
    close(ce[1], 0.01814992791780978);
    close(crossEntropyLoss(logits, tf.tensor1d([1, 0], 'int32')).loss.dataSync()[0], (Math.LN2 + 0.01814992791780978) / 2);
  });

  it('CYBORG = α·CE + (1−α)·MSE(normalised CAM, H↓)', () => {
    // GAP(F) = [(1+0+3+1)/4, (0+2+1+1)/4] = [1.25, 1]; logits = GAP·W = [1.25 + 2, −1.25 + 0.5] = [3.25, −0.75]
    // CE(label 0) = log(1 + e^−4) = 0.0181499279; cam = [0, .75; 1, .5]; H↓ = [0, 1; 1, 0]
    // MSE = (0 + .0625 + 0 + .25) / 4 = 0.078125; α = 0.3: L = 0.3·0.0181499 + 0.7·0.078125
    const features = F();
    const headWeight = W();
    const logits = tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, headWeight) as tf.Tensor2D;
    assert.deepEqual(values(logits), [3.25, -0.75]);
    const t = cyborgLoss({
      logits,
      features,
      headWeight,
      labels: tf.tensor1d([0], 'int32'),
      saliency: tf.tensor3d([0, 1, 1, 0], [1, 2, 2]),
      guided: tf.tensor1d([1]),
      alpha: 0.3,
      camClass: 'label',
    });
    close(t.ce.dataSync()[0], 0.01814992791780978);
    close(t.guidance.dataSync()[0], 0.078125);
    close(t.loss.dataSync()[0], 0.3 * 0.01814992791780978 + 0.7 * 0.078125);
  });

  it('images without a usable map add CE only; the MSE is averaged over guided images', () => {
    // two copies of the image above; the second is not guided and its map is nonsense
    const features = tf.concat([F(), F()]);
    const headWeight = W();
    const t = cyborgLoss({
      logits: tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, headWeight) as tf.Tensor2D,
      features,
      headWeight,
      labels: tf.tensor1d([0, 0], 'int32'),
      saliency: tf.tensor3d([0, 1, 1, 0, 9, 9, 9, 9], [2, 2, 2]),
      guided: tf.tensor1d([1, 0]),
      alpha: 0.5,
      camClass: 'label',
    });
    close(t.guidance.dataSync()[0], 0.078125);
    close(t.loss.dataSync()[0], 0.5 * 0.01814992791780978 + 0.5 * 0.078125);
    // no guided image at all: the guidance term is 0, not NaN
    const none = cyborgLoss({
      logits: tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, headWeight) as tf.Tensor2D,
      features,
      headWeight,
      labels: tf.tensor1d([0, 0], 'int32'),
      saliency: tf.zeros([2, 2, 2]) as tf.Tensor3D,
      guided: tf.tensor1d([0, 0]),
      alpha: 0.5,
      camClass: 'label',
    });
    close(none.guidance.dataSync()[0], 0);
  });

  it('human maps are resized bilinearly to the CAM size, then min-max normalised', () => {
    // 4×4 → 2×2 with half-pixel centres samples at 0.5 and 2.5: means of 2×2 blocks here
    const map = Float32Array.from([0, 0, 2, 2, 0, 0, 2, 2, 4, 4, 6, 6, 4, 4, 6, 6]);
    assert.deepEqual(Array.from(saliencyAtCamSize(map, 1, 4, 2)), [0, 1 / 3, 2 / 3, 1].map(Math.fround));
    assert.deepEqual(Array.from(saliencyAtCamSize(new Float32Array(16).fill(0.5), 1, 4, 2)), [0, 0, 0, 0]);
  });

  describe('gradients of CYBORG through small_cnn', () => {
    const N = 4;
    const S = 8;
    let model: Model;
    let x: tf.Tensor4D;
    let labels: tf.Tensor1D;
    let saliency: tf.Tensor3D;
    let guided: tf.Tensor1D;
    const loss = () =>
      tf.tidy(() => {
        const { logits, features } = model.forward(x);
        return cyborgLoss({ logits, features: features!, headWeight: model.headWeight as tf.Tensor2D, labels, saliency, guided, alpha: 0.3, camClass: 'label' }).loss;
      });

    before(() => {
      model = createModel({ arch: 'small_cnn', width: 3, hidden: [], imageSize: S, channels: 1, classes: 3, seed: 5 });
      x = tf.tensor4d(randomNormal(N * S * S, 1), [N, S, S, 1]);
      labels = tf.tensor1d([0, 1, 2, 1], 'int32');
      saliency = tf.tensor3d(Float32Array.from(randomNormal(N * 4, 2), (v) => Math.abs(v) / 3), [N, 2, 2]);
      guided = tf.tensor1d([1, 0, 1, 1]);
    });
    after(() => model.dispose());

    it('match central finite differences (cpu backend)', () => {
      const { grads } = tf.variableGrads(loss, model.params.map((p) => p.variable));
      let checked = 0;
      for (const p of model.params) {
        const g = grads[p.variable.name].dataSync();
        const original = p.variable.dataSync().slice();
        // the largest gradient of each parameter and one more spread-out index
        let big = 0;
        for (let i = 0; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
        for (const i of new Set([big, Math.floor(g.length / 3)])) {
          const eps = 2e-3;
          const at = (d: number) => {
            const v = original.slice();
            v[i] += d;
            p.variable.assign(tf.tensor(v, p.variable.shape));
            return loss().dataSync()[0];
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          p.variable.assign(tf.tensor(original, p.variable.shape));
          assert.ok(Math.abs(fd - g[i]) <= 2e-3 + 3e-2 * Math.abs(g[i]), `${p.name}[${i}]: analytic ${g[i]}, finite difference ${fd}`);
          checked++;
        }
      }
      assert.ok(checked >= 10);
    });

    it('are the same on the wasm backend', async () => {
      const vars = model.params.map((p) => p.variable);
      const ref = tf.variableGrads(loss, vars).grads;
      const refValues = model.params.map((p) => ref[p.variable.name].dataSync());
      await useBackend('wasm');
      try {
        const got = tf.variableGrads(loss, vars).grads;
        model.params.forEach((p, i) => {
          const g = got[p.variable.name].dataSync();
          assert.ok(maxAbsDiff(g, refValues[i]) <= 1e-4 * Math.max(1, maxAbs(refValues[i])), `${p.name}: wasm and cpu differ by ${maxAbsDiff(g, refValues[i])}`);
        });
      } finally {
        await useBackend('cpu');
      }
    });
  });
});
