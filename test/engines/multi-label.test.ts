/**
 * Multi-label training in the tfjs engine (multi-label.ts, multi-label-eval.ts) by hand: BCE,
 * exact match, micro F1, sklearn's step-wise average precision and mAP, log σ's second
 * derivative, Rao's class masks and the guided-image rule; data-parallel shards add up to the
 * whole batch. The engines' agreement is test/engines/torch/conformance-guidance.test.ts.
 */
import * as assert from 'node:assert/strict';
import type { ImageSet } from '../../server/src/data/image-set';
import { createModel } from '../../server/src/engines/tfjs/models';
import { averagePrecision, f1Micro, meanAveragePrecision } from '../../server/src/engines/tfjs/multi-label-eval';
import { bcePerImage, classMasks, exactMatches, logSigmoid, MultiLabelTargets } from '../../server/src/engines/tfjs/multi-label';
import { shardGradients, type LossConfig, type ShardInput } from '../../server/src/engines/tfjs/step';
import { tf } from '../../server/src/engines/tfjs/tf';
import { maxAbs, maxAbsDiff, randomNormal, useBackend } from './helpers';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('tfjs engine: multi-label data', () => {
  before(() => useBackend('cpu'));

  it('BCE with logits: the mean over classes, stable for large logits', () => {
    const bce = tf.tidy(() => Array.from(bcePerImage(tf.tensor2d([0, 2, 100, -100], [2, 2]), tf.tensor2d([1, 0, 1, 1], [2, 2])).dataSync()));
    // (log 2 + log(1 + e²)) / 2, then (≈0 + 100) / 2
    close(bce[0], (Math.log(2) + Math.log(1 + Math.exp(2))) / 2);
    close(bce[1], 50, 1e-4);
  });

  it('exact match: every class on the right side of 0.5', () => {
    assert.equal(exactMatches([1, -1, 1, 1, -0.5, 2], [1, 0, 1, 0, 0, 1], 3, 2), 2);
    assert.equal(exactMatches([0, -1], [1, 0], 1, 2), 0); // σ(0) = 0.5 is not above 0.5
  });

  it('micro F1 over all (image, class) decisions; NaN with nothing to count', () => {
    // TP 2, FP 1, FN 1: 4 / 6
    close(f1Micro([1, 1, 0, 0, 1, 0], [1, 0, 1, 0, 1, 0]), 2 / 3);
    close(f1Micro([1, 1], [1, 1]), 1);
    assert.ok(Number.isNaN(f1Micro([0, 0], [0, 0])));
  });

  it("average precision as sklearn's average_precision_score (ties are one threshold), mAP over present classes", () => {
    // sklearn's documented example: 0.8333…
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 5 / 6);
    // a tie of a positive and a negative at 0.5: P = 1/2 at R = 1/2, then P = 2/3 at R = 1
    close(averagePrecision([0.5, 0.5, 0.2], [1, 0, 1]), 0.5 * 0.5 + 0.5 * (2 / 3));
    assert.ok(Number.isNaN(averagePrecision([0.3, 0.2], [0, 0])));
    // 3 images × 3 classes: class 0 scores (0.9, 0.2, 0.6) with positives images 0 and 1: AP
    // = ½·1 + ½·⅔; class 1 has no positive (left out); class 2 scores (0.8, 0.3, 0.5), its
    // positive (image 1) ranked 3rd: AP = ⅓
    const scores = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5];
    const truth = [1, 0, 0, 1, 0, 1, 0, 0, 0];
    close(meanAveragePrecision(scores, truth, 3, 3), (5 / 6 + 1 / 3) / 2);
    close(meanAveragePrecision([0.9, 0.1, 0.2, 0.7], [1, 0, 0, 0], 2, 2), 1);
  });

  it('log σ has the right first and second derivatives (RRR differentiates its input gradient)', () => {
    const xs = [-3, -0.5, 0, 0.7, 4];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const [value, d1, d2] = tf.tidy(() => {
      const x = tf.tensor2d(xs, [1, 5]);
      const f = (t: tf.Tensor) => tf.sum(logSigmoid(t as tf.Tensor2D));
      const g = tf.grad(f);
      const h = tf.grad((t: tf.Tensor) => tf.sum(g(t)));
      return [logSigmoid(x).dataSync(), g(x).dataSync(), h(x).dataSync()];
    });
    xs.forEach((v, i) => {
      close(value[i], Math.log(sig(v)), 1e-6);
      close(d1[i], sig(-v), 1e-6);
      close(d2[i], -sig(v) * sig(-v), 1e-6);
    });
  });

  it("builds the target class's mask from its boxes (Rao's rule), or from the human map; guides annotated images with a box of their target", () => {
    const size = 4;
    const boxes = [
      [
        { cls: 0, x0: 0, y0: 0, x1: 2, y1: 1 },
        { cls: 1, x0: 3, y0: 3, x1: 4, y1: 4 },
        { cls: 0, x0: 1, y0: 0, x1: 3, y1: 2 },
      ],
      [{ cls: 1, x0: 0, y0: 0, x1: 4, y1: 4 }],
      [],
    ];
    const set = { size, boxes, saliency: new Float32Array(3 * 16), hasSaliency: Uint8Array.from([1, 1, 0]) };
    const { masks, has } = classMasks(set, [0, 0, 1, 2], [0, 1, 0, 1]);
    assert.deepEqual(Array.from(masks.subarray(0, 16)), [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(masks.subarray(16, 32)), [...Array(15).fill(0), 1]);
    assert.deepEqual(Array.from(masks.subarray(32)), Array(32).fill(0));
    assert.deepEqual(Array.from(has), [1, 1, 0, 0]);
    // saliency maps instead of boxes: {H > 0} for every class, has = the image has a map
    const maps = { size: 2, saliency: Float32Array.from([0, 0.2, 0.5, 0, 0, 0, 0, 0]), hasSaliency: Uint8Array.from([1, 0]) };
    const m = classMasks(maps, [0, 1], [1, 0]);
    assert.deepEqual(Array.from(m.masks), [0, 1, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(m.has), [1, 0]);

    // 4 images, 2 classes: image 0 has both labels (boxes of class 0 only), 1 class 1, 2 none, 3 class 0 (not annotated)
    const train = { count: 4, size, multiLabels: Uint8Array.from([1, 1, 0, 1, 0, 0, 1, 0]), boxes: [[boxes[0][0]], boxes[1], [], [boxes[0][0]]], saliency: new Float32Array(64) } as unknown as ImageSet;
    const targets = new MultiLabelTargets(train, 2, 7, Uint8Array.from([1, 1, 1, 0]));
    for (let e = 0; e < 6; e++) {
      targets.setEpoch(e);
      const t = targets.targetsOf([0, 1, 2, 3]);
      const { guided } = targets.guidance([0, 1, 2, 3]);
      // image 0 is guided exactly when its target (drawn among its 2 labels) is class 0, the one with a box
      assert.deepEqual(Array.from(guided), [t[0] === 0 ? 1 : 0, 1, 0, 0], `epoch ${e}: targets ${Array.from(t)}`);
      assert.equal(t[1], 1);
    }
  });

  it('data-parallel shards (normalised by the whole batch) add up to the whole batch, guided counts included', () => {
    const N = 8;
    const S = 8;
    const K = 3;
    const model = createModel({ arch: 'small_cnn', width: 4, hidden: [], imageSize: S, channels: 1, classes: K, seed: 5 });
    try {
      const images = Float32Array.from(randomNormal(N * S * S, 11), Math.abs);
      const multi = Float32Array.from({ length: N * K }, (_, j) => (j % 4 === 0 || j % 5 === 1 ? 1 : 0));
      const targets = Int32Array.from({ length: N }, (_, i) => i % K);
      const masks = Float32Array.from(randomNormal(N * S * S, 12), (v) => (v > 0 ? 1 : 0));
      const guided = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 0 : 1));
      const shard = (from: number, to: number): ShardInput => ({
        images: images.slice(from * S * S, to * S * S),
        n: to - from,
        size: S,
        channels: 1,
        labels: new Int32Array(to - from),
        guided: guided.slice(from, to),
        human: masks.slice(from * S * S, to * S * S),
        multiLabels: multi.slice(from * K, to * K),
        targets: targets.slice(from, to),
      });
      for (const loss of ['cyborg', 'energy', 'rrr'] as const) {
        const config: LossConfig = { loss, alpha: 0.6, camClass: 'label', attribution: loss === 'energy' ? 'gradcam' : 'cam', layer: 'final', lambda: 0.8 };
        const whole = shardGradients(model, config, shard(0, N));
        const norm = { images: N, guided: guided.reduce((a, b) => a + b, 0) };
        const parts = [shardGradients(model, config, shard(0, 3), norm), shardGradients(model, config, shard(3, N), norm)];
        for (const k of ['loss', 'ce', 'guidance'] as const) close(parts[0][k] + parts[1][k], whole[k], 1e-5);
        assert.ok(whole.guidance > 0, loss);
        assert.equal(parts[0].correct + parts[1].correct, whole.correct);
        for (const p of model.params) {
          const name = p.variable.name;
          const sum = tf.tidy(() => tf.add(parts[0].grads[name], parts[1].grads[name]).dataSync());
          const w = whole.grads[name].dataSync();
          assert.ok(maxAbsDiff(sum, w) <= 1e-5 * Math.max(1, maxAbs(w)), `${loss} ${p.name}`);
        }
        for (const r of [whole, ...parts]) tf.dispose(Object.values(r.grads));
      }
    } finally {
      model.dispose();
    }
  });
});
