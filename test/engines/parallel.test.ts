/**
 * Data parallelism (parallel.ts, step.ts): shard gradients normalised by the whole batch add
 * up to the whole batch's gradient, and the thread / shard arithmetic.
 */
import * as assert from 'node:assert/strict';
import { createModel, type Model } from '../../server/src/engines/tfjs/models';
import { MAX_THREADS, shardBounds, threadCount } from '../../server/src/engines/tfjs/parallel';
import { readWeights, shardGradients, writeWeights, type LossConfig, type ShardInput } from '../../server/src/engines/tfjs/step';
import { tf } from '../../server/src/engines/tfjs/tf';
import { maxAbs, maxAbsDiff, randomNormal, useBackend } from './helpers';

describe('data-parallel training steps', () => {
  before(() => useBackend('cpu'));

  it('splits a batch into contiguous shards of at least 4 images', () => {
    assert.deepEqual(shardBounds(64, 2), [0, 32, 64]);
    assert.deepEqual(shardBounds(7, 2), [0, 7]);
    assert.deepEqual(shardBounds(10, 3), [0, 5, 10]);
    assert.deepEqual(shardBounds(13, 3), [0, 4, 9, 13]);
    assert.deepEqual(shardBounds(3, 4), [0, 3]);
  });

  it('uses the cores for single-threaded backends only, capped, at least 4 images per thread', () => {
    assert.equal(threadCount('tensorflow', 64, {}), 1);
    assert.equal(threadCount('wasm', 64, { SGT_TFJS_THREADS: '3' }), 3);
    assert.equal(threadCount('wasm', 8, { SGT_TFJS_THREADS: '3' }), 2);
    assert.equal(threadCount('cpu', 2, { SGT_TFJS_THREADS: '3' }), 1);
    assert.ok(threadCount('wasm', 64, {}) <= MAX_THREADS);
  });

  describe('shard gradients', () => {
    const N = 10;
    const S = 8;
    let model: Model;
    const input = (from: number, to: number): ShardInput => {
      const images = randomNormal(N * S * S, 4).subarray(from * S * S, to * S * S).slice();
      const saliency = Float32Array.from(randomNormal(N * 4, 5), Math.abs).subarray(from * 4, to * 4).slice();
      return {
        images,
        n: to - from,
        size: S,
        channels: 1,
        labels: Int32Array.from({ length: to - from }, (_, i) => (from + i) % 3),
        saliency,
        camSize: 2,
        guided: Float32Array.from({ length: to - from }, (_, i) => ((from + i) % 4 === 3 ? 0 : 1)),
      };
    };
    before(() => {
      model = createModel({ arch: 'small_cnn', width: 3, hidden: [], imageSize: S, channels: 1, classes: 3, seed: 3 });
    });
    after(() => model.dispose());

    it('a worker step (new weights, shard gradients) leaves no tensor behind', () => {
      const weights = readWeights(model);
      const step = () => {
        writeWeights(model, weights);
        tf.dispose(Object.values(shardGradients(model, { loss: 'cyborg', alpha: 0.5, camClass: 'label' }, input(0, 6), { images: 12, guided: 9 }).grads));
      };
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(readWeights(model), weights);
    });

    for (const loss of ['none', 'cyborg'] as const) {
      it(`add up to the whole batch's (${loss === 'none' ? 'cross-entropy' : 'CYBORG'})`, () => {
        const cfg: LossConfig = { loss, alpha: 0.4, camClass: 'label' };
        const whole = shardGradients(model, cfg, input(0, N));
        const norm = { images: N, guided: Array.from(input(0, N).guided).reduce((a, b) => a + b, 0) };
        const parts = [shardGradients(model, cfg, input(0, 4), norm), shardGradients(model, cfg, input(4, N), norm)];
        const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-5, `${a} ≠ ${b}`);
        close(parts[0].loss + parts[1].loss, whole.loss);
        close(parts[0].ce + parts[1].ce, whole.ce);
        close(parts[0].guidance + parts[1].guidance, whole.guidance);
        assert.equal(parts[0].correct + parts[1].correct, whole.correct);
        for (const p of model.params) {
          const sum = tf.tidy(() => tf.add(parts[0].grads[p.variable.name], parts[1].grads[p.variable.name]).dataSync());
          const ref = whole.grads[p.variable.name].dataSync();
          assert.ok(maxAbsDiff(sum, ref) <= 1e-5 * Math.max(1, maxAbs(ref)), `${p.name} differs by ${maxAbsDiff(sum, ref)}`);
        }
        for (const r of [whole, ...parts]) tf.dispose(Object.values(r.grads));
      });
    }
  });
});
