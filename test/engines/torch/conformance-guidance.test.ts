/**
 * Engine conformance of the guidance losses beyond CYBORG-with-CAM: for every loss ×
 * attribution × layer both engines train (energy, L1, PPCE, RRR*, CYBORG on CAM / GradCAM /
 * input×gradient at final, mid, input; RRR), on small_cnn, small_resnet and the mlp, the
 * tfjs engine (guidance.ts, attribution.ts, second-order gradients; cpu backend) and the torch
 * engine (conformance_guidance.py: Trainer.guided_loss's composition) compute the same
 * attribution maps, loss terms and parameter gradients (≤ 1e-4 relative) from the same
 * weights, batch, human maps and input normalisation.
 *
 * Multi-label data (multi-label.ts against multilabel.py `MultiLabel.loss`): BCE with one target
 * class per image, its attribution against that class's mask, the guidance term over the
 * guided images (an unannotated image and an image without labels among them), for CE only,
 * CYBORG, energy, L1, RRR* and RRR (Σ_k log σ(y_k)): the same BCE, guidance term and
 * gradients (≤ 1e-4 relative); and both engine processes train the same tiny multi-label run
 * of examples/shapes-boxes (seeded target classes, box masks, exact match, F1, mAP, EPG / IoU).
 *
 * PPCE = −mean_{M=1} log(â + 1e-7) amplifies a difference in â by 1/(â + 1e-7): where â is
 * ~0 on M (a normalised CAM is exactly 0 at its minimum, and bilinear upsampling spreads
 * that), float32 rounding alone moves the loss by 1e-3. The PPCE cases therefore take M off
 * the pixels where the tfjs â < 1e-3 (their own human maps), so both engines are compared
 * where the loss is well conditioned.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleTargetClasses } from '../../../server/src/data/multi-label';
import { createRng } from '../../../server/src/data/rng';
import { readNpy, writeNpy, type NpyArray } from '../../../server/src/data/npy';
import { attributionMaps, inputGradients, type AttributionKind, type GuidedLayer } from '../../../server/src/engines/tfjs/attribution';
import { guidedLoss, unitAttribution, upsampleMaps, type GuidanceLoss } from '../../../server/src/engines/tfjs/guidance';
import type { LossTerms } from '../../../server/src/engines/tfjs/losses';
import { PointingAccumulator } from '../../../server/src/engines/tfjs/metrics';
import { createModel, type Arch, type Model } from '../../../server/src/engines/tfjs/models';
import { multiLabelLoss } from '../../../server/src/engines/tfjs/multi-label';
import { tf } from '../../../server/src/engines/tfjs/tf';
import { maxAbsDiff, randomNormal, useBackend } from '../helpers';
import { ensureEngineBuilt, makeRunDir, startEngine as startTfjs, watchEngine, type EngineRun } from '../engine-process';
import { requireTorch, root, runPython, scratch } from './helpers';

const CAPS = { SGT_MAX_TRAIN_IMAGES: '96', SGT_MAX_EVAL_IMAGES: '64' };

/** Tiny Decoy MNIST runs (constant backgrounds: tied max-pool windows everywhere). */
const SGT = `experiment g_mid {
  seed = 4
  data { source = builtin("decoy-mnist")  image_size = 28  annotated = 50%  normalize = dataset }
  model { arch = small_cnn  width = 4 }
  guidance { loss = energy  lambda = 2  attribution = gradcam  layer = mid }
  train { epochs = 2  batch = 32  optimizer = adam { lr = 0.003 }  engine = torch }
  preview { samples = 0 }
  evaluate { metrics = [accuracy, epg, iou] }
}
experiment g_rrr extends g_mid {
  model { arch = mlp  hidden = [20, 10] }
  guidance { loss = rrr  lambda = 10  irrelevant = shortcut }
}
`;

/** A tiny multi-label run on the shapes-boxes example (copied to data/): energy on GradCAM at mid, half the images' boxes. */
const ML_SGT = `experiment ml {
  seed = 5
  data {
    source     = folder("data")
    annotation = boxes
    boxes      = "boxes.json"
    image_size = 16
    annotated  = 75%
  }
  model    { arch = small_cnn  width = 4 }
  guidance { loss = energy  lambda = 2  attribution = gradcam  layer = mid }
  train    { epochs = 2  batch = 8  optimizer = adam { lr = 0.003 }  engine = torch }
  preview  { samples = 0 }
  evaluate { metrics = [accuracy, f1, map, epg, iou] }
}
`;

