/**
 * The training loop of the tfjs engine: data → model → epochs of seeded mini-batches →
 * per-epoch evaluation, checkpoints and previews → summary.json. Emits the RunEvents of
 * protocol.ts through the RunContext (main.ts writes them to events.jsonl and stdout).
 *
 * Determinism and resume: everything random is a pure function of the seed — weights
 * (models.ts), the annotated subset (data.ts) and the shuffle of epoch e
 * (`createRng(seed, 2000 + e)`); kernels are single-threaded and deterministic on the
 * cpu and wasm backends. Checkpoints are taken at epoch ends with the optimizer state, so
 * `--resume` recomputes exactly what an uninterrupted run would have.
 *
 * Cost control: `step` events every STEP_EVENT_EVERY steps and at the last step of each
 * epoch (loss, CE, guidance and accuracy are means over the images since the previous
 * event); evaluation batches have the training batch size; the `train` split's epoch
 * metrics are the running means of the epoch (no second pass over the training set).
 */
import { gatherImages, gatherRows, type ImageSet } from '../../data/image-set';
import { NormalizationError, resolveNormalization, type Normalization } from '../../data/normalize';
import { createRng } from '../../data/rng';
import type { Metrics, RunEvent } from '../../protocol';
import type { RunWriter } from '../../runs/run-dir';
import type { BackendSelection } from './backend';
import { loadCamProbe } from '../../data/cam-probe';
import { camTargets, normalizedCam, saliencyAtCamSize } from './cam';
import { CamProbeRecorder } from './cam-file';
import { readLastPointer, restoreCheckpoint, saveCheckpoint, type BestInfo, type EpochRecord, type LastPointer } from './checkpoint';
import { ConfigError, type EngineConfig, type Split } from './config';
import { loadRunData, runDataSpec, type RunData } from './data';
import { argmaxRows, PointingAccumulator, rocAuc, SaliencyAgreementAccumulator } from './metrics';
import { createModel, parameterCount, type Model } from './models';
import { createOptimizer, learningRate, type Optimizer } from './optimizer';
import { renderOverlay } from './overlay';
import { GradientWorker, shardBounds, threadCount, WORKER_ROLE, type WorkerInit } from './parallel';
import { attributionMaps } from './attribution';
import { describeLoss, evaluationAttribution, isCyborgCam } from './guidance';
import { checkMultiLabelConfig, multiHotRows, MultiLabelTargets, MULTI_LABEL_METRICS } from './multi-label';
import { evaluateMultiLabel } from './multi-label-eval';
import { needsHumanMaps, needsShortcut, readWeights, shardGradients, type LossConfig, type ShardInput } from './step';
import { tf } from './tf';


/** The run's input normalisation; an impossible one (ImageNet statistics on grayscale) is a configuration error. */
function runNormalization(config: EngineConfig, train: ImageSet): Normalization | undefined {
  try {
    return resolveNormalization(config.data.normalize, train);
  } catch (e) {
    if (e instanceof NormalizationError) throw new ConfigError(e.message);
    throw e;
  }
}

export const STEP_EVENT_EVERY = 10;
export const SHUFFLE_STREAM_BASE = 2000;
/** Metrics the engine computes; others are reported once as not available. */
export const SUPPORTED_METRICS = ['accuracy', 'auc', 'saliency_mse', 'saliency_corr', 'consistency', 'epg', 'iou'] as const;

type Body<E> = E extends unknown ? Omit<E, 'time'> : never;
export type RunEventBody = Body<RunEvent>;

