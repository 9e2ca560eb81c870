/**
 * Training data for a run: the splits of the configured data set, and which training
 * images are guided by their human map.
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
import { buildDecoyMnist, buildMnist } from '../../data/decoy-mnist';
import { loadFolder } from '../../data/folder';
import type { ImageSet } from '../../data/image-set';
import { createRng } from '../../data/rng';
import type { EngineConfig } from './config';

export const ANNOTATED_STREAM = 1002;

export interface RunData {
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  classes: number;
  classNames?: string[];
  /** Per training image: 1 when its human map guides the model. */
  guided: Uint8Array;
  /** Training images in the annotated subset that have a map. */
  annotatedCount: number;
  /** Problems found while loading, each naming a file. */
  warnings: string[];
}

/** The first `n` images of a set (all of them when n ≥ count). */
export function headOf(set: ImageSet, n: number): ImageSet {
  if (!(n < set.count)) return set;
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
  };
}

function envCap(env: NodeJS.ProcessEnv, name: string): number {
  const v = env[name];
  if (v === undefined || v === '') return Infinity;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : Infinity;
}

/** Which training images are guided (see the module comment). */
export function guidedImages(train: ImageSet, annotated: number, seed: number, missing: 'skip' | 'zeros'): { guided: Uint8Array; annotatedCount: number } {
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

/** Loads the data set of a run. Throws DataError (data/folder.ts) for unusable data. */
export function loadRunData(config: EngineConfig, env: NodeJS.ProcessEnv = process.env): RunData {
  const { data } = config;
  let splits: { train: ImageSet; val: ImageSet; test: ImageSet; classes: number };
  let classNames: string[] | undefined;
  let warnings: string[] = [];
  if (data.source.type === 'builtin') {
    const build = data.source.name === 'mnist' ? buildMnist : buildDecoyMnist;
    splits = build({ seed: config.seed, imageSize: data.imageSize, valFraction: data.valSplit });
  } else {
    const folder = loadFolder({
      root: path.resolve(config.baseDir, data.source.path),
      images: data.images,
      labels: data.labels,
      saliency: data.saliency,
      imageSize: data.imageSize,
      seed: config.seed,
      valFraction: data.valSplit,
      testFraction: data.testSplit,
    });
    splits = folder;
    classNames = folder.classNames;
    warnings = folder.warnings;
  }
  const maxTrain = envCap(env, 'SGT_MAX_TRAIN_IMAGES');
  const maxEval = envCap(env, 'SGT_MAX_EVAL_IMAGES');
  const train = headOf(splits.train, maxTrain);
  const { guided, annotatedCount } = guidedImages(train, data.annotated, config.seed, config.guidance.missingSaliency);
  return {
    train,
    val: headOf(splits.val, maxEval),
    test: headOf(splits.test, maxEval),
    classes: splits.classes,
    classNames,
    guided,
    annotatedCount,
    warnings,
  };
}
