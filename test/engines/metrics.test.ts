/** Evaluation metrics (metrics.ts) on values worked out by hand. */
import * as assert from 'node:assert/strict';
import { accuracy, argmaxRows, pearson, rocAuc, SaliencyAgreementAccumulator } from '../../server/src/engines/tfjs/metrics';

const close = (actual: number, expected: number, tol = 1e-9) => assert.ok(Math.abs(actual - expected) <= tol, `${actual} ≠ ${expected}`);

describe('metrics', () => {
  it('accuracy compares arg-max predictions with labels', () => {
    const predicted = argmaxRows([0.1, 0.9, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4], 4, 2);
    assert.deepEqual(Array.from(predicted), [1, 0, 1, 0]);
    assert.equal(accuracy(predicted, [1, 1, 1, 0]), 0.75);
    assert.ok(Number.isNaN(accuracy([], [])));
  });

  describe('ROC AUC', () => {
    it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when every score ties', () => {
      assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
      assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
      assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
    });

    it('counts each positive–negative pair, ties as one half', () => {
      // positives 0.8, 0.4, 0.4; negatives 0.4, 0.1 → pairs (p > n): 0.8>0.4 ✓, 0.8>0.1 ✓, 0.4=0.4 ½, 0.4>0.1 ✓, 0.4=0.4 ½, 0.4>0.1 ✓
      // = (1 + 1 + ½ + 1 + ½ + 1) / 6 = 5/6
      close(rocAuc([0.8, 0.4, 0.4, 0.4, 0.1], [1, 1, 1, 0, 0]), 5 / 6);
      // positives 0.3, 0.6; negatives 0.2, 0.5, 0.7 → 0.3 beats 0.2 (1); 0.6 beats 0.2, 0.5 (2) → 3/6
      close(rocAuc([0.2, 0.3, 0.5, 0.6, 0.7], [false, true, false, true, false]), 0.5);
    });

    it('is NaN when a class is missing', () => {
      assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
      assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [0, 0])));
    });
  });

  it('Pearson correlation, undefined for a constant input', () => {
    close(pearson([1, 2, 3], [2, 4, 6])!, 1);
    close(pearson([1, 2, 3], [3, 2, 1])!, -1);
    // a = [1, 2, 3, 4], b = [1, 3, 2, 4]: deviations [−1.5, −.5, .5, 1.5], [−1.5, .5, −.5, 1.5]
    // Σab = 2.25 − .25 − .25 + 2.25 = 4, Σa² = Σb² = 5 → r = 0.8
    close(pearson([1, 2, 3, 4], [1, 3, 2, 4])!, 0.8);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), undefined);
  });

  it('saliency agreement upsamples the CAM, normalises the human map and averages per image', () => {
    const acc = new SaliencyAgreementAccumulator(1, 2);
    // a 1×1 CAM upsampled to 2×2 is constant: [v, v, v, v]
    // image 1: cam 0.5, human [0, 2, 2, 0] → normalised [0, 1, 1, 0]: MSE = 4·0.25/4 = 0.25; correlation undefined
    acc.add(Float32Array.of(0.5), Float32Array.of(0, 2, 2, 0));
    // image 2: cam 1, human flat [3, 3, 3, 3] → zeros: MSE 1; correlation undefined
    acc.add(Float32Array.of(1), Float32Array.of(3, 3, 3, 3));
    const r = acc.result();
    close(r.mse, (0.25 + 1) / 2);
    assert.ok(Number.isNaN(r.corr));
    assert.equal(r.images, 2);

    const acc2 = new SaliencyAgreementAccumulator(2, 2);
    // same size: no resampling. cam [0, 1, 0.5, 0] vs human [0, 4, 2, 0] → [0, 1, .5, 0]: MSE 0, r = 1
    acc2.add(Float32Array.of(0, 1, 0.5, 0), Float32Array.of(0, 4, 2, 0));
    // cam [1, 0, 0, 1] vs human [0, 1, 1, 0]: MSE 1, r = −1
    acc2.add(Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 1, 1, 0));
    close(acc2.result().mse, 0.5);
    close(acc2.result().corr, 0);
  });
});