export interface RunContext {
  runDir: string;
  runId: string;
  resume: boolean;
  writer: RunWriter;
  emit(e: RunEventBody): void;
  log(level: 'info' | 'warning' | 'error', message: string): void;
  /** True once a cancel (SIGTERM / SIGINT) has been asked for. */
  cancelRequested(): boolean;
  env: NodeJS.ProcessEnv;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The loss stopped being a number: the user's to fix (learning rate), not a crash. */
export class DivergedError extends Error {}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

const range = (from: number, to: number) => Int32Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

function round(x: number, digits = 6): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

function roundMetrics(m: Metrics): Metrics {
  const out: Metrics = {};
  for (const [k, v] of Object.entries(m)) if (Number.isFinite(v)) out[k] = round(v);
  return out;
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

export interface TrainingSummary {
  experiment: string;
  run: string;
  engine: 'tfjs';
  backend: string;
  backendReason: string;
  seed: number;
  epochs: number;
  stepsPerEpoch: number;
  steps: number;
  checkpoint: 'best' | 'last';
  /** The epoch whose weights are the result (best validation accuracy, or the last). */
  selectedEpoch: number;
  bestEpoch: number | null;
  /** Metrics of the selected epoch by split: the run's result. */
  metrics: Partial<Record<Split, Metrics>>;
  /** Metrics of the last epoch. */
  lastEpoch: Partial<Record<Split, Metrics>>;
  history: EpochRecord[];
  data: { train: number; val: number; test: number; guided: number; imageSize: number; channels: number; classes: number; classNames?: string[] };
  model: { arch: string; width?: number; hidden?: number[]; parameters: number };
  seconds: { total: number; data: number; train: number; eval: number };
  imagesPerSecond: number;
  /** Threads computing gradients (parallel.ts). */
  threads: number;
  resumed: boolean;
  startedAt: string;
  finishedAt: string;
}

class Trainer {
  private readonly model: Model;
  private readonly optimizer: Optimizer;
  private readonly camSize?: number;
  /** H↓ of every training image (cyborg only). */
  private readonly trainSaliency?: Float32Array;
  private readonly previewSet?: { set: ImageSet; idx: Int32Array };
  readonly stepsPerEpoch: number;
  private readonly metricsWanted: Set<string>;
  private readonly lossConfig: LossConfig;
  /** `consistency` wanted: records the kept checkpoint's CAMs on the CAM probe (cam-file.ts). */
  private readonly camProbe?: CamProbeRecorder;
  private workers: GradientWorker[] = [];
  private weightsDirty = true;
  /** Multi-label data: this epoch's target classes (multi-label.ts). */
  private readonly multi?: MultiLabelTargets;

  constructor(
    private readonly ctx: RunContext,
    private readonly config: EngineConfig,
    private readonly data: RunData,
  ) {
    const g = config.guidance;
    this.lossConfig = { loss: g.loss, alpha: g.alpha, camClass: g.camClass, attribution: g.attribution, layer: g.layer, lambda: g.lambda, irrelevant: g.irrelevant };
    const { train } = data;
    this.model = createModel({
      arch: config.model.arch,
      width: config.model.width,
      hidden: config.model.hidden,
      imageSize: train.size,
      channels: train.channels,
      classes: data.classes,
      seed: config.seed,
      normalize: runNormalization(config, train),
    });
    this.optimizer = createOptimizer(config.train.optimizer, this.model.params);
    this.camSize = this.model.featureSize;
    if (this.camSize !== undefined && this.camSize < 1) throw new ConfigError(`data.image_size = ${train.size} is too small for ${config.model.arch}: its final feature map would be empty`);
    if (data.multiLabel) {
      checkMultiLabelConfig(this.lossConfig);
      this.multi = new MultiLabelTargets(train, data.classes, config.seed, data.guided);
    }
    if (isCyborgCam(config.guidance) && this.camSize && !this.multi) this.trainSaliency = saliencyAtCamSize(train.saliency, train.count, train.size, this.camSize);
    this.stepsPerEpoch = Math.ceil(train.count / config.train.batch);
    const previewFrom = [data.val, data.test, data.train].find((s) => s.count > 0);
    if (previewFrom && config.preview.samples > 0 && this.model.headWeight) {
      this.previewSet = { set: previewFrom, idx: range(0, Math.min(config.preview.samples, previewFrom.count)) };
    }
    this.metricsWanted = new Set(config.evaluate.metrics);
    if (this.metricsWanted.has('consistency') && this.model.headWeight && this.camSize) {
      this.camProbe = new CamProbeRecorder(loadCamProbe(runDataSpec(config, ctx.env), data), this.model, config.train.batch);
    }
  }

  /** Starts the data-parallel gradient workers (parallel.ts); returns the thread count. */
  async startWorkers(backend: BackendSelection): Promise<number> {
    // workers run this bundle again; from TypeScript sources (tests through tsx) there is none
    const script = __filename;
    let threads = threadCount(backend.backend, this.config.train.batch, this.ctx.env);
    if (!script.endsWith('.js') || (backend.tfBackend !== 'wasm' && backend.tfBackend !== 'cpu')) threads = 1;
    const init: WorkerInit = { role: WORKER_ROLE, backend: backend.tfBackend as 'wasm' | 'cpu', model: this.model.spec, loss: this.lossConfig };
    this.workers = await Promise.all(Array.from({ length: threads - 1 }, () => GradientWorker.start(script, init)));
    return threads;
  }

  async dispose(): Promise<void> {
    this.model.dispose();
    this.optimizer.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }

  /** Problems with the requested metrics / previews, said once at the start. */
  notes(): string[] {
    const notes: string[] = [];
    const unsupported = this.config.evaluate.metrics.filter((m) => !(SUPPORTED_METRICS as readonly string[]).includes(m));
    if (unsupported.length) notes.push(`the tfjs engine does not compute ${unsupported.join(', ')} yet; skipped`);
    if (this.metricsWanted.has('auc') && this.data.classes !== 2) notes.push(`auc needs a binary task (this one has ${this.data.classes} classes); skipped`);
    if (this.multi) this.multiLabelNotes(notes);
    if (!this.model.headWeight) {
      if (this.metricsWanted.has('saliency_mse') || this.metricsWanted.has('saliency_corr')) notes.push(`${this.config.model.arch} has no CAM: saliency metrics skipped`);
      if (this.metricsWanted.has('consistency')) notes.push(`${this.config.model.arch} has no CAM: no CAM file, so no consistency`);
      if (this.config.preview.samples > 0) notes.push(`${this.config.model.arch} has no CAM: no preview overlays`);
    }
    return notes;
  }

  /** Multi-label data: its metric notes in place of the single-label ones (the torch engine's wording). */
  private multiLabelNotes(notes: string[]): void {
    const kept = notes.filter((n) => !n.startsWith('the tfjs engine does not compute') && !n.startsWith('auc needs a binary task'));
    const skipped = this.config.evaluate.metrics.filter((m) => !(MULTI_LABEL_METRICS as readonly string[]).includes(m));
    kept.push(
      `multi-label data (${this.data.classes} classes): sigmoid outputs and binary cross-entropy (the loss's ce part), accuracy = exact match` +
        (this.config.guidance.loss !== 'none' ? '; one target class per image and epoch, sampled among its labels, guides the attribution' : ''),
    );
    if (skipped.length) kept.push(`${skipped.join(', ')} not computed for multi-label data (it computes ${MULTI_LABEL_METRICS.join(', ')}); skipped`);
    notes.splice(0, notes.length, ...kept);
  }

  /** Multi-label data: draws epoch `epoch`'s (0-based) target classes. */
  setEpoch(epoch: number): void {
    this.multi?.setEpoch(epoch);
  }

  /** Per image of `idx`: 1 when it gets the guidance term (multi-label: its target class decides). */
  private guidedFlags(idx: Int32Array): Float32Array {
    return this.multi ? this.multi.guided(idx) : Float32Array.from(idx, (i) => this.data.guided[i]);
  }

  /** The input normalisation the model applies, if any. */
  normalization(): Normalization | undefined {
    return this.model.spec.normalize;
  }

  describeModel(): TrainingSummary['model'] {
    const { arch, width, hidden } = this.config.model;
    return { arch, ...(arch === 'mlp' ? { hidden } : { width }), parameters: parameterCount(this.model) };
  }

  resumeFrom(pointer: LastPointer): void {
    restoreCheckpoint(this.ctx.runDir, pointer.manifest, this.model, this.optimizer);
    this.optimizer.state.t = pointer.optimizer.t;
  }

  /** A shard of the training set as plain arrays with their own buffers (they may be transferred to a worker). */
  private shardInput(idx: Int32Array): ShardInput {
    const { train } = this.data;
    const images = { images: gatherImages(train, idx), n: idx.length, size: train.size, channels: train.channels, labels: Int32Array.from(idx, (i) => train.labels[i]) };
    if (this.multi) {
      const { masks, guided } = this.multi.guidance(idx);
      return { ...images, guided, human: this.lossConfig.loss !== 'none' ? masks : undefined, multiLabels: multiHotRows(train, this.data.classes, idx), targets: this.multi.targetsOf(idx) };
    }
    return {
      ...images,
      saliency: this.trainSaliency && this.camSize ? gatherRows(this.trainSaliency, this.camSize ** 2, idx) : undefined,
      camSize: this.camSize,
      guided: Float32Array.from(idx, (i) => this.data.guided[i]),
      human: needsHumanMaps(this.lossConfig) ? gatherRows(train.saliency, train.size * train.size, idx) : undefined,
      irrelevant: needsShortcut(this.lossConfig) ? gatherRows(train.decoyMask, train.size * train.size, idx) : undefined,
    };
  }

  /**
   * One optimisation step over the images `idx`: shards on the workers and the main thread,
   * gradients added in shard order, one update. Returns the batch's loss terms and the
   * number of correct predictions.
   */
  async trainStep(idx: Int32Array, lr: number): Promise<{ loss: number; ce: number; guidance: number; correct: number }> {
    const { model } = this;
    const norm = { images: idx.length, guided: this.guidedFlags(idx).reduce((s, g) => s + g, 0) };
    const bounds = shardBounds(idx.length, 1 + this.workers.length);
    if (bounds.length > 2 && this.weightsDirty) {
      const weights = readWeights(model);
      for (const w of this.workers) w.setWeights(weights);
      this.weightsDirty = false;
    }
    const remote = bounds.slice(2).map((end, s) => this.workers[s].compute(this.shardInput(idx.subarray(bounds[s + 1], end)), norm));
    const local = shardGradients(model, this.lossConfig, this.shardInput(idx.subarray(bounds[0], bounds[1])), norm);
    let results;
    try {
      results = await Promise.all(remote);
    } catch (e) {
      tf.dispose(Object.values(local.grads));
      throw e;
    }
    let grads = local.grads;
    if (results.length) {
      grads = tf.tidy(() => {
        const sum: tf.NamedTensorMap = {};
        let offset = 0;
        for (const p of model.params) {
          const name = p.variable.name;
          const size = p.variable.size;
          let g = local.grads[name] ?? tf.zerosLike(p.variable);
          for (const r of results) g = tf.add(g, tf.tensor(r.grads.subarray(offset, offset + size), p.variable.shape));
          sum[name] = g;
          offset += size;
        }
        return sum;
      });
      tf.dispose(Object.values(local.grads));
    }
    this.optimizer.apply(grads, lr);
    tf.dispose(Object.values(grads));
    this.weightsDirty = true;
    const total = { loss: local.loss, ce: local.ce, guidance: local.guidance, correct: local.correct };
    for (const r of results) {
      total.loss += r.loss;
      total.ce += r.ce;
      total.guidance += r.guidance;
      total.correct += r.correct;
    }
    if (!Number.isFinite(total.loss)) throw new DivergedError(`the loss became ${total.loss} at learning rate ${lr}: training diverged; lower train.optimizer.lr`);
    return total;
  }

  /** Evaluates a split in batches: accuracy, loss (mean CE), AUC, saliency agreement. */
  async evaluate(set: ImageSet): Promise<Metrics> {
    const { model, config, data } = this;
    const batch = config.train.batch;
    if (this.multi) {
      const explain = evaluationAttribution(config.guidance, !!model.headWeight);
      const checkCancel = () => {
        if (this.ctx.cancelRequested()) throw new CancelledError();
      };
      return roundMetrics(await evaluateMultiLabel(model, set, { classes: data.classes, batch, wanted: this.metricsWanted, explain, camClass: config.guidance.camClass, checkCancel }));
    }
    const k = data.classes;
    const wantSaliency = (this.metricsWanted.has('saliency_mse') || this.metricsWanted.has('saliency_corr')) && !!model.headWeight && !!this.camSize;
    const agreement = wantSaliency ? new SaliencyAgreementAccumulator(this.camSize!, set.size) : undefined;
    const wantAuc = this.metricsWanted.has('auc') && k === 2;
    // EPG / IoU: the evaluation attribution of the images with a human map (guidance.ts)
    const explain = this.metricsWanted.has('epg') || this.metricsWanted.has('iou') ? evaluationAttribution(config.guidance, !!model.headWeight) : undefined;
    let pointing: PointingAccumulator | undefined;
    const scores = new Float32Array(set.count);
    let correct = 0;
    let ceSum = 0;
    const px = set.size * set.size;
    for (let from = 0; from < set.count; from += batch) {
      if (this.ctx.cancelRequested()) throw new CancelledError();
      const idx = range(from, Math.min(from + batch, set.count));
      const n = idx.length;
      const labels = set.labels.subarray(from, from + n);
      const [probs, cams] = tf.tidy(() => {
        const out = model.forward(tf.tensor4d(gatherImages(set, idx), [n, set.size, set.size, set.channels]));
        const p = tf.softmax(out.logits);
        if (!agreement || !out.features) return [p.dataSync(), undefined];
        const targets = camTargets(out.logits, tf.tensor1d(labels, 'int32'), config.guidance.camClass);
        return [p.dataSync(), normalizedCam(out.features, model.headWeight as tf.Tensor2D, targets).dataSync()];
      });
      const keep = explain ? Int32Array.from(idx).filter((i) => (set.hasSaliency?.[i] ?? 1) === 1) : new Int32Array(0);
      if (explain && keep.length) {
        const { maps, size } = tf.tidy(() => {
          const x = tf.tensor4d(gatherImages(set, keep), [keep.length, set.size, set.size, set.channels]);
          const a = attributionMaps(model, x, tf.tensor1d(Int32Array.from(keep, (i) => set.labels[i]), 'int32'), explain.kind, explain.layer, config.guidance.camClass).maps;
          return { maps: a.dataSync() as Float32Array, size: a.shape[1] };
        });
        pointing ??= new PointingAccumulator(size, set.size);
        keep.forEach((i, j) => pointing!.add(maps.subarray(j * size * size, (j + 1) * size * size), set.saliency.subarray(i * px, (i + 1) * px)));
      }
      const predicted = argmaxRows(probs, n, k);
      for (let i = 0; i < n; i++) {
        if (predicted[i] === labels[i]) correct++;
        ceSum += -Math.log(Math.max(probs[i * k + labels[i]], 1e-30));
        if (wantAuc) scores[from + i] = probs[i * k + 1];
        const hasMap = (set.hasSaliency?.[from + i] ?? 1) === 1;
        if (agreement && cams && hasMap) {
          const c2 = this.camSize! ** 2;
          agreement.add(cams.subarray(i * c2, (i + 1) * c2) as Float32Array, set.saliency.subarray((from + i) * px, (from + i + 1) * px));
        }
      }
      await nextTick();
    }
    // accuracy and loss always: model selection needs the accuracy, and both are cheap
    const m: Metrics = { accuracy: correct / set.count, loss: ceSum / set.count };
    if (wantAuc) m.auc = rocAuc(scores, Array.from(set.labels, (l) => l === 1));
    if (pointing && pointing.result().images > 0) {
      const r = pointing.result();
      if (this.metricsWanted.has('epg')) m.epg = r.epg;
      if (this.metricsWanted.has('iou')) m.iou = r.iou;
    }
    if (agreement && agreement.result().images > 0) {
      const r = agreement.result();
      if (this.metricsWanted.has('saliency_mse')) m.saliency_mse = r.mse;
      if (this.metricsWanted.has('saliency_corr')) m.saliency_corr = r.corr;
    }
    return roundMetrics(m);
  }

  /** Renders the preview samples' overlays and emits the `overlay` event. */
  preview(epoch: number, step: number): void {
    if (!this.previewSet || !this.model.headWeight || !this.camSize) return;
    const { set, idx } = this.previewSet;
    const n = idx.length;
    const camSize = this.camSize;
    const cams = tf.tidy(() => {
      const out = this.model.forward(tf.tensor4d(gatherImages(set, idx), [n, set.size, set.size, set.channels]));
      const targets = camTargets(out.logits, tf.tensor1d(Int32Array.from(idx, (i) => set.labels[i]), 'int32'), this.config.guidance.camClass);
      return normalizedCam(out.features!, this.model.headWeight as tf.Tensor2D, targets).dataSync() as Float32Array;
    });
    const px = set.size * set.size;
    const ipx = px * set.channels;
    const pngs = Array.from(idx, (i, j) =>
      renderOverlay({
        image: set.images.subarray(i * ipx, (i + 1) * ipx),
        channels: set.channels,
        size: set.size,
        human: (set.hasSaliency?.[i] ?? 1) === 1 ? set.saliency.subarray(i * px, (i + 1) * px) : undefined,
        cam: cams.subarray(j * camSize * camSize, (j + 1) * camSize * camSize),
        camSize,
      }),
    );
    const files = this.ctx.writer.overlay(epoch, step, pngs);
    this.ctx.emit({ type: 'overlay', epoch, step, files });
  }

  /** Writes the CAM file (cams/probe.json) for the current weights, when `consistency` is wanted. */
  recordCams(epoch: number, step: number): void {
    this.camProbe?.write(this.ctx.runDir, epoch, step);
  }

  checkpoint(last: Omit<LastPointer, 'manifest' | 'format'>, isBest: boolean): string {
    return saveCheckpoint(this.ctx.writer, this.model, this.optimizer, last, isBest);
  }
}

/** Runs (or resumes) the training of one run directory. Throws CancelledError, DataError, ConfigError, … */
export async function runTraining(ctx: RunContext, config: EngineConfig, backend: BackendSelection): Promise<TrainingSummary> {
  const startedAt = new Date();
  const wall0 = performance.now();
  const data = loadRunData(config, ctx.env);
  const dataSeconds = (performance.now() - wall0) / 1000;
  if (data.train.count === 0) throw new Error('the training split is empty');
  const trainer = new Trainer(ctx, config, data);
  try {
    const threads = await trainer.startWorkers(backend);
    return await trainLoop(ctx, config, backend, data, trainer, { startedAt, wall0, dataSeconds, threads });
  } finally {
    await trainer.dispose();
  }
}

async function trainLoop(
  ctx: RunContext,
  config: EngineConfig,
  backend: BackendSelection,
  data: RunData,
  trainer: Trainer,
  times: { startedAt: Date; wall0: number; dataSeconds: number; threads: number },
): Promise<TrainingSummary> {
  const { epochs, batch } = config.train;
  const stepsPerEpoch = trainer.stepsPerEpoch;
  const totalSteps = epochs * stepsPerEpoch;

  let startEpoch = 0;
  let step = 0;
  let best: BestInfo | null = null;
  let history: EpochRecord[] = [];
  const seconds = { train: 0, eval: 0, trainImages: 0 };
  let resumedFrom: { epoch: number; step: number } | undefined;
  let resumeNote: string | undefined;
  if (ctx.resume) {
    const pointer = readLastPointer(ctx.runDir);
    if (pointer) {
      trainer.resumeFrom(pointer);
      startEpoch = pointer.epoch;
      step = pointer.step;
      best = pointer.best;
      history = pointer.history;
      Object.assign(seconds, pointer.seconds);
      resumedFrom = { epoch: pointer.epoch, step: pointer.step };
      if (pointer.step !== pointer.epoch * stepsPerEpoch) resumeNote = `the checkpoint was taken with ${pointer.step / pointer.epoch} steps per epoch, now ${stepsPerEpoch}: did the data change?`;
    } else {
      resumedFrom = { epoch: 0, step: 0 };
      resumeNote = 'no checkpoint yet: starting from the beginning';
    }
  }

  ctx.emit({
    type: 'started',
    run: ctx.runId,
    experiment: config.name,
    engine: 'tfjs',
    backend: backend.backend,
    backendReason: backend.reason,
    seed: config.seed,
    epochs,
    stepsPerEpoch,
    ...(resumedFrom ? { resumedFrom } : {}),
  });
  ctx.log('info', `backend: ${backend.reason}`);
  const source = config.data.source.type === 'builtin' ? `builtin("${config.data.source.name}")` : `folder("${config.data.source.path}")`;
  ctx.log(
    'info',
    `data ${source}: ${data.train.count} train / ${data.val.count} val / ${data.test.count} test images, ${data.train.size} px, ${data.train.channels} channel(s), ${data.classes} classes` +
      (config.guidance.loss === 'none' ? '' : `; ${data.guided.reduce((a, b) => a + b, 0)} training images guided by human saliency`) +
      ` (loaded in ${times.dataSeconds.toFixed(1)} s)`,
  );
  const model = trainer.describeModel();
  ctx.log('info', `model ${model.arch}: ${model.parameters} parameters; ${describeLoss(config.guidance)}; ${epochs} epochs × ${stepsPerEpoch} steps of ${batch}; ${times.threads} thread(s)`);
  const norm = trainer.normalization();
  if (norm) ctx.log('info', `inputs normalised (data.normalize = ${config.data.normalize}): mean ${norm.mean.map((v) => v.toFixed(4)).join(', ')}, std ${norm.std.map((v) => v.toFixed(4)).join(', ')}`);
  for (const w of data.warnings) ctx.log('warning', w);
  for (const n of trainer.notes()) ctx.log('warning', n);
  if (resumeNote) ctx.log(resumedFrom?.step ? 'warning' : 'info', resumeNote);

  const previewSteps = config.preview.unit === 'steps' ? Math.max(1, Math.round(config.preview.every)) : 0;
  const previewEpochs = config.preview.unit === 'epochs' ? Math.max(1, Math.round(config.preview.every)) : 0;
  const evalSets = config.evaluate.sets.filter((s): s is 'val' | 'test' => s !== 'train');

  for (let e = startEpoch; e < epochs; e++) {
    const epoch = e + 1;
    const order = createRng(config.seed, SHUFFLE_STREAM_BASE + e).shuffle(range(0, data.train.count));
    trainer.setEpoch(e);
    const epochSum = { loss: 0, ce: 0, guidance: 0, correct: 0, images: 0 };
    let window = { loss: 0, ce: 0, guidance: 0, correct: 0, images: 0, since: performance.now() };
    for (let b = 0; b < stepsPerEpoch; b++) {
      if (ctx.cancelRequested()) throw new CancelledError();
      const idx = order.subarray(b * batch, Math.min((b + 1) * batch, data.train.count));
      const lr = learningRate(config.train, e, step, totalSteps);
      const t0 = performance.now();
      const r = await trainer.trainStep(idx, lr);
      seconds.train += (performance.now() - t0) / 1000;
      seconds.trainImages += idx.length;
      step++;
      for (const acc of [epochSum, window]) {
        acc.loss += r.loss * idx.length;
        acc.ce += r.ce * idx.length;
        acc.guidance += r.guidance * idx.length;
        acc.correct += r.correct;
        acc.images += idx.length;
      }
      if (step % STEP_EVENT_EVERY === 0 || b === stepsPerEpoch - 1) {
        const elapsed = (performance.now() - window.since) / 1000;
        ctx.emit({
          type: 'step',
          epoch,
          step,
          loss: round(window.loss / window.images),
          ce: round(window.ce / window.images),
          guidance: round(window.guidance / window.images),
          accuracy: round(window.correct / window.images),
          lr: round(lr),
          imagesPerSecond: round(window.images / Math.max(elapsed, 1e-9), 4),
        });
        window = { loss: 0, ce: 0, guidance: 0, correct: 0, images: 0, since: performance.now() };
      }
      if (previewSteps && step % previewSteps === 0) trainer.preview(epoch, step);
      await nextTick();
    }

    const metrics: EpochRecord['metrics'] = {
      train: roundMetrics({
        loss: epochSum.loss / epochSum.images,
        ce: epochSum.ce / epochSum.images,
        guidance: epochSum.guidance / epochSum.images,
        accuracy: epochSum.correct / epochSum.images,
      }),
    };
    const t0 = performance.now();
    for (const split of evalSets) if (data[split].count > 0) metrics[split] = await trainer.evaluate(data[split]);
    seconds.eval += (performance.now() - t0) / 1000;
    for (const split of ['train', 'val', 'test'] as const) {
      const m = metrics[split];
      if (m) ctx.emit({ type: 'epoch', epoch, step, split, metrics: m });
    }

    const score = selectionScore(metrics);
    const isBest = best === null || score > best.score;
    if (isBest) best = { epoch, step, score, manifest: '' };
    history.push({ epoch, step, metrics });
    // the CAM file follows the weights the run keeps; written before the checkpoint, so a
    // run killed in between recomputes it on resume
    if (config.train.checkpoint === 'best' ? isBest : epoch === epochs) trainer.recordCams(epoch, step);
    const rel = trainer.checkpoint(
      {
        epoch,
        step,
        optimizer: { type: config.train.optimizer.type, t: step },
        rng: { seed: config.seed, shuffleStreamBase: SHUFFLE_STREAM_BASE, nextEpoch: epoch },
        best,
        history,
        seconds,
      },
      isBest,
    );
    if (isBest && best) best.manifest = rel.split('/').pop()!;
    ctx.emit({ type: 'checkpoint', epoch, step, path: rel, best: isBest });
    if (previewEpochs && epoch % previewEpochs === 0) trainer.preview(epoch, step);
  }

  const last = history[history.length - 1];
  const selected = config.train.checkpoint === 'best' && best ? (history.find((h) => h.epoch === best!.epoch) ?? last) : last;
  const totalSeconds = (performance.now() - times.wall0) / 1000;
  const summary: TrainingSummary = {
    experiment: config.name,
    run: ctx.runId,
    engine: 'tfjs',
    backend: backend.backend,
    backendReason: backend.reason,
    seed: config.seed,
    epochs,
    stepsPerEpoch,
    steps: step,
    checkpoint: config.train.checkpoint,
    selectedEpoch: selected?.epoch ?? 0,
    bestEpoch: best?.epoch ?? null,
    metrics: selected?.metrics ?? {},
    lastEpoch: last?.metrics ?? {},
    history,
    data: {
      train: data.train.count,
      val: data.val.count,
      test: data.test.count,
      guided: data.guided.reduce((a, b) => a + b, 0),
      imageSize: data.train.size,
      channels: data.train.channels,
      classes: data.classes,
      ...(data.classNames ? { classNames: data.classNames } : {}),
    },
    model,
    seconds: { total: round(totalSeconds, 4), data: round(times.dataSeconds, 4), train: round(seconds.train, 4), eval: round(seconds.eval, 4) },
    imagesPerSecond: round(seconds.trainImages / Math.max(seconds.train, 1e-9), 4),
    threads: times.threads,
    resumed: !!resumedFrom,
    startedAt: times.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
  ctx.writer.summary(summary);
  return summary;
}

/** Model selection: validation accuracy, else training accuracy. */
function selectionScore(m: EpochRecord['metrics']): number {
  const v = m.val;
  if (v) return v.accuracy ?? 0;
  return m.train?.accuracy ?? 0;
}

/** One line for the `finished` event. */
export function summaryLine(s: TrainingSummary): string {
  const parts: string[] = [];
  for (const split of ['test', 'val'] as const) {
    const m = s.metrics[split];
    if (m?.accuracy !== undefined) parts.push(`${split} accuracy ${m.accuracy.toFixed(3)}`);
    if (m?.saliency_corr !== undefined && split === 'test') parts.push(`test saliency corr ${m.saliency_corr.toFixed(3)}`);
  }
  const which = s.checkpoint === 'best' ? `best epoch ${s.selectedEpoch} of ${s.epochs}` : `last epoch ${s.selectedEpoch}`;
  return `${parts.join(', ') || 'done'} (${which}) in ${formatSeconds(s.seconds.total)} on ${s.backend}, ${Math.round(s.imagesPerSecond)} images/s`;
}
