/**
 * The engine's typed view of `resolved.json` (dsl/resolve.ts fills in every default; the
 * run directory adds `baseDir`). Anything the tfjs engine cannot train is rejected here,
 * before any data is loaded, with a message that says what to change.
 */
import * as path from 'node:path';
import type { NormalizeChoice } from '../../data/normalize';
import type { DataSpec } from '../../data/run-data';
import { TFJS_GUIDANCE } from '../../dsl/engine-support';
import type { AttributionKind, GuidedLayer } from './attribution';
import type { CamClass } from './cam';
import type { GuidanceLoss, IrrelevantRegion } from './guidance';
import type { BackendChoice } from './backend';
import { TFJS_ARCHS, type Arch } from './models';

export type Split = 'train' | 'val' | 'test';

export interface EngineConfig {
  name: string;
  seed: number;
  baseDir: string;
  /** The sample-deciding settings of data/run-data.ts, and the input normalisation. */
  data: Pick<DataSpec, 'source' | 'imageSize' | 'annotated' | 'valSplit' | 'testSplit' | 'images' | 'labels' | 'saliency' | 'boxes'> & { normalize: NormalizeChoice };
  model: { arch: Arch; width: number; hidden: number[] };
  guidance: { loss: GuidanceLoss; alpha: number; camClass: CamClass; missingSaliency: 'skip' | 'zeros'; attribution: AttributionKind; layer: GuidedLayer; lambda: number; irrelevant: IrrelevantRegion };
  train: {
    epochs: number;
    batch: number;
    optimizer: { type: 'sgd'; lr: number; momentum: number; weightDecay: number } | { type: 'adam'; lr: number; beta1: number; beta2: number; weightDecay: number };
    schedule: { type: 'constant' } | { type: 'step'; every: number; gamma: number } | { type: 'cosine' };
    backend: BackendChoice;
    checkpoint: 'best' | 'last';
  };
  preview: { every: number; unit: 'steps' | 'epochs'; samples: number };
  evaluate: { sets: Split[]; metrics: string[] };
}

/** The experiment asks for something this engine cannot do, or resolved.json is malformed. */
export class ConfigError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj {
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
  throw new ConfigError(`resolved.json: ${where} must be an object`);
}

function num(o: Obj, key: string, where: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`resolved.json: ${where}.${key} must be a number`);
  return v;
}

function str(o: Obj, key: string, where: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== 'string') throw new ConfigError(`resolved.json: ${where}.${key} must be a string`);
  return v;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${what} = ${value} is not supported by the tfjs engine (it supports ${allowed.join(', ')})`);
}

/** The combinations an attribution loss can train (the validator and the torch engine say the same). */
function checkAttribution(loss: string, attribution: AttributionKind, layer: GuidedLayer, arch: Arch): void {
  if (attribution === 'cam' && layer !== 'final') throw new ConfigError(`guidance.attribution = cam is defined at layer = final only (got layer = ${layer}): use gradcam or ixg at ${layer}`);
  if (attribution === 'gradcam' && layer === 'input') throw new ConfigError('guidance.attribution = gradcam at layer = input has no channels to weight: use ixg at the input, or layer = mid / final');
  if (arch === 'mlp' && attribution === 'cam') throw new ConfigError(`guidance.loss = ${loss} needs a CAM, which the mlp has not (no conv features): use small_cnn or small_resnet, or attribution = ixg at layer = input`);
  if (arch === 'mlp' && layer !== 'input') throw new ConfigError(`the mlp's hidden layers have no spatial layout, so an attribution at layer = ${layer} cannot be compared with a human map: use layer = input (attribution = ixg)`);
}

