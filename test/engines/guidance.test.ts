/**
 * The tfjs engine's guidance beyond CYBORG-with-CAM (guidance.ts, attribution.ts,
 * second-order.ts): the hand-computed cases of the torch engine's guidance_checks.py,
 * parameter gradients of the second-order losses against central finite differences
 * (float32: eps 1e-3, probes that straddle a ReLU / max-pool kink moved), the cpu and wasm
 * backends agreeing where max-pool windows tie, no tensor left behind by a training step, and
 * one engine process per loss. Cross-engine agreement: torch/conformance-guidance.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { readEvents } from '../../server/src/runs/run-dir';
import { attributionMaps, inputGradients, type AttributionKind, type GuidedLayer } from '../../server/src/engines/tfjs/attribution';
import { normalizedCam } from '../../server/src/engines/tfjs/cam';
import { bilinearMatrix, energyPerImage, guidedLoss, humanMask, l1PerImage, ppcePerImage, raoPerImage, rrrPerImage, rrrStarPerImage, upsampleMaps, weightedLoss, type GuidanceLoss } from '../../server/src/engines/tfjs/guidance';
import { PointingAccumulator } from '../../server/src/engines/tfjs/metrics';
import { createModel, type Arch, type Model } from '../../server/src/engines/tfjs/models';
import { withExactPooling } from '../../server/src/engines/tfjs/second-order';
import { shardGradients } from '../../server/src/engines/tfjs/step';
import { tf } from '../../server/src/engines/tfjs/tf';
import { ensureEngineBuilt, makeRunDir, shapesDir, startEngine } from './engine-process';
import { maxAbsDiff, randomNormal, useBackend } from './helpers';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const close = (actual: number[], expected: number[], tol = 1e-6) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}] ${a} ≠ ${expected[i]} (${actual.join(', ')})`));
};

// a = [[1, −1], [2, 0]], M = [[1, 0], [0, 0]]: a⁺ = [1, 0, 2, 0], max|a| = 2, â = [.5, 0, 1, 0]
const A = () => tf.tensor3d([1, -1, 2, 0], [1, 2, 2]);
const M = () => tf.tensor3d([1, 0, 0, 0], [1, 2, 2]);

describe('tfjs guidance losses and attributions', function () {
  this.timeout(120_000);
  before(() => useBackend('cpu'));

  it('energy by hand, with the floor for (almost) no positive energy', () => {
    close(values(energyPerImage(A(), M())), [1 - 1 / 3]);
    close(values(energyPerImage(tf.neg(tf.ones([1, 2, 2])) as tf.Tensor3D, M())), [1]);
    close(values(energyPerImage(tf.tensor3d([5e-8, 0, 0, 0], [1, 2, 2]), M())), [1 - 5e-8]);
  });

  it('L1, PPCE and RRR* by hand; an all-zero map stays zero, an empty mask gives PPCE 0', () => {
    close(values(l1PerImage(A(), M())), [(0.5 + 0 + 1 + 0) / 4]);
    close(values(ppcePerImage(A(), M())), [-Math.log(0.5 + 1e-7)]);
    close(values(rrrStarPerImage(A(), M())), [1]);
    close(values(l1PerImage(tf.zeros([1, 2, 2]), M())), [0.25]);
    close(values(ppcePerImage(A(), tf.zeros([1, 2, 2]))), [0]);
  });

  it('upsamples bilinearly on pixel centres before comparing with the mask', () => {
    // a 1×1 attribution upsampled to 2×2 is constant: energy = share of M's pixels = 1/4
    close(values(raoPerImage('energy', tf.tensor3d([3], [1, 1, 1]), M())), [0.75]);
    // [[0, 4]] rows to 1×4: [0, 1, 3, 4]
    const a = tf.tensor3d([0, 4, 0, 4], [1, 2, 2]);
    close(values(raoPerImage('l1', a, tf.zeros([1, 4, 4]))), [(0 + 0.25 + 0.75 + 1) / 4]);
    close(values(raoPerImage('energy', a, tf.ones([1, 4, 4]))), [0]);
    close(values(upsampleMaps(a, 4)), [0, 1, 3, 4, 0, 1, 3, 4, 0, 1, 3, 4, 0, 1, 3, 4]);
    // every row of the interpolation matrix sums to 1
    const r = bilinearMatrix(7, 28);
    for (let i = 0; i < 28; i++) close([r.subarray(i * 7, (i + 1) * 7).reduce((x, y) => x + y, 0)], [1]);
  });

  it('EPG and IoU by hand (zero energy counts 0, a flat map selects nothing)', () => {
    const acc = new PointingAccumulator(2, 2);
    // EPG 1/3; â = [.5, 0, 1, 0] → T = {2}, M = {0}: IoU 0
    acc.add(Float32Array.from([1, -1, 2, 0]), Float32Array.from([1, 0, 0, 0]));
    // EPG 1; â = [0, 1, 1/3, 0] → T = {1}, M = {1, 2}: IoU 1/2
    acc.add(Float32Array.from([0, 3, 1, 0]), Float32Array.from([0, 0.5, 0.5, 0]));
    // no positive energy: EPG 0; flat: T empty, IoU 0
    acc.add(Float32Array.from([-1, -1, -1, -1]), Float32Array.from([1, 0, 0, 0]));
    const r = acc.result();
    close([r.epg, r.iou, r.images], [(1 / 3 + 1 + 0) / 3, 0.5 / 3, 3]);
  });

  it('M is where the human map is positive', () => {
    assert.deepEqual(Array.from(humanMask(Float32Array.from([0, 0.2, 1, 0]))), [0, 1, 1, 0]);
  });

  it('total = CE + λ·(guided images\' mean of the per-image term)', () => {
    const t = weightedLoss(tf.tensor2d([2, 0, 0, 1], [2, 2]), tf.tensor1d([0, 0], 'int32'), tf.tensor1d([0.4, 10]), tf.tensor1d([1, 0]), { ce: 1, guidance: 3 });
    const ce = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1))) / 2;
    close([t.ce, t.guidance, t.loss].map((v) => v.dataSync()[0]), [ce, 0.4, ce + 1.2]);
  });

  it('RRR by hand: input gradients of Σ_k log p_k of a linear model, squared over A = {H = 0}', () => {
    // mlp without hidden layers: z = W x + b; ∂ Σ_k log p_k / ∂x = Σ_k W_k − K Σ_j p_j W_j
    const model = createModel({ arch: 'mlp', width: 0, hidden: [], imageSize: 2, channels: 1, classes: 3, seed: 4 });
    try {
      const W = model.params[0].variable.arraySync() as number[][]; // [in 4, out 3]
      const x = tf.tensor4d([0.1, 0.7, 0.4, 0.2], [1, 2, 2, 1]);
      const { grads, logProbs } = inputGradients(model, x);
      const p = values(tf.exp(logProbs));
      const ref = W.map((row) => row.reduce((s, w) => s + w, 0) - 3 * row.reduce((s, w, j) => s + p[j] * w, 0));
      close(values(grads), ref, 1e-5);
      // A = pixels 0 and 2 (human map 0 there)
      close(values(rrrPerImage(grads, tf.tensor3d([1, 0, 1, 0], [1, 2, 2]))), [ref[0] ** 2 + ref[2] ** 2], 1e-5);
    } finally {
      model.dispose();
    }
  });

  it('GradCAM and input×gradient at the final layer by hand: ∂y_k/∂F = W[·, k] / (h·w)', () => {
    // a model whose final features are its input: logits = GAP(F)·W + b
    const W = tf.tensor2d(randomNormal(6, 1), [2, 3]);
    const b = tf.tensor1d([0.3, 0.3, 0.3]);
    const gapHead: Model = {
      spec: { arch: 'small_cnn', width: 2, hidden: [], imageSize: 3, channels: 2, classes: 3, seed: 0 },
      params: [],
      forward: (x) => ({ features: x, logits: tf.add(tf.matMul(tf.mean(x, [1, 2]), W), b) as tf.Tensor2D }),
      stages: { toMid: (x) => x, toFinal: (x) => x, toLogits: (f) => tf.add(tf.matMul(tf.mean(f, [1, 2]), W), b) as tf.Tensor2D },
      headWeight: tf.variable(W),
      featureSize: 3,
      dispose: () => {},
    };
    const F = tf.tensor4d(randomNormal(2 * 3 * 3 * 2, 2), [2, 3, 3, 2]);
    const labels = tf.tensor1d([2, 0], 'int32');
    const w = W.arraySync() as number[][];
    const f = F.arraySync() as number[][][][];
    const camRaw = [0, 1].flatMap((n) => [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => (f[n][i][j][0] * w[0][[2, 0][n]] + f[n][i][j][1] * w[1][[2, 0][n]]) / 9)));
    close(values(attributionMaps(gapHead, F, labels, 'ixg', 'final', 'label').maps), camRaw, 1e-5);
    close(values(attributionMaps(gapHead, F, labels, 'gradcam', 'final', 'label').maps), camRaw.map((v) => Math.max(v, 0)), 1e-5);
    close(values(attributionMaps(gapHead, F, labels, 'cam', 'final', 'label').maps), values(normalizedCam(F, W, labels)), 1e-6);
  });

  it('input×gradient at the input is Σ_c ∂y_k/∂x ⊙ x; mid features are h2 (2w channels at S/2)', () => {
    const model = createModel({ arch: 'small_cnn', width: 2, hidden: [], imageSize: 8, channels: 1, classes: 3, seed: 5 });
    try {
      const x = tf.tensor4d(Float32Array.from(randomNormal(2 * 64, 3), Math.abs), [2, 8, 8, 1]);
      const labels = tf.tensor1d([1, 2], 'int32');
      const a = attributionMaps(model, x, labels, 'ixg', 'input', 'label').maps;
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(model.forward(t as tf.Tensor4D).logits, tf.oneHot(labels, 3))))(x);
      assert.ok(maxAbsDiff(values(a), values(tf.sum(tf.mul(g, x), 3))) < 1e-6);
      assert.deepEqual(model.stages!.toMid(x).shape, [2, 4, 4, 4]);
      assert.deepEqual(attributionMaps(model, x, labels, 'gradcam', 'mid', 'label').maps.shape, [2, 4, 4]);
    } finally {
      model.dispose();
    }
  });

  describe('parameter gradients of the guided losses match finite differences (float32)', () => {
    const combos: [Arch, GuidanceLoss, AttributionKind, GuidedLayer][] = [
      ['small_cnn', 'energy', 'gradcam', 'mid'],
      ['small_cnn', 'l1', 'ixg', 'input'],
      ['small_cnn', 'rrr_star', 'gradcam', 'final'],
      ['small_cnn', 'cyborg', 'ixg', 'mid'],
      ['small_cnn', 'rrr', 'cam', 'final'],
      ['small_resnet', 'ppce', 'ixg', 'final'],
      ['small_resnet', 'energy', 'ixg', 'mid'],
      ['mlp', 'rrr', 'cam', 'final'],
      ['mlp', 'energy', 'ixg', 'input'],
    ];
    for (const [k, [arch, loss, attribution, layer]] of combos.entries()) {
      it(`${arch} ${loss}${loss === 'rrr' ? '' : ` ${attribution}@${layer}`}`, () => {
        const model = createModel({ arch, width: 3, hidden: [6, 5], imageSize: 8, channels: 1, classes: 3, seed: 30 + k, normalize: { mean: [0.3], std: [0.5] } });
        try {
          model.params.forEach((p, i) => tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.tensor(randomNormal(p.variable.size, 60 + i, 0.05), p.variable.shape)))));
          const x = tf.tensor4d(Float32Array.from(randomNormal(3 * 64, 40 + k), (v) => Math.min(1, Math.abs(v) / 2)), [3, 8, 8, 1]);
          const labels = tf.tensor1d([0, 2, 1], 'int32');
          const human = Float32Array.from(randomNormal(3 * 64, 50 + k), (v) => (v > 0 ? v : 0));
          const guided = tf.tensor1d([1, 1, 0]);
          const config = { loss: loss as Exclude<GuidanceLoss, 'none'>, attribution, layer, lambda: 2, alpha: 0.5, camClass: 'label' as const };
          const f = () => tf.tidy(() => guidedLoss(model, config, x, labels, human, guided).loss.dataSync()[0]);
          const { grads } = tf.variableGrads(() => guidedLoss(model, config, x, labels, human, guided).loss, model.params.map((p) => p.variable));
          const eps = 1e-3;
          const f0 = f();
          let checked = 0;
          for (const [i, p] of model.params.entries()) {
            const analytic = grads[p.variable.name].dataSync();
            const data = p.variable.dataSync().slice() as Float32Array;
            let ok = 0;
            for (let probe = 0; probe < 12 && ok < 2; probe++) {
              const j = (probe * 7919 + i * 131) % data.length;
              const at = (d: number) => {
                const v = data.slice();
                v[j] += d;
                p.variable.assign(tf.tensor(v, p.variable.shape));
                return f();
              };
              const up = at(eps);
              const down = at(-eps);
              p.variable.assign(tf.tensor(data, p.variable.shape));
              const numeric = (up - down) / (2 * eps);
              // one-sided slopes that disagree: the probe straddles a kink; probe elsewhere
              if (Math.abs(up - f0 - (f0 - down)) / eps > 2e-2 * Math.max(1, Math.abs(numeric))) continue;
              assert.ok(Math.abs(numeric - analytic[j]) <= 5e-3 + 2e-2 * Math.abs(numeric), `${p.name}[${j}]: analytic ${analytic[j]}, numeric ${numeric}`);
              ok++;
            }
            checked += ok;
          }
          assert.ok(checked >= model.params.length, `only ${checked} smooth probes`);
          tf.dispose(Object.values(grads));
        } finally {
          model.dispose();
        }
      });
    }
  });

  it('cpu and wasm agree where max-pool windows tie (constant background): GradCAM at mid and its training gradients', async () => {
    const run = () =>
      tf.tidy(() => {
        const model = createModel({ arch: 'small_cnn', width: 4, hidden: [], imageSize: 12, channels: 1, classes: 3, seed: 9, normalize: { mean: [0.2], std: [0.4] } });
        // a bright square on a constant background: whole pooling windows of equal activations
        const img = new Float32Array(2 * 144);
        for (let n = 0; n < 2; n++) for (let i = 3 + n; i < 8 + n; i++) for (let j = 4; j < 9; j++) img[n * 144 + i * 12 + j] = 1;
        const x = tf.tensor4d(img, [2, 12, 12, 1]);
        const labels = tf.tensor1d([1, 2], 'int32');
        const maps = attributionMaps(model, x, labels, 'gradcam', 'mid', 'label').maps.dataSync();
        // as the engine's step (step.ts) takes a guided loss's gradients
        const { grads } = withExactPooling(() => tf.variableGrads(() => guidedLoss(model, { loss: 'energy', attribution: 'gradcam', layer: 'mid', lambda: 1, alpha: 0.5, camClass: 'label' }, x, labels, img, tf.ones([2]) as tf.Tensor1D).loss, model.params.map((p) => p.variable)));
        const g = model.params.flatMap((p) => Array.from(grads[p.variable.name].dataSync()));
        model.dispose();
        return { maps: Array.from(maps), g };
      });
    const cpu = run();
    await useBackend('wasm');
    try {
      const wasm = run();
      const scale = (a: number[]) => Math.max(1e-3, ...a.map(Math.abs));
      assert.ok(maxAbsDiff(wasm.maps, cpu.maps) / scale(cpu.maps) < 1e-4, 'GradCAM maps differ');
      assert.ok(maxAbsDiff(wasm.g, cpu.g) / scale(cpu.g) < 1e-4, `gradients differ by ${maxAbsDiff(wasm.g, cpu.g) / scale(cpu.g)}`);
    } finally {
      await useBackend('cpu');
    }
  });

  it('the shards of a guided batch add up to the whole batch (data-parallel gradient workers)', () => {
    const model = createModel({ arch: 'small_cnn', width: 3, hidden: [], imageSize: 8, channels: 1, classes: 3, seed: 8 });
    try {
      const n = 8;
      const images = Float32Array.from(randomNormal(n * 64, 11), Math.abs);
      const human = Float32Array.from(randomNormal(n * 64, 12), (v) => (v > 0 ? v : 0));
      const guided = Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 1));
      const shortcut = Uint8Array.from({ length: n * 64 }, (_, i) => (i % 64 < 10 ? 1 : 0));
      const part = (from: number, to: number) => ({
        images: images.slice(from * 64, to * 64),
        n: to - from,
        size: 8,
        channels: 1,
        labels: Int32Array.from({ length: to - from }, (_, i) => (from + i) % 3),
        guided: guided.slice(from, to),
        human: human.slice(from * 64, to * 64),
        irrelevant: shortcut.slice(from * 64, to * 64),
      });
      const norm = { images: n, guided: guided.reduce((a, b) => a + b, 0) };
      for (const cfg of [
        { loss: 'energy', alpha: 0.5, camClass: 'label', attribution: 'gradcam', layer: 'mid', lambda: 2 },
        { loss: 'rrr', alpha: 0.5, camClass: 'label', lambda: 5, irrelevant: 'shortcut' },
        { loss: 'cyborg', alpha: 0.3, camClass: 'label', attribution: 'ixg', layer: 'input' },
      ] as const) {
        const whole = shardGradients(model, cfg, part(0, n));
        const parts = [shardGradients(model, cfg, part(0, 3), norm), shardGradients(model, cfg, part(3, n), norm)];
        for (const k of ['loss', 'ce', 'guidance'] as const) assert.ok(Math.abs(parts[0][k] + parts[1][k] - whole[k]) < 1e-5 * Math.max(1, Math.abs(whole[k])), `${cfg.loss} ${k}`);
        for (const p of model.params) {
          const sum = tf.tidy(() => tf.add(parts[0].grads[p.variable.name], parts[1].grads[p.variable.name]).dataSync());
          const ref = whole.grads[p.variable.name].dataSync();
          assert.ok(maxAbsDiff(sum, ref) <= 1e-5 * Math.max(1, ...Array.from(ref, Math.abs)), `${cfg.loss} ${p.name}`);
        }
        for (const r of [whole, ...parts]) tf.dispose(Object.values(r.grads));
      }
    } finally {
      model.dispose();
    }
  });

  it('a guided training step leaves no tensor behind and reports CE + λ·L', () => {
    const model = createModel({ arch: 'small_cnn', width: 3, hidden: [], imageSize: 8, channels: 1, classes: 3, seed: 2 });
    try {
      const input = {
        images: Float32Array.from(randomNormal(4 * 64, 1), Math.abs),
        n: 4,
        size: 8,
        channels: 1,
        labels: Int32Array.from([0, 1, 2, 0]),
        guided: Float32Array.from([1, 1, 0, 1]),
        human: Float32Array.from(randomNormal(4 * 64, 2), (v) => (v > 0 ? v : 0)),
      };
      for (const loss of ['energy', 'rrr'] as const) {
        const before = tf.memory().numTensors;
        const out = shardGradients(model, { loss, alpha: 0.5, camClass: 'label', attribution: 'ixg', layer: 'mid', lambda: 3 }, input);
        assert.equal(Object.keys(out.grads).length, model.params.length);
        tf.dispose(Object.values(out.grads));
        assert.equal(tf.memory().numTensors, before, `${loss}: tensors left behind`);
        assert.ok(Math.abs(out.loss - (out.ce + 3 * out.guidance)) < 1e-4 * Math.max(1, out.loss) && out.guidance > 0, JSON.stringify(out));
      }
    } finally {
      model.dispose();
    }
  });
});

describe('tfjs engine process: guidance losses', function () {
  this.timeout(180_000);
  let tmp = '';
  before(async () => {
    await ensureEngineBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-guidance-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const runs: [string, Record<string, unknown>, RegExp][] = [
    ['energy', { loss: 'energy', attribution: 'gradcam', layer: 'mid' }, /energy \(lambda 1, gradcam at mid\)/],
    ['l1', { loss: 'l1', attribution: 'ixg', layer: 'input', lambda: 2 }, /l1 \(lambda 2, ixg at input\)/],
    ['ppce', { loss: 'ppce', attribution: 'cam', layer: 'final', lambda: 0.5 }, /ppce \(lambda 0\.5, cam at final\)/],
    ['rrr_star', { loss: 'rrr_star', attribution: 'ixg', layer: 'final' }, /rrr_star \(lambda 1, ixg at final\)/],
    ['rrr', { loss: 'rrr', lambda: 10 }, /rrr \(lambda 10, input gradients\)/],
    ['cyborg', { loss: 'cyborg', attribution: 'gradcam', layer: 'final', alpha: 0.5 }, /cyborg \(alpha 0\.5, gradcam at final\)/],
  ];
  for (const [name, guidance, logLine] of runs) {
    it(`trains ${name} on the wasm backend: total = CE + λ·L, a positive guidance term`, async () => {
      const dir = makeRunDir(path.join(tmp, 'runs'), path.join(shapesDir, 'shapes.sgt'), 'shapes_cyborg', {
        data: { image_size: 16 },
        model: { width: 4 },
        guidance,
        train: { epochs: 1, batch: 8, backend: 'wasm' },
        preview: { every: { value: 1, unit: 'epochs' }, samples: 2 },
        evaluate: { metrics: ['accuracy', 'epg', 'iou'] },
      });
      const run = startEngine(dir);
      assert.equal(await run.done, 0, run.stderr);
      const events = readEvents(dir);
      const logs = events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
      assert.ok(logs.some((m) => logLine.test(m)), logs.join(' | '));
      const steps = events.filter((e): e is Extract<RunEvent, { type: 'step' }> => e.type === 'step');
      assert.ok(steps.length > 0);
      const lambda = (guidance.lambda as number | undefined) ?? 1;
      for (const s of steps) {
        assert.ok(Number.isFinite(s.loss) && s.guidance >= 0, JSON.stringify(s));
        const expected = name === 'cyborg' ? 0.5 * s.ce + 0.5 * s.guidance : s.ce + lambda * s.guidance;
        assert.ok(Math.abs(s.loss - expected) <= 1e-4 * Math.max(1, Math.abs(s.loss)), `${name}: ${JSON.stringify(s)}`);
      }
      assert.ok(steps.some((s) => s.guidance > 0), `${name}: the guidance term is never positive`);
      assert.equal(events.at(-1)?.type, 'finished');
      const val = events.filter((e): e is Extract<RunEvent, { type: 'epoch' }> => e.type === 'epoch' && e.split === 'val').at(-1);
      const { epg, iou } = (val?.metrics ?? {}) as { epg?: number; iou?: number };
      assert.ok(epg !== undefined && epg >= 0 && epg <= 1 && iou !== undefined && iou >= 0 && iou <= 1, `${name}: epg ${epg}, iou ${iou}`);
    });
  }
});
