/**
 * Engine conformance: the torch engine computes what the tfjs engine computes. Same seed →
 * same random streams and the same initial weights; tfjs weights loaded into torch and the
 * same batch → the same logits, CAM, cross-entropy, CYBORG loss and gradients (1e-4); the
 * same saliency targets, metrics, learning rates and overlay pixels.
 *
 * TypeScript computes with the tfjs engine's modules (cpu backend), Python with sgt_torch
 * (conformance.py, one process for all tasks); they exchange .npy files.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { createRng } from '../../../server/src/data/rng';
import { readNpy, writeNpy, type NpyArray } from '../../../server/src/data/npy';
import { camTargets, normalizedCam, saliencyAtCamSize } from '../../../server/src/engines/tfjs/cam';
import { crossEntropyLoss, cyborgLoss } from '../../../server/src/engines/tfjs/losses';
import { rocAuc, SaliencyAgreementAccumulator } from '../../../server/src/engines/tfjs/metrics';
import { createModel, type Arch, type Model } from '../../../server/src/engines/tfjs/models';
import { learningRate } from '../../../server/src/engines/tfjs/optimizer';
import { renderOverlay } from '../../../server/src/engines/tfjs/overlay';
import { tf } from '../../../server/src/engines/tfjs/tf';
import { maxAbsDiff, randomNormal, useBackend } from '../helpers';
import { requireTorch, runPython, scratch } from './helpers';

interface Task {
  kind: string;
  id: string;
  [key: string]: unknown;
}

const TOL = 1e-4;

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

function uniform(count: number, seed: number): Float32Array {
  const rng = createRng(seed, 7);
  return Float32Array.from({ length: count }, () => rng.float());
}

describe('torch engine conformance with the tfjs engine', function () {
  this.timeout(180_000);
  let python = '';
  let dir = '';
  const tasks: Task[] = [];
  let results: Record<string, unknown> = {};
  const checks: (() => void)[] = [];
  const models: Model[] = [];
  const put = (name: string, values: NpyArray, shape: number[]) => writeNpy(path.join(dir, name), values, shape);
  const get = (name: string) => readNpy(path.join(dir, name)).values;

  before(async function () {
    python = requireTorch(this).python;
    await useBackend('cpu');
    dir = scratch('conformance');
  });

  after(() => {
    models.forEach((m) => m.dispose());
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Tasks are collected first and computed by one Python process, then each `it` checks its part.
  before(function () {
    if (!python) this.skip();
    // rng
    for (const [seed, stream] of [[0, 0], [1, 1001], [2 ** 40 + 3, 2003], [-5, 1002]]) tasks.push({ kind: 'rng', id: `rng-${seed}-${stream}`, seed, stream, n: 50 });
    // init
    const inits: { arch: Arch; width: number; hidden: number[]; size: number; channels: number; classes: number; seed: number }[] = [
      { arch: 'small_cnn', width: 8, hidden: [], size: 28, channels: 1, classes: 10, seed: 1 },
      { arch: 'small_resnet', width: 4, hidden: [], size: 16, channels: 3, classes: 2, seed: 7 },
      { arch: 'mlp', width: 0, hidden: [20, 10], size: 8, channels: 1, classes: 3, seed: 3 },
    ];
    for (const s of inits) tasks.push({ kind: 'init', id: `init-${s.arch}`, ...s });
    // one training step's forward/backward, with weights that are not the initial ones
    const stepCases = [
      { id: 'step-cnn-cyborg', arch: 'small_cnn' as Arch, width: 4, size: 28, channels: 1, classes: 10, loss: 'cyborg', camClass: 'label', alpha: 0.5 },
      { id: 'step-cnn-pred', arch: 'small_cnn' as Arch, width: 4, size: 20, channels: 3, classes: 4, loss: 'cyborg', camClass: 'predicted', alpha: 0.3 },
      { id: 'step-resnet-cyborg', arch: 'small_resnet' as Arch, width: 4, size: 15, channels: 1, classes: 3, loss: 'cyborg', camClass: 'label', alpha: 0.7 },
      { id: 'step-mlp-ce', arch: 'mlp' as Arch, width: 0, size: 8, channels: 1, classes: 5, loss: 'none', camClass: 'label', alpha: 1 },
    ];
    for (const c of stepCases) {
      const model = createModel({ arch: c.arch, width: c.width, hidden: [12, 6], imageSize: c.size, channels: c.channels, classes: c.classes, seed: 11 });
      models.push(model);
      // perturb: the comparison must not depend on the shared initialisation
      model.params.forEach((p, i) => tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.tensor(randomNormal(p.variable.size, 100 + i, 0.05), p.variable.shape)))));
      const n = 6;
      const x = uniform(n * c.size * c.size * c.channels, 5);
      const labels = Int32Array.from({ length: n }, (_, i) => i % c.classes);
      const guided = Float32Array.from({ length: n }, (_, i) => (i === 2 ? 0 : 1));
      for (const p of model.params) put(`${c.id}-w-${p.name}.npy`, p.variable.dataSync() as Float32Array, p.variable.shape);
      put(`${c.id}-x.npy`, x, [n, c.size, c.size, c.channels]);
      put(`${c.id}-labels.npy`, labels, [n]);
      const camSize = model.featureSize;
      let saliency: Float32Array | undefined;
      if (c.loss === 'cyborg' && camSize) {
        saliency = saliencyAtCamSize(uniform(n * c.size * c.size, 9), n, c.size, camSize);
        put(`${c.id}-saliency.npy`, saliency, [n, camSize, camSize]);
        put(`${c.id}-guided.npy`, guided, [n]);
      }
      tasks.push({ kind: 'step', id: c.id, arch: c.arch, width: c.width, hidden: [12, 6], size: c.size, channels: c.channels, classes: c.classes, loss: c.loss, camClass: c.camClass, alpha: c.alpha, names: model.params.map((p) => p.name) });
      const expected = tf.tidy(() => {
        const xs = tf.tensor4d(x, [n, c.size, c.size, c.channels]);
        const ls = tf.tensor1d(labels, 'int32');
        let out: { logits: tf.Tensor2D; cam?: tf.Tensor3D; loss: number; ce: number; guidance: number } | undefined;
        const { grads } = tf.variableGrads(() => {
          const f = model.forward(xs);
          const terms =
            saliency && camSize && f.features
              ? cyborgLoss({ logits: f.logits, features: f.features, headWeight: model.headWeight as tf.Tensor2D, labels: ls, saliency: tf.tensor3d(saliency, [n, camSize, camSize]), guided: tf.tensor1d(guided), alpha: c.alpha, camClass: c.camClass as 'label' | 'predicted' })
              : crossEntropyLoss(f.logits, ls);
          out = {
            logits: tf.keep(f.logits),
            cam: f.features ? tf.keep(normalizedCam(f.features, model.headWeight as tf.Tensor2D, camTargets(f.logits, ls, c.camClass as 'label' | 'predicted'))) : undefined,
            loss: terms.loss.dataSync()[0],
            ce: terms.ce.dataSync()[0],
            guidance: terms.guidance.dataSync()[0],
          };
          return terms.loss;
        }, model.params.map((p) => p.variable));
        const g = Object.fromEntries(model.params.map((p) => [p.name, grads[p.variable.name].dataSync() as Float32Array]));
        return { ...out!, logits: out!.logits.dataSync() as Float32Array, cam: out!.cam?.dataSync() as Float32Array | undefined, grads: g };
      });
      checks.push(() => {
        const r = results[c.id] as { loss: number; ce: number; guidance: number };
        assert.ok(relDiff(get(`${c.id}-logits.npy`), expected.logits) < TOL, `${c.id}: logits differ`);
        assert.ok(Math.abs(r.ce - expected.ce) < TOL, `${c.id}: CE ${r.ce} vs ${expected.ce}`);
        assert.ok(Math.abs(r.loss - expected.loss) < TOL, `${c.id}: loss ${r.loss} vs ${expected.loss}`);
        assert.ok(Math.abs(r.guidance - expected.guidance) < TOL, `${c.id}: guidance ${r.guidance} vs ${expected.guidance}`);
        if (c.loss === 'cyborg') {
          assert.ok(expected.guidance > 0.01, 'the case exercises the CAM term');
          assert.ok(maxAbsDiff(get(`${c.id}-cam.npy`), expected.cam!) < TOL, `${c.id}: CAM differs`);
        }
        for (const p of model.params) {
          const d = relDiff(get(`${c.id}-g-${p.name}.npy`), expected.grads[p.name]);
          assert.ok(d < TOL, `${c.id}: gradient of ${p.name} differs by ${d} (relative)`);
        }
      });
    }
    // human maps at the CAM size
    const maps = uniform(4 * 28 * 28, 3);
    put('sal-maps.npy', maps, [4, 28, 28]);
    tasks.push({ kind: 'saliency_at_cam_size', id: 'sal', to: 7 });
    checks.push(() => assert.ok(maxAbsDiff(get('sal-out.npy'), saliencyAtCamSize(maps, 4, 28, 7)) < 1e-5, 'saliency at CAM size differs'));
    // metrics
    const cams = uniform(5 * 7 * 7, 21);
    cams.fill(0.25, 0, 49); // a flat CAM: correlation undefined for that image
    const human = uniform(5 * 28 * 28, 22);
    const scores = Float32Array.from(uniform(40, 23), (v) => Math.round(v * 8) / 8); // ties
    const positive = Uint8Array.from(uniform(40, 24), (v) => (v > 0.5 ? 1 : 0));
    put('m-cams.npy', cams, [5, 7, 7]);
    put('m-human.npy', human, [5, 28, 28]);
    put('m-scores.npy', scores, [40]);
    put('m-positive.npy', positive, [40]);
    tasks.push({ kind: 'metrics', id: 'm', size: 28 });
    checks.push(() => {
      const acc = new SaliencyAgreementAccumulator(7, 28);
      for (let i = 0; i < 5; i++) acc.add(cams.slice(i * 49, (i + 1) * 49), human.slice(i * 784, (i + 1) * 784));
      const want = acc.result();
      const r = results.m as { mse: number; corr: number; images: number; auc: number };
      assert.equal(r.images, want.images);
      assert.ok(Math.abs(r.mse - want.mse) < 1e-6, `saliency_mse ${r.mse} vs ${want.mse}`);
      assert.ok(Math.abs(r.corr - want.corr) < 1e-6, `saliency_corr ${r.corr} vs ${want.corr}`);
      assert.ok(Math.abs(r.auc - rocAuc(scores, positive)) < 1e-12, `auc ${r.auc} vs ${rocAuc(scores, positive)}`);
    });
    // learning-rate schedules
    const train = { optimizer: { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: 0 }, schedule: { type: 'step', every: 2, gamma: 0.5 } } as const;
    const at = [[0, 0], [1, 5], [2, 9], [5, 30]];
    tasks.push({ kind: 'lr', id: 'lr-step', train: { optimizer: { lr: 0.01 }, schedule: { type: 'step', every: 2, gamma: 0.5 } }, total: 40, at });
    tasks.push({ kind: 'lr', id: 'lr-cos', train: { optimizer: { lr: 0.01 }, schedule: { type: 'cosine' } }, total: 40, at });
    checks.push(() => {
      const cfg = (schedule: object) => ({ ...train, schedule }) as unknown as Parameters<typeof learningRate>[0];
      assert.deepEqual(results['lr-step'], at.map(([e, s]) => learningRate(cfg(train.schedule), e, s, 40)));
      const cos = results['lr-cos'] as number[];
      at.forEach(([e, s], i) => assert.ok(Math.abs(cos[i] - learningRate(cfg({ type: 'cosine' }), e, s, 40)) < 1e-15));
    });
    // overlays
    for (const [id, channels, hasHuman] of [['ov-gray', 1, true], ['ov-rgb', 3, false]] as const) {
      const image = uniform(20 * 20 * channels, 31);
      const h = uniform(20 * 20, 32);
      const cam = uniform(5 * 5, 33);
      put(`${id}-image.npy`, image, [20, 20, channels]);
      put(`${id}-human.npy`, h, [20, 20]);
      put(`${id}-cam.npy`, cam, [5, 5]);
      tasks.push({ kind: 'overlay', id, size: 20, human: hasHuman });
      checks.push(() => {
        const png = PNG.sync.read(Buffer.from(renderOverlay({ image, channels, size: 20, human: hasHuman ? h : undefined, cam, camSize: 5 })));
        const rgb = get(`${id}-rgb.npy`);
        assert.equal(rgb.length, png.width * png.height * 3, `${id}: overlay size`);
        let worst = 0;
        for (let i = 0; i < png.width * png.height; i++) for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(rgb[i * 3 + k] - png.data[i * 4 + k]));
        // the CAM is upsampled in float32 by both; a colour may round the other way at a .5
        assert.ok(worst <= 1, `${id}: pixels differ by up to ${worst}`);
      });
    }
    fs.writeFileSync(path.join(dir, 'tasks.json'), JSON.stringify(tasks));
    runPython(python, [path.join(__dirname, 'conformance.py'), dir]);
    results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Record<string, unknown>;
  });

  it('ports the sfc32 generator exactly: words, floats, bounded integers, shuffles', () => {
    for (const t of tasks.filter((x) => x.kind === 'rng')) {
      const r = results[t.id] as { uint32: number[]; float: number; int: number[]; shuffle: number[] };
      const rng = createRng(t.seed as number, t.stream as number);
      assert.deepEqual(r.uint32, Array.from({ length: t.n as number }, () => rng.uint32()), t.id);
      assert.equal(r.float, rng.float());
      assert.deepEqual(r.int, [1, 7, 10, 1000, 2 ** 32].map((n) => rng.int(n)));
      assert.deepEqual(r.shuffle, Array.from(createRng(t.seed as number, t.stream as number).shuffle(Int32Array.from({ length: t.n as number }, (_, i) => i))));
    }
  });

  it('draws the same initial weights for a seed (small_cnn, small_resnet, mlp)', () => {
    for (const t of tasks.filter((x) => x.kind === 'init')) {
      const model = createModel({ arch: t.arch as Arch, width: t.width as number, hidden: t.hidden as number[], imageSize: t.size as number, channels: t.channels as number, classes: t.classes as number, seed: t.seed as number });
      try {
        assert.deepEqual((results[t.id] as { names: string[] }).names, model.params.map((p) => p.name), `${t.id}: parameter order`);
        for (const p of model.params) {
          const d = relDiff(get(`${t.id}-${p.name}.npy`), p.variable.dataSync());
          assert.ok(d < 1e-6, `${t.id}: ${p.name} differs by ${d}`);
        }
      } finally {
        model.dispose();
      }
    }
  });

  it('computes the same logits, CAM, CE, CYBORG loss and gradients from the same weights and batch', () => {
    for (const check of checks.slice(0, 4)) check();
  });

  it('computes the same CYBORG targets, saliency metrics, AUC and learning rates', () => {
    for (const check of checks.slice(4, 7)) check();
  });

  it('renders the same overlay pixels', () => {
    for (const check of checks.slice(7)) check();
  });
});