export function parseConfig(raw: unknown, runDir: string): EngineConfig {
  const r = obj(raw, 'the file');
  const data = obj(r.data, 'data');
  const model = obj(r.model ?? {}, 'model');
  const guidance = obj(r.guidance ?? {}, 'guidance');
  const train = obj(r.train ?? {}, 'train');
  const preview = obj(r.preview ?? {}, 'preview');
  const evaluate = obj(r.evaluate ?? {}, 'evaluate');

  const source = obj(data.source, 'data.source');
  let src: EngineConfig['data']['source'];
  if (source.type === 'builtin') src = { type: 'builtin', name: oneOf(str(source, 'name', 'data.source'), ['decoy-mnist', 'mnist'] as const, 'data.source builtin') };
  else if (source.type === 'folder') src = { type: 'folder', path: str(source, 'path', 'data.source') };
  else throw new ConfigError(`resolved.json: data.source.type must be builtin or folder, got ${String(source.type)}`);
  const annotation = oneOf(str(data, 'annotation', 'data', 'saliency'), ['saliency', 'boxes'] as const, 'data.annotation');
  if (annotation === 'boxes' && (src.type !== 'folder' || typeof data.boxes !== 'string')) throw new ConfigError('data.annotation = boxes needs folder(…) data and `boxes = "boxes.json"`');

  const arch = oneOf(str(model, 'arch', 'model', 'small_cnn'), TFJS_ARCHS, 'model.arch');
  const hidden = Array.isArray(model.hidden) ? model.hidden.map(Number) : [50, 30];

  // exactly what dsl/engine-support.ts says this engine trains
  const loss: GuidanceLoss = oneOf(str(guidance, 'loss', 'guidance', 'none'), TFJS_GUIDANCE.loss, 'guidance.loss');
  const attribution: AttributionKind = oneOf(str(guidance, 'attribution', 'guidance', 'cam'), TFJS_GUIDANCE.attribution, 'guidance.attribution');
  const layer: GuidedLayer = oneOf(str(guidance, 'layer', 'guidance', 'final'), TFJS_GUIDANCE.layer, 'guidance.layer');
  if (loss !== 'none' && loss !== 'rrr') checkAttribution(loss, attribution, layer, arch);
  const irrelevant: IrrelevantRegion = oneOf(str(guidance, 'irrelevant', 'guidance', 'unannotated'), TFJS_GUIDANCE.irrelevant, 'guidance.irrelevant');

  const opt = obj(train.optimizer ?? { type: 'adam' }, 'train.optimizer');
  const optType = oneOf(str(opt, 'type', 'train.optimizer'), ['sgd', 'adam'] as const, 'train.optimizer');
  const optimizer: EngineConfig['train']['optimizer'] =
    optType === 'sgd'
      ? { type: 'sgd', lr: num(opt, 'lr', 'train.optimizer', 0.01), momentum: num(opt, 'momentum', 'train.optimizer', 0.9), weightDecay: num(opt, 'weight_decay', 'train.optimizer', 0) }
      : {
          type: 'adam',
          lr: num(opt, 'lr', 'train.optimizer', 0.001),
          beta1: num(opt, 'beta1', 'train.optimizer', 0.9),
          beta2: num(opt, 'beta2', 'train.optimizer', 0.999),
          weightDecay: num(opt, 'weight_decay', 'train.optimizer', 0),
        };
  const sched = obj(train.schedule ?? { type: 'constant' }, 'train.schedule');
  const schedType = oneOf(str(sched, 'type', 'train.schedule'), ['constant', 'step', 'cosine'] as const, 'train.schedule');
  const schedule: EngineConfig['train']['schedule'] =
    schedType === 'step'
      ? { type: 'step', every: num(obj(sched.every ?? { value: 10 }, 'train.schedule.every'), 'value', 'train.schedule.every'), gamma: num(sched, 'gamma', 'train.schedule', 0.1) }
      : { type: schedType };

  const every = obj(preview.every ?? { value: 50, unit: 'steps' }, 'preview.every');
  const sets = Array.isArray(evaluate.sets) ? evaluate.sets.map(String) : ['val', 'test'];
  const baseDir = typeof r.baseDir === 'string' ? r.baseDir : path.dirname(runDir);

  const config: EngineConfig = {
    name: typeof r.name === 'string' ? r.name : path.basename(runDir),
    seed: num(r, 'seed', 'the experiment', 0),
    baseDir,
    data: {
      source: src,
      imageSize: num(data, 'image_size', 'data', src.type === 'builtin' ? 28 : 224),
      annotated: num(data, 'annotated', 'data', 1),
      valSplit: num(data, 'val_split', 'data', 0.1),
      testSplit: num(data, 'test_split', 'data', 0.1),
      images: typeof data.images === 'string' ? data.images : undefined,
      labels: typeof data.labels === 'string' ? data.labels : undefined,
      saliency: typeof data.saliency === 'string' ? data.saliency : undefined,
      // boxes become the human maps (data/boxes.ts), so CYBORG trains on them as on saliency maps
      ...(annotation === 'boxes' ? { boxes: data.boxes as string } : {}),
      normalize: oneOf(str(data, 'normalize', 'data', 'none'), ['none', 'dataset', 'imagenet'] as const, 'data.normalize'),
    },
    model: { arch, width: num(model, 'width', 'model', 32), hidden },
    guidance: {
      loss,
      alpha: num(guidance, 'alpha', 'guidance', 0.5),
      camClass: oneOf(str(guidance, 'cam_class', 'guidance', 'label'), ['label', 'predicted'] as const, 'guidance.cam_class'),
      missingSaliency: oneOf(str(guidance, 'missing_saliency', 'guidance', 'skip'), ['skip', 'zeros'] as const, 'guidance.missing_saliency'),
      attribution,
      layer,
      lambda: num(guidance, 'lambda', 'guidance', loss === 'rrr' ? 1000 : 1),
      irrelevant,
    },
    train: {
      epochs: num(train, 'epochs', 'train', 5),
      batch: num(train, 'batch', 'train', 64),
      optimizer,
      schedule,
      backend: oneOf(str(train, 'backend', 'train', 'auto'), ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const, 'train.backend'),
      checkpoint: oneOf(str(train, 'checkpoint', 'train', 'best'), ['best', 'last'] as const, 'train.checkpoint'),
    },
    preview: {
      every: num(every, 'value', 'preview.every'),
      unit: oneOf(str(every, 'unit', 'preview.every', 'steps'), ['steps', 'epochs'] as const, 'preview.every unit'),
      samples: num(preview, 'samples', 'preview', 8),
    },
    evaluate: {
      sets: sets.map((s) => oneOf(s, ['train', 'val', 'test'] as const, 'evaluate.sets')),
      metrics: Array.isArray(evaluate.metrics) ? evaluate.metrics.map(String) : ['accuracy', 'saliency_mse', 'saliency_corr'],
    },
  };
  if (!Number.isInteger(config.train.epochs) || config.train.epochs < 1) throw new ConfigError('train.epochs must be a positive integer');
  if (!Number.isInteger(config.train.batch) || config.train.batch < 1) throw new ConfigError('train.batch must be a positive integer');
  return config;
}
