/**
 * The samples of a run — splits, caps and the annotated subset — from the data settings of
 * its experiment. One loader for both engines: the tfjs engine trains on what it returns,
 * and the torch engine on the .npy export of the same (data/export.ts), so both see
 * byte-identical samples by construction.
 *
 * The `annotated` subset: `floor(annotated · N)` of the N training images, the first
 * ones of a permutation drawn with `createRng(seed, 1002)` (Rao et al. keep annotations
 * for `int(f·N)` random training images). An image is guided when it is in the subset and
 * has a human map; with `missing_saliency = zeros` every image is (CYBORG's loader), those
 * without a usable map towards an all-zero map.
 *
 * Test hook (undocumented for users): the environment variables `SGT_MAX_TRAIN_IMAGES` and
 * `SGT_MAX_EVAL_IMAGES` cap the training and the validation / test splits (their first
 * images: the splits are already shuffled by seed), so end-to-end tests run in seconds.
 */
import * as path from 'node:path';
import { buildDecoyMnist, buildMnist } from './decoy-mnist';
import { codeStore, folderSubset, scanFolder, type FolderOptions, type FolderPlan, type ImageSink } from './folder';
import type { ImageSet } from './image-set';
import { createRng } from './rng';

export const ANNOTATED_STREAM = 1002;

/** The settings of an experiment that decide its samples. */
export interface DataSpec {
  seed: number;
  /** Folder that `folder(…)` paths are relative to. */
  baseDir: string;
  source: { type: 'builtin'; name: 'decoy-mnist' | 'mnist' } | { type: 'folder'; path: string };
  imageSize: number;
  annotated: number;
  valSplit: number;
  testSplit: number;
  images?: string;
  labels?: string;
  saliency?: string;
  /** `annotation = boxes`: the boxes file inside the data folder (data/boxes.ts); absent: saliency maps. */
  boxes?: string;
  missingSaliency: 'skip' | 'zeros';
  /** Caps from SGT_MAX_TRAIN_IMAGES / SGT_MAX_EVAL_IMAGES (null: none). */
  maxTrain: number | null;
  maxEval: number | null;
}

export interface RunData {
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  classes: number;
  classNames?: string[];
  /** Several labels per image (labels.csv `cat;dog`): the splits carry `multiLabels`. */
  multiLabel?: boolean;
  /** Per training image: 1 when its human map guides the model. */
  guided: Uint8Array;
  /** Training images in the annotated subset that have a map. */
  annotatedCount: number;
  /** Problems found while loading, each naming a file. */
  warnings: string[];
}

/** How many of `count` images a cap keeps (all of them when the cap is null or ≥ count). */
export function cappedCount(count: number, cap: number | null): number {
  return cap !== null && cap < count ? cap : count;
}

/** The first `n` images of a set (all of them when n ≥ count). */
export function headOf(set: ImageSet, n: number): ImageSet {
  if (cappedCount(set.count, n) === set.count) return set;
  const px = set.size * set.size;
  const ipx = px * set.channels;
  return {
    images: set.images.slice(0, n * ipx),
    channels: set.channels,
    labels: set.labels.slice(0, n),
    saliency: set.saliency.slice(0, n * px),
    size: set.size,
    count: n,
    decoyMask: set.decoyMask.slice(0, n * px),
    hasSaliency: set.hasSaliency?.slice(0, n),
    files: set.files?.slice(0, n),
    decoyShade: set.decoyShade.slice(0, n),
    ...(set.multiLabels ? { multiLabels: set.multiLabels.slice(0, (n * set.multiLabels.length) / set.count) } : {}),
    ...(set.boxes ? { boxes: set.boxes.slice(0, n) } : {}),
  };
}

