/** Parts of the training loop: config, annotated subset, optimizers, schedules, checkpoints, overlays. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { createRunDir, RunWriter } from '../../server/src/runs/run-dir';
import { readLastPointer, restoreCheckpoint, saveCheckpoint, CheckpointError } from '../../server/src/engines/tfjs/checkpoint';
import { ConfigError, parseConfig, type EngineConfig } from '../../server/src/engines/tfjs/config';
import { guidedImages } from '../../server/src/engines/tfjs/data';
import { createModel, type Param } from '../../server/src/engines/tfjs/models';
import { createOptimizer, learningRate } from '../../server/src/engines/tfjs/optimizer';
import { renderOverlay } from '../../server/src/engines/tfjs/overlay';
import { colormap } from '../../server/src/runs/colormap';
import { tf } from '../../server/src/engines/tfjs/tf';
import type { ImageSet } from '../../server/src/data/image-set';
import { useBackend } from './helpers';

const RESOLVED = {
  name: 'decoy_cyborg',
  extends: ['decoy_ce'],
  seed: 1,
  data: { source: { type: 'builtin', name: 'decoy-mnist' }, image_size: 28, annotated: 1, annotation: 'saliency', val_split: 0.1 },
  model: { arch: 'small_cnn', width: 32 },
  guidance: { loss: 'cyborg', alpha: 0.5, attribution: 'cam', layer: 'final', cam_class: 'label', missing_saliency: 'skip' },
  train: {
    epochs: 5,
    batch: 64,
    optimizer: { type: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, weight_decay: 0 },
    schedule: { type: 'constant' },
    engine: 'auto',
    backend: 'auto',
    checkpoint: 'best',
  },
  preview: { every: { value: 50, unit: 'steps' }, samples: 8 },
  evaluate: { sets: ['val', 'test'], metrics: ['accuracy', 'saliency_mse', 'saliency_corr'] },
  baseDir: '/somewhere/examples',
};
const withOverride = (patch: (r: typeof RESOLVED & Record<string, unknown>) => void) => {
  const r = JSON.parse(JSON.stringify(RESOLVED));
  patch(r);
  return r;
};
const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

describe('tfjs training parts', () => {
  before(() => useBackend('cpu'));

  describe('config', () => {
    it('reads resolved.json into the engine config', () => {
      const c = parseConfig(RESOLVED, '/runs/x');
      assert.equal(c.baseDir, '/somewhere/examples');
      assert.deepEqual(c.data.source, { type: 'builtin', name: 'decoy-mnist' });
      assert.deepEqual(c.guidance, { loss: 'cyborg', alpha: 0.5, camClass: 'label', missingSaliency: 'skip', attribution: 'cam', layer: 'final', lambda: 1, irrelevant: 'unannotated' });
      // every guidance loss, attribution and layer of the schema; RRR's λ defaults to 1000
      const rrr = parseConfig(withOverride((r) => Object.assign(r.guidance, { loss: 'rrr', irrelevant: 'shortcut' })), '/r').guidance;
      assert.equal(rrr.lambda, 1000);
      assert.equal(rrr.irrelevant, 'shortcut');
      assert.equal(parseConfig(withOverride((r) => Object.assign(r.guidance, { loss: 'energy', attribution: 'gradcam', layer: 'mid', lambda: 5 })), '/r').guidance.lambda, 5);
      assert.deepEqual(c.train.optimizer, { type: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, weightDecay: 0 });
      assert.deepEqual(c.preview, { every: 50, unit: 'steps', samples: 8 });
    });

    it('rejects what the tfjs engine cannot train, saying what to change', () => {
      assert.throws(() => parseConfig(withOverride((r) => (r.guidance.loss = 'gradient')), '/r'), (e: Error) => e instanceof ConfigError && /guidance\.loss = gradient is not supported by the tfjs engine \(it supports none, cyborg, energy, l1, ppce, rrr_star, rrr\)/.test(e.message));
      assert.throws(() => parseConfig(withOverride((r) => Object.assign(r.guidance, { attribution: 'gradcam', layer: 'input' })), '/r'), /gradcam at layer = input has no channels/);
      assert.throws(() => parseConfig(withOverride((r) => Object.assign(r.guidance, { attribution: 'cam', layer: 'mid' })), '/r'), /cam is defined at layer = final only/);
      assert.throws(() => parseConfig(withOverride((r) => Object.assign(r.model, { arch: 'mlp' }) && Object.assign(r.guidance, { loss: 'l1', attribution: 'ixg', layer: 'mid' })), '/r'), /no spatial layout/);
      assert.throws(() => parseConfig(withOverride((r) => (r.model.arch = 'mlp')), '/r'), /mlp has not/);
      assert.throws(() => parseConfig(withOverride((r) => (r.model.arch = 'resnet50')), '/r'), /model\.arch = resnet50/);
      assert.throws(() => parseConfig(withOverride((r) => (r.data.annotation = 'boxes')), '/r'), /annotation = boxes/);
      assert.throws(() => parseConfig({ data: 3 }, '/r'), /data must be an object/);
    });
  });

  describe('annotated subset', () => {
    const set = (n: number, has?: number[]): ImageSet => ({
      images: new Float32Array(n),
      channels: 1,
      labels: new Int32Array(n),
      saliency: new Float32Array(n),
      size: 1,
      count: n,
      decoyMask: new Uint8Array(n),
      decoyShade: new Float32Array(n),
      hasSaliency: has ? Uint8Array.from(has) : undefined,
    });

    it('keeps floor(f·N) images chosen by seed', () => {
      const a = guidedImages(set(10), 0.55, 3, 'skip');
      assert.equal(a.annotatedCount, 5);
      assert.equal(a.guided.reduce((s, v) => s + v, 0), 5);
      assert.deepEqual(guidedImages(set(10), 0.55, 3, 'skip').guided, a.guided);
      assert.notDeepEqual(guidedImages(set(10), 0.55, 4, 'skip').guided, a.guided);
      assert.equal(guidedImages(set(10), 1, 3, 'skip').annotatedCount, 10);
      assert.equal(guidedImages(set(10), 0, 3, 'skip').annotatedCount, 0);
    });

    it('images without a map are never guided, unless missing_saliency = zeros guides them all', () => {
      const s = set(4, [1, 0, 1, 0]);
      assert.deepEqual(Array.from(guidedImages(s, 1, 1, 'skip').guided), [1, 0, 1, 0]);
      assert.deepEqual(Array.from(guidedImages(s, 0.25, 1, 'zeros').guided), [1, 1, 1, 1]);
    });
  });

  describe('optimizers (PyTorch update rules)', () => {
    const run = (config: EngineConfig['train']['optimizer'], steps: number) => {
      const v = tf.variable(tf.tensor1d([1, -2]));
      const params: Param[] = [{ name: 'theta', variable: v }];
      const opt = createOptimizer(config, params);
      for (let i = 0; i < steps; i++) opt.apply({ [v.name]: tf.tensor1d([0.5, 1]) }, config.lr);
      const out = Array.from(v.dataSync());
      opt.dispose();
      v.dispose();
      return out;
    };

    it('SGD with momentum and weight decay', () => {
      // step 1: g = [.5, 1] + .01·[1, −2] = [.51, .98]; b = g; θ = [1 − .051, −2 − .098] = [.949, −2.098]
      // step 2: g = [.5 + .00949, 1 − .02098] = [.50949, .97902]; b = .9·[.51, .98] + g = [.96849, 1.86102]
      //         θ = [.949 − .096849, −2.098 − .186102] = [.852151, −2.284102]
      const sgd = { type: 'sgd' as const, lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
      run(sgd, 1).forEach((x, i) => close(x, [0.949, -2.098][i]));
      run(sgd, 2).forEach((x, i) => close(x, [0.852151, -2.284102][i]));
    });

    it('Adam with bias correction', () => {
      // a constant gradient g: m̂ = g and v̂ = g² at every step, so each step moves θ by lr·sign(g)
      // (up to ε = 1e-8): step 2 checks the corrections, m = .095, m̂ = .095 / .19 = .5; v̂ = .00049975 / .001999 = .25
      const adam = { type: 'adam' as const, lr: 0.1, beta1: 0.9, beta2: 0.999, weightDecay: 0 };
      run(adam, 1).forEach((x, i) => close(x, [0.9, -2.1][i]));
      run(adam, 2).forEach((x, i) => close(x, [0.8, -2.2][i]));
    });
  });

  it('learning-rate schedules', () => {
    const train = (schedule: EngineConfig['train']['schedule']) => ({ ...parseConfig(RESOLVED, '/r').train, schedule });
    assert.equal(learningRate(train({ type: 'constant' }), 7, 100, 500), 0.001);
    const step = train({ type: 'step', every: 2, gamma: 0.1 });
    assert.deepEqual([0, 1, 2, 3, 4].map((e) => +learningRate(step, e, 0, 1).toPrecision(6)), [0.001, 0.001, 0.0001, 0.0001, 0.00001]);
    const cos = train({ type: 'cosine' });
    close(learningRate(cos, 0, 0, 100), 0.001, 1e-12);
    close(learningRate(cos, 0, 50, 100), 0.0005, 1e-12);
    close(learningRate(cos, 0, 100, 100), 0, 1e-12);
  });

  describe('checkpoints', () => {
    let runsDir: string;
    beforeEach(() => {
      runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-ckpt-'));
    });
    afterEach(() => fs.rmSync(runsDir, { recursive: true, force: true }));

    const spec = { arch: 'small_cnn' as const, width: 2, hidden: [], imageSize: 8, channels: 1, classes: 3, seed: 1 };
    const last = (epoch: number, best: { epoch: number; step: number; score: number; manifest: string } | null) => ({
      epoch,
      step: epoch * 10,
      optimizer: { type: 'adam', t: epoch * 10 },
      rng: { seed: 1, shuffleStreamBase: 2000, nextEpoch: epoch },
      best,
      history: [],
      seconds: { train: 1, eval: 1, trainImages: 10 },
    });

    it('round-trips weights and optimizer state exactly, keeps only the last and best, and writes pointers', () => {
      const dir = createRunDir(runsDir, 'x', '', {});
      const writer = new RunWriter(dir);
      const model = createModel(spec);
      const opt = createOptimizer({ type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: 0 }, model.params);
      const grads = Object.fromEntries(model.params.map((p) => [p.variable.name, tf.onesLike(p.variable)]));
      opt.apply(grads, 0.01);
      const best = { epoch: 1, step: 10, score: 0.5, manifest: '' };
      assert.equal(saveCheckpoint(writer, model, opt, last(1, best), true), 'checkpoints/epoch-0001.json');
      opt.apply(grads, 0.01);
      saveCheckpoint(writer, model, opt, last(2, { ...best, manifest: 'epoch-0001.json' }), false);
      opt.apply(grads, 0.01);
      saveCheckpoint(writer, model, opt, last(3, { ...best, manifest: 'epoch-0001.json' }), false);
      writer.close();
      assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')).sort(), ['best.json', 'epoch-0001.bin', 'epoch-0001.json', 'epoch-0003.bin', 'epoch-0003.json', 'last.json']);
      const pointer = readLastPointer(dir)!;
      assert.equal(pointer.epoch, 3);
      assert.equal(pointer.manifest, 'epoch-0003.json');
      assert.equal(pointer.best?.manifest, 'epoch-0001.json');

      const fresh = createModel({ ...spec, seed: 9 });
      const freshOpt = createOptimizer({ type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: 0 }, fresh.params);
      const tensors = tf.memory().numTensors;
      restoreCheckpoint(dir, pointer.manifest, fresh, freshOpt);
      assert.equal(tf.memory().numTensors, tensors, 'restoring leaves no temporary tensor');
      fresh.params.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), model.params[i].variable.dataSync()));
      freshOpt.state.slots.forEach((s, i) => assert.deepEqual(s.variable.dataSync(), opt.state.slots[i].variable.dataSync()));

      const other = createModel({ ...spec, width: 3 });
      assert.throws(() => restoreCheckpoint(dir, pointer.manifest, other), (e: Error) => e instanceof CheckpointError && /conv1\.weight has shape 3×3×1×2, the model needs 3×3×1×3/.test(e.message));
      [model, fresh, other].forEach((m) => m.dispose());
      opt.dispose();
      freshOpt.dispose();
    });

    it('a run without checkpoints has no pointer', () => {
      assert.equal(readLastPointer(createRunDir(runsDir, 'y', '', {})), undefined);
    });
  });

  describe('overlays', () => {
    it('the CAM colour is THE overlay colour map (jet, the one the dashboard legend draws)', () => {
      const size = 8;
      // a CAM ramp 0 → 1 along the row, at image size: the third panel's pixels are blend(gray, colormap(cam))
      const cam = Float32Array.from({ length: size * size }, (_, i) => (i % size) / (size - 1));
      const png = PNG.sync.read(Buffer.from(renderOverlay({ image: new Float32Array(size * size), channels: 1, size, cam, camSize: size })));
      const panel = 112;
      for (let x = 0; x < size; x++) {
        const px = 2 * (panel + 2) + x * (panel / size);
        const got = Array.from(png.data.subarray(px * 4, px * 4 + 3));
        assert.deepEqual(got, colormap(x / (size - 1)).map((c) => Math.round(0.5 * c)), `column ${x}`);
      }
      assert.deepEqual(colormap(0), [0, 0, 128]);
      assert.deepEqual(colormap(1), [128, 0, 0]);
    });

    it('renders image | human map | CAM blend, each panel upscaled to at least 112 px', () => {
      const size = 28;
      const image = new Float32Array(size * size).fill(0.5);
      const human = new Float32Array(size * size);
      human[0] = 2; // normalised to 1 at (0, 0)
      const cam = Float32Array.from({ length: 49 }, (_, i) => (i === 48 ? 1 : 0));
      const png = PNG.sync.read(Buffer.from(renderOverlay({ image, channels: 1, size, human, cam, camSize: 7 })));
      assert.equal(png.height, 112);
      assert.equal(png.width, 3 * 112 + 2 * 2);
      const at = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));
      assert.deepEqual(at(5, 5), [128, 128, 128, 255]); // the image
      assert.deepEqual(at(112, 5), [32, 32, 32, 255]); // the gap
      assert.deepEqual(at(114, 0), [255, 255, 255, 255]); // human map maximum, top-left
      assert.deepEqual(at(114 + 50, 50), [0, 0, 0, 255]);
      const [r, g, b] = colormap(1);
      assert.deepEqual(at(png.width - 1, 111), [Math.round(0.5 * 128 + 0.5 * r), Math.round(0.5 * 128 + 0.5 * g), Math.round(0.5 * 128 + 0.5 * b), 255]);
    });
  });
});
