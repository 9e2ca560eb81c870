/** The tfjs engine's architectures (models.ts): shapes, parameters, seeded initialisation. */
import * as assert from 'node:assert/strict';
import { createModel, parameterCount, type ModelSpec } from '../../server/src/engines/tfjs/models';
import { tf } from '../../server/src/engines/tfjs/tf';
import { useBackend } from './helpers';

const spec = (over: Partial<ModelSpec>): ModelSpec => ({ arch: 'small_cnn', width: 4, hidden: [5, 3], imageSize: 16, channels: 1, classes: 3, seed: 1, ...over });

describe('tfjs models', () => {
  before(() => useBackend('cpu'));

  it('small_cnn: three conv blocks (w, 2w, 4w) with 2×2 pooling between them, GAP and a linear head', () => {
    const m = createModel(spec({ width: 32, imageSize: 28, classes: 10 }));
    try {
      assert.deepEqual(
        m.params.map((p) => `${p.name} ${p.variable.shape.join('×')}`),
        ['conv1.weight 3×3×1×32', 'conv1.bias 32', 'conv2.weight 3×3×32×64', 'conv2.bias 64', 'conv3.weight 3×3×64×128', 'conv3.bias 128', 'head.weight 128×10', 'head.bias 10'],
      );
      // 9·32 + 32 + 9·32·64 + 64 + 9·64·128 + 128 + 128·10 + 10
      assert.equal(parameterCount(m), 93962);
      assert.equal(m.featureSize, 7);
      tf.tidy(() => {
        const out = m.forward(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D);
        assert.deepEqual(out.features!.shape, [2, 7, 7, 128]);
        assert.deepEqual(out.logits.shape, [2, 10]);
      });
      assert.equal(m.headWeight, m.params[6].variable);
    } finally {
      m.dispose();
    }
  });

  it('data.normalize: the model standardises its input per channel before the first layer', () => {
    const normalize = { mean: [0.2, 0.5, 0.7], std: [0.5, 0.25, 2] };
    const plain = createModel(spec({ channels: 3, imageSize: 8 }));
    const normed = createModel(spec({ channels: 3, imageSize: 8, normalize }));
    try {
      tf.tidy(() => {
        const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
        // same seed, same weights: normalised model on x == plain model on (x − mean) / std computed by hand
        const data = x.dataSync();
        const manual = Float32Array.from(data, (v, i) => (v - normalize.mean[i % 3]) / normalize.std[i % 3]);
        const want = plain.forward(tf.tensor4d(manual, [2, 8, 8, 3])).logits.dataSync();
        const got = normed.forward(x).logits.dataSync();
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i] - got[i]) < 1e-5, `logit ${i}: ${got[i]} vs ${want[i]}`);
        // and it is not the identity
        const raw = plain.forward(x).logits.dataSync();
        assert.ok(raw.some((v, i) => Math.abs(v - got[i]) > 1e-3));
      });
      assert.equal(normed.params.length, plain.params.length, 'the statistics are constants, not parameters');
    } finally {
      plain.dispose();
      normed.dispose();
    }
  });

  it('small_cnn floors odd sizes at each pooling', () => {
    const m = createModel(spec({ imageSize: 30 }));
    assert.equal(m.featureSize, 7);
    tf.tidy(() => assert.deepEqual(m.forward(tf.zeros([1, 30, 30, 1]) as tf.Tensor4D).features!.shape, [1, 7, 7, 16]));
    m.dispose();
  });

  it('small_resnet: stem, three one-block stages (stride 1, 2, 2) with 1×1 projection shortcuts', () => {
    const m = createModel(spec({ arch: 'small_resnet', imageSize: 18, channels: 3 }));
    try {
      assert.deepEqual(
        m.params.filter((p) => p.name.endsWith('weight')).map((p) => `${p.name} ${p.variable.shape.join('×')}`),
        [
          'stem.weight 3×3×3×4',
          'stage1.conv1.weight 3×3×4×4',
          'stage1.conv2.weight 3×3×4×4',
          'stage2.conv1.weight 3×3×4×8',
          'stage2.conv2.weight 3×3×8×8',
          'stage2.shortcut.weight 1×1×4×8',
          'stage3.conv1.weight 3×3×8×16',
          'stage3.conv2.weight 3×3×16×16',
          'stage3.shortcut.weight 1×1×8×16',
          'head.weight 16×3',
        ],
      );
      // 18 → 9 → 5 (⌈n/2⌉ with padding 1, as torch's Conv2d(stride=2, padding=1))
      assert.equal(m.featureSize, 5);
      tf.tidy(() => assert.deepEqual(m.forward(tf.zeros([2, 18, 18, 3]) as tf.Tensor4D).features!.shape, [2, 5, 5, 16]));
    } finally {
      m.dispose();
    }
  });

  it('mlp: relu(linear) per hidden size on row-major flattened pixels, then a linear classifier', () => {
    const m = createModel(spec({ arch: 'mlp', imageSize: 2, hidden: [3] }));
    try {
      assert.equal(m.headWeight, undefined);
      assert.equal(m.featureSize, undefined);
      const x = [0.1, 0.2, 0.3, 0.4];
      const [w1, b1, w2, b2] = m.params.map((p) => Array.from(p.variable.dataSync()));
      // hidden_j = relu(Σ_i x_i·W1[i, j] + b1_j); logit_k = Σ_j hidden_j·W2[j, k] + b2_k
      const hidden = [0, 1, 2].map((j) => Math.max(0, x.reduce((s, xi, i) => s + xi * w1[i * 3 + j], 0) + b1[j]));
      const expected = [0, 1, 2].map((k) => hidden.reduce((s, h, j) => s + h * w2[j * 3 + k], 0) + b2[k]);
      const got = tf.tidy(() => Array.from(m.forward(tf.tensor4d(x, [1, 2, 2, 1])).logits.dataSync()));
      got.forEach((g, k) => assert.ok(Math.abs(g - expected[k]) < 1e-6));
    } finally {
      m.dispose();
    }
  });

  it('initialisation is a pure function of the seed (golden values pin the documented scheme)', () => {
    const a = createModel(spec({}));
    const b = createModel(spec({}));
    const c = createModel(spec({ seed: 2 }));
    try {
      a.params.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), b.params[i].variable.dataSync()));
      assert.notDeepEqual(a.params[0].variable.dataSync(), c.params[0].variable.dataSync());
      // createRng(1, 1001), Box–Muller, σ = √(2/9) for conv1 (3×3×1)
      assert.deepEqual(Array.from(a.params[0].variable.dataSync().slice(0, 2)), [0.10358244180679321, 0.35150885581970215]);
      assert.deepEqual(Array.from(a.params[1].variable.dataSync()), [0, 0, 0, 0]);
      // small_resnet draws from the same stream in declaration order: its stem equals small_cnn's conv1
      const r = createModel(spec({ arch: 'small_resnet' }));
      assert.deepEqual(r.params[0].variable.dataSync(), a.params[0].variable.dataSync());
      r.dispose();
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  it('He-normal scales: the empirical spread of a large layer is close to √(2/fan_in)', () => {
    const m = createModel(spec({ width: 32, imageSize: 28, classes: 10 }));
    try {
      const w = Array.from(m.params[4].variable.dataSync()); // conv3: fan_in 9·64
      const mean = w.reduce((s, v) => s + v, 0) / w.length;
      const sd = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
      assert.ok(Math.abs(sd / Math.sqrt(2 / 576) - 1) < 0.02, `sd ${sd}`);
      const head = Array.from(m.params[6].variable.dataSync()); // σ = √(1/128)
      const hsd = Math.sqrt(head.reduce((s, v) => s + v * v, 0) / head.length);
      assert.ok(Math.abs(hsd / Math.sqrt(1 / 128) - 1) < 0.1, `head sd ${hsd}`);
    } finally {
      m.dispose();
    }
  });

  it('rejects architectures it does not implement with a pointer to the torch engine', () => {
    assert.throws(() => createModel(spec({ arch: 'resnet18' as 'mlp' })), /no architecture 'resnet18'.*torch engine/);
  });
});