/** A positive integer cap from the environment, or null. */
export function envCap(env: NodeJS.ProcessEnv, name: string): number | null {
  const v = env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Which training images are guided (see the module comment). */
export function guidedImages(train: Pick<ImageSet, 'count' | 'hasSaliency'>, annotated: number, seed: number, missing: 'skip' | 'zeros'): { guided: Uint8Array; annotatedCount: number } {
  const n = train.count;
  const guided = new Uint8Array(n);
  const order = createRng(seed, ANNOTATED_STREAM).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const take = Math.floor(Math.min(1, Math.max(0, annotated)) * n + 1e-9);
  let annotatedCount = 0;
  for (let i = 0; i < take; i++) {
    const idx = order[i];
    if ((train.hasSaliency?.[idx] ?? 1) === 1) {
      guided[idx] = 1;
      annotatedCount++;
    }
  }
  if (missing === 'zeros') guided.fill(1);
  return { guided, annotatedCount };
}

/** The folder loader's options for a `folder(…)` spec. */
function folderOptions(spec: DataSpec & { source: { type: 'folder' } }): FolderOptions {
  return {
    root: path.resolve(spec.baseDir, spec.source.path),
    images: spec.images,
    labels: spec.labels,
    saliency: spec.saliency,
    boxes: spec.boxes,
    imageSize: spec.imageSize,
    seed: spec.seed,
    valFraction: spec.valSplit,
    testFraction: spec.testSplit,
  };
}

/**
 * A `folder(…)` run's samples without their pixels: the folder's plan (data/folder.ts
 * scanFolder, whose sink receives each image's 8-bit codes once) and the run's splits after
 * the caps — indices into the scan order — with the annotated subset of its training split.
 * loadRunSamples builds the in-memory sets from it and data/folder-export.ts streams the
 * torch export from it: one set of rules for both.
 */
export interface FolderRun {
  plan: FolderPlan;
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
  guided: Uint8Array;
  annotatedCount: number;
}

export function planFolderRun(spec: DataSpec, sink: ImageSink): FolderRun {
  if (spec.source.type !== 'folder') throw new TypeError('planFolderRun: not a folder(…) data set');
  const plan = scanFolder(folderOptions({ ...spec, source: spec.source }), sink);
  const first = (idx: Int32Array, cap: number | null) => idx.subarray(0, cappedCount(idx.length, cap));
  const train = first(plan.splits.train, spec.maxTrain);
  const hasSaliency = Uint8Array.from(train, (i) => plan.hasSaliency[i]);
  const { guided, annotatedCount } = guidedImages({ count: train.length, hasSaliency }, spec.annotated, spec.seed, spec.missingSaliency);
  return { plan, train, val: first(plan.splits.val, spec.maxEval), test: first(plan.splits.test, spec.maxEval), guided, annotatedCount };
}

/** Loads the samples of a run. Throws DataError (data/folder.ts) for unusable data. */
export function loadRunSamples(spec: DataSpec): RunData {
  if (spec.source.type === 'folder') {
    const { store, sink } = codeStore();
    const run = planFolderRun(spec, sink);
    const { plan } = run;
    return {
      train: folderSubset(plan, store, run.train),
      val: folderSubset(plan, store, run.val),
      test: folderSubset(plan, store, run.test),
      classes: plan.classNames.length,
      classNames: plan.classNames,
      ...(plan.multiLabel ? { multiLabel: true } : {}),
      guided: run.guided,
      annotatedCount: run.annotatedCount,
      warnings: plan.warnings,
    };
  }
  const build = spec.source.name === 'mnist' ? buildMnist : buildDecoyMnist;
  const splits = build({ seed: spec.seed, imageSize: spec.imageSize, valFraction: spec.valSplit });
  const train = headOf(splits.train, spec.maxTrain ?? Infinity);
  const { guided, annotatedCount } = guidedImages(train, spec.annotated, spec.seed, spec.missingSaliency);
  return { train, val: headOf(splits.val, spec.maxEval ?? Infinity), test: headOf(splits.test, spec.maxEval ?? Infinity), classes: splits.classes, guided, annotatedCount, warnings: [] };
}