function startTorch(runDir: string, python: string): EngineRun {
  const args = ['--require', 'tsx/cjs', path.join(root, 'server/src/engines/torch/main.ts'), '--python', python, '--run-dir', runDir];
  return watchEngine(spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...CAPS, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

const TOL = 1e-4;

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

type Terms = { loss: number; ce: number; guidance: number };

/** The terms of the loss `lossOf` builds and the gradients of its loss with respect to every parameter of `model`, flattened in parameter order (as conformance_guidance.py writes them). */
function termsAndGradients(model: Model, lossOf: () => LossTerms): { terms: Terms; grads: Float32Array } {
  let terms: Terms = { loss: 0, ce: 0, guidance: 0 };
  const { grads } = tf.variableGrads(() => {
    const t = lossOf();
    terms = { loss: t.loss.dataSync()[0], ce: t.ce.dataSync()[0], guidance: t.guidance.dataSync()[0] };
    return t.loss;
  }, model.params.map((p) => p.variable));
  const flat = new Float32Array(model.params.reduce((s, p) => s + p.variable.size, 0));
  let o = 0;
  for (const p of model.params) {
    flat.set(grads[p.variable.name].dataSync() as Float32Array, o);
    o += p.variable.size;
  }
  return { terms, grads: flat };
}

/** Compares one case's torch results (maps and gradients as files, terms) with tfjs's: the worst relative difference, and a failure message above TOL. */
function compareCase(id: string, torchTerms: Terms, torchMaps: ArrayLike<number> | undefined, torchGrads: ArrayLike<number>, expected: { maps?: ArrayLike<number>; terms: Terms; grads: Float32Array }): { worst: number; failure?: string } {
  const dMaps = expected.maps ? relDiff(torchMaps!, expected.maps) : 0;
  const dGrads = relDiff(torchGrads, expected.grads);
  const dTerms = Math.max(...(['loss', 'ce', 'guidance'] as const).map((k) => Math.abs(torchTerms[k] - expected.terms[k]) / Math.max(1, Math.abs(expected.terms[k]))));
  const worst = Math.max(dMaps, dGrads, dTerms);
  if (dMaps < TOL && dGrads < TOL && dTerms < TOL) return { worst };
  return { worst, failure: `${id}: maps ${dMaps.toExponential(2)}, gradients ${dGrads.toExponential(2)}, terms ${dTerms.toExponential(2)} (torch ${JSON.stringify(torchTerms)}, tfjs ${JSON.stringify(expected.terms)})` };
}

function uniform(count: number, seed: number): Float32Array {
  const rng = createRng(seed, 7);
  return Float32Array.from({ length: count }, () => rng.float());
}

type Loss = Exclude<GuidanceLoss, 'none'>;
const ATTRIBUTION_LAYERS: [AttributionKind, GuidedLayer][] = [
  ['cam', 'final'],
  ['gradcam', 'final'],
  ['gradcam', 'mid'],
  ['ixg', 'final'],
  ['ixg', 'mid'],
  ['ixg', 'input'],
];
const MAP_LOSSES: Loss[] = ['energy', 'l1', 'ppce', 'rrr_star', 'cyborg'];

interface Case {
  id: string;
  model: string;
  loss: Loss;
  attribution: AttributionKind;
  layer: GuidedLayer;
  lambda: number;
  alpha: number;
  irrelevant?: 'shortcut';
}

/** Multi-label cases: CE only and the guided losses (PPCE is ill-conditioned, see above). */
function multiCasesFor(model: string, arch: Arch): (Omit<Case, 'loss'> & { loss: GuidanceLoss })[] {
  const base = { model, lambda: 0.7, alpha: 0.4 };
  const out: (Omit<Case, 'loss'> & { loss: GuidanceLoss })[] = [
    { ...base, id: `${model}-ml-none`, loss: 'none', attribution: 'cam', layer: 'final' },
    { ...base, id: `${model}-ml-rrr`, loss: 'rrr', attribution: 'cam', layer: 'final', lambda: 3 },
    { ...base, id: `${model}-ml-energy-ixg-input`, loss: 'energy', attribution: 'ixg', layer: 'input' },
  ];
  if (arch === 'mlp') return out;
  return out.concat([
    { ...base, id: `${model}-ml-cyborg-cam-final`, loss: 'cyborg', attribution: 'cam', layer: 'final' },
    { ...base, id: `${model}-ml-cyborg-gradcam-mid`, loss: 'cyborg', attribution: 'gradcam', layer: 'mid' },
    { ...base, id: `${model}-ml-energy-gradcam-mid`, loss: 'energy', attribution: 'gradcam', layer: 'mid' },
    { ...base, id: `${model}-ml-l1-ixg-final`, loss: 'l1', attribution: 'ixg', layer: 'final' },
    { ...base, id: `${model}-ml-rrr_star-cam-final`, loss: 'rrr_star', attribution: 'cam', layer: 'final' },
  ]);
}

/** Every combination a model can train (the mlp: input×gradient at the input, and RRR). */
function casesFor(model: string, arch: Arch): Case[] {
  const out: Case[] = [];
  for (const loss of MAP_LOSSES) {
    for (const [attribution, layer] of ATTRIBUTION_LAYERS) {
      if (arch === 'mlp' && !(attribution === 'ixg' && layer === 'input')) continue;
      out.push({ id: `${model}-${loss}-${attribution}-${layer}`, model, loss, attribution, layer, lambda: 0.7, alpha: 0.4 });
    }
  }
  out.push({ id: `${model}-rrr`, model, loss: 'rrr', attribution: 'cam', layer: 'final', lambda: 3, alpha: 0.5 });
  out.push({ id: `${model}-rrr-shortcut`, model, loss: 'rrr', attribution: 'cam', layer: 'final', lambda: 3, alpha: 0.5, irrelevant: 'shortcut' });
  if (arch !== 'mlp') out.push({ id: `${model}-rrr_star-shortcut`, model, loss: 'rrr_star', attribution: 'ixg', layer: 'input', lambda: 0.7, alpha: 0.5, irrelevant: 'shortcut' });
  return out;
}

describe('torch engine conformance with the tfjs engine: guidance losses and attributions', function () {
  this.timeout(300_000);
  let python = '';
  let dir = '';
  const models = new Map<string, { model: Model; x: Float32Array; labels: Int32Array; human: Float32Array; guided: Float32Array; shortcut: Uint8Array; n: number; size: number; channels: number; classes: number; multi: Float32Array; targets: Int32Array; mask: Float32Array; mlGuided: Float32Array }>();
  const cases: Case[] = [];
  const multiCases: ReturnType<typeof multiCasesFor> = [];
  const caseHuman = new Map<string, Float32Array>();
  let results: Record<string, { loss: number; ce: number; guidance: number; pointing?: { epg: number; iou: number; images: number } }> = {};
  const put = (name: string, values: NpyArray, shape: number[]) => writeNpy(path.join(dir, name), values, shape);
  const get = (name: string) => readNpy(path.join(dir, name)).values;

  before(async function () {
    python = requireTorch(this).python;
    await useBackend('cpu');
    dir = scratch('conformance-guidance');
    const specs: { id: string; arch: Arch; width: number; hidden: number[]; size: number; channels: number; classes: number; normalize?: { mean: number[]; std: number[] } }[] = [
      { id: 'cnn', arch: 'small_cnn', width: 4, hidden: [], size: 12, channels: 1, classes: 3, normalize: { mean: [0.4], std: [0.3] } },
      { id: 'resnet', arch: 'small_resnet', width: 4, hidden: [], size: 9, channels: 3, classes: 4 },
      { id: 'mlp', arch: 'mlp', width: 0, hidden: [12, 7], size: 8, channels: 1, classes: 5, normalize: { mean: [0.5], std: [0.25] } },
    ];
    const tasks: object[] = [];
    for (const [k, s] of specs.entries()) {
      const model = createModel({ arch: s.arch, width: s.width, hidden: s.hidden, imageSize: s.size, channels: s.channels, classes: s.classes, seed: 21 + k, normalize: s.normalize });
      // perturbed weights (non-zero biases): the comparison must not rest on the initialisation
      model.params.forEach((p, i) => tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.tensor(randomNormal(p.variable.size, 300 + i, 0.05), p.variable.shape)))));
      const n = 5;
      const x = uniform(n * s.size * s.size * s.channels, 40 + k);
      const labels = Int32Array.from({ length: n }, (_, i) => (i * 2) % s.classes);
      // human maps: zero on about half the pixels (M and A both non-trivial), positive elsewhere
      const base = Float32Array.from(uniform(n * s.size * s.size, 50 + k), (v, i) => (((i * 2654435761) >>> 0) % 7 < 3 ? 0 : v));
      const guided = Float32Array.from({ length: n }, (_, i) => (i === 3 ? 0 : 1));
      // a "shortcut" region: a 3×3 corner patch per image
      const shortcut = new Uint8Array(n * s.size * s.size);
      for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) shortcut[i * s.size * s.size + (i % 2 ? r : s.size - 1 - r) * s.size + c] = 1;
      put(`${s.id}-x.npy`, x, [n, s.size, s.size, s.channels]);
      put(`${s.id}-labels.npy`, labels, [n]);
      put(`${s.id}-human.npy`, base, [n, s.size, s.size]);
      put(`${s.id}-guided.npy`, guided, [n]);
      put(`${s.id}-shortcut.npy`, shortcut, [n, s.size, s.size]);
      for (const p of model.params) put(`${s.id}-w-${p.name}.npy`, p.variable.dataSync() as Float32Array, p.variable.shape);
      // multi-label: 1 to 3 labels per image, none for the last; one target class each (as an
      // epoch draws them); guided = annotated (not image 3) with a target
      const multiHot = Uint8Array.from({ length: n * s.classes }, (_, j) => {
        const [i, c] = [Math.floor(j / s.classes), j % s.classes];
        return i < n - 1 && (c === i % s.classes || (i + c) % 3 === 0) ? 1 : 0;
      });
      const targets = sampleTargetClasses(multiHot, s.classes, 9, 0);
      const mlGuided = Float32Array.from(targets, (t, i) => (i !== 3 && t >= 0 ? 1 : 0));
      const mask = Float32Array.from(base, (v) => (v > 0 ? 1 : 0));
      const multi = Float32Array.from(multiHot);
      put(`${s.id}-multi.npy`, multi, [n, s.classes]);
      put(`${s.id}-targets.npy`, Int32Array.from(targets, (t) => Math.max(t, 0)), [n]);
      put(`${s.id}-mask.npy`, mask, [n, s.size, s.size]);
      put(`${s.id}-mlguided.npy`, mlGuided, [n]);
      models.set(s.id, { model, x, labels, human: base, guided, shortcut, n, size: s.size, channels: s.channels, classes: s.classes, multi, targets: Int32Array.from(targets, (t) => Math.max(t, 0)), mask, mlGuided });
      const channels = s.channels;
      const modelTask = { id: s.id, arch: s.arch, width: s.width, hidden: s.hidden, size: s.size, channels, classes: s.classes, names: model.params.map((p) => p.name), mean: s.normalize?.mean ?? Array(channels).fill(0), std: s.normalize?.std ?? Array(channels).fill(1) };
      for (const c of casesFor(s.id, s.arch)) {
        cases.push(c);
        let human: string | undefined;
        if (c.loss === 'ppce') {
          const unit = tf.tidy(() => {
            const maps = attributionMaps(model, tf.tensor4d(x, [n, s.size, s.size, s.channels]), tf.tensor1d(labels, 'int32'), c.attribution, c.layer, 'label').maps;
            return unitAttribution(upsampleMaps(maps, s.size)).dataSync();
          });
          human = `${c.id}-human.npy`;
          caseHuman.set(c.id, Float32Array.from(base, (v, i) => (unit[i] < 1e-3 ? 0 : v)));
          put(human, caseHuman.get(c.id)!, [n, s.size, s.size]);
        }
        tasks.push({ ...c, model: modelTask, ...(human ? { human } : {}) });
      }
      for (const c of multiCasesFor(s.id, s.arch)) {
        multiCases.push(c);
        tasks.push({ ...c, model: modelTask, multi: true });
      }
    }
    fs.writeFileSync(path.join(dir, 'tasks.json'), JSON.stringify(tasks));
    runPython(python, [path.join(__dirname, 'conformance_guidance.py'), dir], { timeoutMs: 240_000 });
    results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as typeof results;
  });

  after(() => {
    for (const m of models.values()) m.model.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('covers every loss × attribution × layer of both engines (small_cnn, small_resnet, mlp)', () => {
    assert.equal(cases.length, 2 * (5 * 6 + 3) + (5 + 2));
    assert.equal(Object.keys(results).length, cases.length + multiCases.length);
  });

  it('computes the same attribution maps, loss terms and parameter gradients (≤ 1e-4 relative)', () => {
    const failures: string[] = [];
    let worst = 0;
    for (const c of cases) {
      const m = models.get(c.model)!;
      const expected = tf.tidy(() => {
        const x = tf.tensor4d(m.x, [m.n, m.size, m.size, m.channels]);
        const labels = tf.tensor1d(m.labels, 'int32');
        const maps = c.loss === 'rrr' ? inputGradients(m.model, x).grads : attributionMaps(m.model, x, labels, c.attribution, c.layer, 'label').maps;
        const lossOf = () => guidedLoss(m.model, { loss: c.loss, attribution: c.attribution, layer: c.layer, lambda: c.lambda, alpha: c.alpha, camClass: 'label' }, x, labels, caseHuman.get(c.id) ?? m.human, tf.tensor1d(m.guided), undefined, c.irrelevant ? m.shortcut : undefined);
        return { maps: maps.dataSync() as Float32Array, ...termsAndGradients(m.model, lossOf) };
      });
      const compared = compareCase(c.id, results[c.id], get(`${c.id}-maps.npy`), get(`${c.id}-grads.npy`), expected);
      worst = Math.max(worst, compared.worst);
      if (compared.failure) failures.push(compared.failure);
      if (c.loss !== 'cyborg' && !(expected.terms.guidance > 0)) failures.push(`${c.id}: the guidance term is not exercised (${expected.terms.guidance})`);
    }
    assert.deepEqual(failures, [], `worst relative difference ${worst}`);
  });

  it('multi-label data: the same BCE, guidance term and parameter gradients (≤ 1e-4 relative) for CE only, CYBORG, energy, L1, RRR* and RRR', () => {
    assert.equal(multiCases.length, 2 * 8 + 3);
    const failures: string[] = [];
    let worst = 0;
    for (const c of multiCases) {
      const m = models.get(c.model)!;
      const expected = tf.tidy(() => {
        const x = tf.tensor4d(m.x, [m.n, m.size, m.size, m.channels]);
        const targets = tf.tensor1d(m.targets, 'int32');
        const maps = c.loss === 'none' || c.loss === 'rrr' ? undefined : attributionMaps(m.model, x, targets, c.attribution, c.layer, 'label').maps.dataSync();
        const batch = { x, multiHot: tf.tensor2d(m.multi, [m.n, m.classes]), targets, masks: m.mask, guided: tf.tensor1d(m.mlGuided) };
        const lossOf = () => multiLabelLoss(m.model, { loss: c.loss, attribution: c.attribution, layer: c.layer, lambda: c.lambda, alpha: c.alpha, camClass: 'label' }, batch);
        return { maps, ...termsAndGradients(m.model, lossOf) };
      });
      const compared = compareCase(c.id, results[c.id], expected.maps ? get(`${c.id}-maps.npy`) : undefined, get(`${c.id}-grads.npy`), expected);
      worst = Math.max(worst, compared.worst);
      if (compared.failure) failures.push(compared.failure);
      if (c.loss !== 'none' && c.loss !== 'cyborg' && !(expected.terms.guidance > 0)) failures.push(`${c.id}: the guidance term is not exercised (${expected.terms.guidance})`);
      // BCE of sigmoid outputs: about log 2 per class near initialisation
      if (!(expected.terms.ce > 0.3 && expected.terms.ce < 1.5)) failures.push(`${c.id}: BCE ${expected.terms.ce}`);
    }
    assert.deepEqual(failures, [], `worst relative difference ${worst}`);
  });

  it('computes the same EPG and IoU of the same attribution maps', () => {
    let compared = 0;
    for (const c of cases.filter((x) => x.loss !== 'rrr')) {
      const m = models.get(c.model)!;
      const maps = get(`${c.id}-maps.npy`) as Float32Array;
      const size = Math.round(Math.sqrt(maps.length / m.n));
      const acc = new PointingAccumulator(size, m.size);
      const human = caseHuman.get(c.id) ?? m.human;
      const px = m.size * m.size;
      for (let i = 0; i < m.n; i++) acc.add(maps.subarray(i * size * size, (i + 1) * size * size), human.subarray(i * px, (i + 1) * px));
      const want = results[c.id].pointing!;
      const got = acc.result();
      assert.equal(got.images, want.images);
      assert.ok(Math.abs(got.epg - want.epg) < 1e-5 && Math.abs(got.iou - want.iou) < 1e-9, `${c.id}: tfjs ${JSON.stringify(got)}, torch ${JSON.stringify(want)}`);
      compared++;
    }
    assert.equal(compared, 2 * (5 * 6 + 1) + 5);
  });

  /** Trains `experiment` of `sgt` in both engine processes (tfjs on wasm, one thread) and compares every epoch: train loss terms, val / test loss and `metrics`. */
  async function bothEnginesAgree(sgt: string, runsDir: string, experiment: string, metrics: string[]): Promise<void> {
    await ensureEngineBuilt();
    const torchDir = makeRunDir(runsDir, sgt, experiment);
    const tfDir = makeRunDir(runsDir, sgt, experiment, { train: { engine: 'tfjs', backend: 'wasm' } });
    const t = startTorch(torchDir, python);
    assert.equal(await t.done, 0, t.stderr);
    const j = startTfjs(tfDir, { env: { ...CAPS, SGT_TFJS_THREADS: '1' } });
    assert.equal(await j.done, 0, j.stderr);
    const read = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'summary.json'), 'utf8')) as { history: { metrics: Record<string, Record<string, number>> }[] };
    const [a, b] = [read(torchDir), read(tfDir)];
    for (let e = 0; e < 2; e++) {
      const [x, y] = [a.history[e].metrics, b.history[e].metrics];
      for (const k of ['loss', 'ce', 'guidance']) assert.ok(Math.abs(x.train[k] - y.train[k]) < 2e-3 * Math.max(1, Math.abs(x.train[k])), `epoch ${e + 1} train ${k}: torch ${x.train[k]} vs tfjs ${y.train[k]}`);
      assert.ok(x.train.guidance > 0);
      for (const split of ['val', 'test']) {
        assert.ok(Math.abs(x[split].loss - y[split].loss) < 2e-3, `epoch ${e + 1} ${split} loss: ${x[split].loss} vs ${y[split].loss}`);
        for (const k of metrics) assert.ok(Math.abs(x[split][k] - y[split][k]) < 0.01, `epoch ${e + 1} ${split} ${k}: torch ${x[split][k]} vs tfjs ${y[split][k]}`);
      }
    }
  }

  it('multi-label data: both engine processes (tfjs on wasm) train the same tiny run to the same BCE, guidance, F1, mAP and EPG / IoU', async () => {
    const mlDir = path.join(dir, 'ml');
    fs.cpSync(path.join(root, 'examples', 'shapes-boxes'), path.join(mlDir, 'data'), { recursive: true });
    const sgt = path.join(mlDir, 'ml.sgt');
    fs.writeFileSync(sgt, ML_SGT);
    await bothEnginesAgree(sgt, path.join(mlDir, 'runs'), 'ml', ['accuracy', 'f1', 'map', 'epg', 'iou']);
  });

  for (const experiment of ['g_mid', 'g_rrr']) {
    it(`${experiment}: both engine processes (tfjs on wasm) train the same tiny run to the same losses and EPG / IoU`, async () => {
      const sgt = path.join(dir, 'tiny.sgt');
      fs.writeFileSync(sgt, SGT);
      await bothEnginesAgree(sgt, path.join(dir, 'runs'), experiment, ['epg', 'iou']);
    });
  }
});
