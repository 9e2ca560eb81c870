/**
 * Exports the data set of a run as .npy files for the torch engine, so both engines train on
 * byte-identical samples by construction: the same loader (data/run-data.ts: builders, splits,
 * caps and annotated subset) as the tfjs engine; Python only memory-maps them
 * (engines/torch/sgt_torch/data.py).
 *
 * Format `sgt-data/3`, one folder:
 *   meta.json                 { format, key, classes, classNames?, size, channels, counts, annotatedCount, warnings,
 *                               encodings: { "<split>-images": "unit8" | "float32", "<split>-saliency": … },
 *                               trainStatistics: { mean: [C], std: [C] } (data/normalize.ts channelStatistics
 *                               of the training split, for `data.normalize = dataset`) }
 *   <split>-images.npy        [N, S, S, C] in [0, 1], channels last: uint8 codes b = 255·v when every
 *                             value is exactly float32(b/255) (8-bit sources: lossless), else float32
 *   <split>-labels.npy        int32 [N]
 *   <split>-saliency.npy      [N, S, S] human maps, uint8 codes or float32 as the images
 *   <split>-has-saliency.npy  uint8 [N]
 *   <split>-shortcut.npy      uint8 [N, S, S] 1 on the known shortcut (Decoy MNIST's swatch; ImageSet.decoyMask),
 *                             all 0 for data without one: RRR's `irrelevant = shortcut` region
 *   train-guided.npy          uint8 [N] (1: the map guides training)
 *   <split>-multi-labels.npy  uint8 [N, classes], multi-label data only (meta multiLabel: true)
 *   <split>-boxes.npy         int32 [B, 6] rows (image, class, x0, y0, x1, y1) in target pixels,
 *                             end exclusive (data/boxes.ts), `annotation = boxes` only
 *
 * How: built-in data sets are built in memory and written from there (writeExport); a
 * `folder(…)` data set is streamed (data/folder-export.ts: each file decoded, resized and
 * rounded to 8 bits once, written into its split's arrays, never the whole set in memory),
 * with the same plan (data/run-data.ts planFolderRun) and byte-identical files.
 *
 * Where: built-in data sets are pure functions of their settings, so they are cached once
 * per settings (`<runs folder>/.cache/data/<sha256 of the settings>`, shared by runs,
 * written to a temporary folder and renamed into place so concurrent runs never see half
 * of one). A `folder(…)` data set can change on disk, so it is exported into the run
 * directory (`<run>/data/`); a resumed run reuses its own export and so sees the samples
 * it started with.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PixelBox } from './boxes';
import { openFolderExport } from './folder-export';
import type { ImageSet } from './image-set';
import { channelStatistics, type Normalization } from './normalize';
import { writeNpy, writeUnitNpy, type UnitEncoding } from './npy';
import { envCap, loadRunSamples, type DataSpec, type RunData } from './run-data';

// 2: adds <split>-shortcut.npy (a new format, so caches written without it are rebuilt)
// 3: images and human maps as uint8 when lossless (`encodings` in meta.json); an older
// cache has another key and format, so it is rebuilt, never misread
export const DATA_EXPORT_FORMAT = 'sgt-data/3';

export class DataSpecError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The data settings of a resolved experiment (defaults as engines/tfjs/config.ts). */
export function dataSpec(resolved: unknown, runDir: string, env: NodeJS.ProcessEnv = process.env): DataSpec {
  if (!isObj(resolved) || !isObj(resolved.data) || !isObj(resolved.data.source)) throw new DataSpecError('resolved.json: data.source must be an object');
  const data = resolved.data;
  const src = data.source as Obj;
  let source: DataSpec['source'];
  if (src.type === 'builtin' && (src.name === 'decoy-mnist' || src.name === 'mnist')) source = { type: 'builtin', name: src.name };
  else if (src.type === 'folder' && typeof src.path === 'string') source = { type: 'folder', path: src.path };
  else throw new DataSpecError(`data.source ${JSON.stringify(src)} is not supported (builtin("decoy-mnist"), builtin("mnist") or folder(…))`);
  if (data.annotation !== undefined && data.annotation !== 'saliency' && data.annotation !== 'boxes') throw new DataSpecError(`data.annotation = ${String(data.annotation)} is not supported (saliency or boxes)`);
  if (data.annotation === 'boxes' && (source.type !== 'folder' || typeof data.boxes !== 'string')) throw new DataSpecError('data.annotation = boxes needs folder(…) data and `boxes = "boxes.json"`');
  const guidance = isObj(resolved.guidance) ? resolved.guidance : {};
  return {
    seed: num(resolved.seed, 0),
    baseDir: typeof resolved.baseDir === 'string' ? resolved.baseDir : path.dirname(runDir),
    source,
    imageSize: num(data.image_size, source.type === 'builtin' ? 28 : 224),
    annotated: num(data.annotated, 1),
    valSplit: num(data.val_split, 0.1),
    testSplit: num(data.test_split, 0.1),
    images: optStr(data.images),
    labels: optStr(data.labels),
    saliency: optStr(data.saliency),
    ...(data.annotation === 'boxes' ? { boxes: optStr(data.boxes) } : {}),
    missingSaliency: guidance.missing_saliency === 'zeros' ? 'zeros' : 'skip',
    maxTrain: envCap(env, 'SGT_MAX_TRAIN_IMAGES'),
    maxEval: envCap(env, 'SGT_MAX_EVAL_IMAGES'),
  };
}

/** Stable identity of a data spec (the cache folder's name). */
export function dataKey(spec: DataSpec): string {
  const { baseDir, ...rest } = spec;
  const identity = spec.source.type === 'folder' ? { ...rest, root: path.resolve(baseDir, spec.source.path) } : rest;
  return crypto.createHash('sha256').update(JSON.stringify({ format: DATA_EXPORT_FORMAT, ...identity })).digest('hex').slice(0, 24);
}

/**
 * One split as the writer needs it: the per-image arrays (a few bytes per image) in memory,
 * the pixel arrays written by the source itself — from float32 arrays in memory (writeExport)
 * or streamed image by image (data/folder-export.ts).
 */
export interface ExportSplit {
  count: number;
  labels: Int32Array;
  hasSaliency: Uint8Array;
  multiLabels?: Uint8Array;
  boxes?: PixelBox[][];
  /** Writes `<split>-images.npy` [N, S, S, C]; returns its encoding. */
  writeImages(file: string): UnitEncoding;
  /** Writes `<split>-saliency.npy` [N, S, S]; returns its encoding. */
  writeSaliency(file: string): UnitEncoding;
  /** Writes `<split>-shortcut.npy` uint8 [N, S, S]. */
  writeShortcut(file: string): void;
}

/** What an export holds, whichever way its pixels are produced. */
export interface ExportSource {
  train: ExportSplit;
  val: ExportSplit;
  test: ExportSplit;
  size: number;
  channels: number;
  classes: number;
  classNames?: string[];
  multiLabel?: boolean;
  guided: Uint8Array;
  annotatedCount: number;
  warnings: string[];
  /**
   * The training images' per-channel mean / population std (data/normalize.ts), what
   * `data.normalize = dataset` standardises with; known once the training images are written.
   */
  statistics(): Normalization;
}

/** Writes an export into `dir` (created; must not exist) from any source: the one layout and meta.json of the format. */
export function writeExportFrom(dir: string, data: ExportSource, key: string): void {
  fs.mkdirSync(dir, { recursive: true });
  // how each [0, 1]-valued array was stored (data/npy.ts writeUnitNpy); the reader checks the dtype against it
  const encodings: Record<string, UnitEncoding> = {};
  for (const split of ['train', 'val', 'test'] as const) {
    const s = data[split];
    encodings[`${split}-images`] = s.writeImages(path.join(dir, `${split}-images.npy`));
    writeNpy(path.join(dir, `${split}-labels.npy`), s.labels, [s.count]);
    encodings[`${split}-saliency`] = s.writeSaliency(path.join(dir, `${split}-saliency.npy`));
    writeNpy(path.join(dir, `${split}-has-saliency.npy`), s.hasSaliency, [s.count]);
    s.writeShortcut(path.join(dir, `${split}-shortcut.npy`));
  }
  writeNpy(path.join(dir, 'train-guided.npy'), data.guided, [data.train.count]);
  for (const split of ['train', 'val', 'test'] as const) {
    const s = data[split];
    if (data.multiLabel) writeNpy(path.join(dir, `${split}-multi-labels.npy`), s.multiLabels ?? new Uint8Array(0), [s.count, data.classes]);
    if (s.boxes) {
      const rows = s.boxes.flatMap((bs, i) => bs.map((b) => [i, b.cls, b.x0, b.y0, b.x1, b.y1]));
      writeNpy(path.join(dir, `${split}-boxes.npy`), Int32Array.from(rows.flat()), [rows.length, 6]);
    }
  }
  const meta = {
    format: DATA_EXPORT_FORMAT,
    key,
    classes: data.classes,
    ...(data.classNames ? { classNames: data.classNames } : {}),
    ...(data.multiLabel ? { multiLabel: true } : {}),
    ...(data.train.boxes ? { boxes: true } : {}),
    size: data.size,
    channels: data.channels,
    counts: { train: data.train.count, val: data.val.count, test: data.test.count },
    annotatedCount: data.annotatedCount,
    warnings: data.warnings,
    encodings,
    trainStatistics: data.statistics(),
  };
  // meta.json last: its presence means the folder is complete
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** Writes the export of a run's samples held in memory (float32 ImageSets) into `dir`. */
export function writeExport(dir: string, data: RunData, key: string): void {
  const split = (s: ImageSet): ExportSplit => ({
    count: s.count,
    labels: s.labels,
    hasSaliency: s.hasSaliency ?? new Uint8Array(s.count).fill(1),
    ...(s.multiLabels ? { multiLabels: s.multiLabels } : {}),
    ...(s.boxes ? { boxes: s.boxes } : {}),
    writeImages: (file) => writeUnitNpy(file, s.images, [s.count, s.size, s.size, s.channels]),
    writeSaliency: (file) => writeUnitNpy(file, s.saliency, [s.count, s.size, s.size]),
    writeShortcut: (file) => writeNpy(file, s.decoyMask, [s.count, s.size, s.size]),
  });
  writeExportFrom(
    dir,
    {
      train: split(data.train),
      val: split(data.val),
      test: split(data.test),
      size: data.train.size,
      channels: data.train.channels,
      classes: data.classes,
      ...(data.classNames ? { classNames: data.classNames } : {}),
      ...(data.multiLabel ? { multiLabel: true } : {}),
      guided: data.guided,
      annotatedCount: data.annotatedCount,
      warnings: data.warnings,
      statistics: () => channelStatistics(data.train),
    },
    key,
  );
}

/**
 * Writes the export of a `folder(…)` run into `dir` (created; must not exist), streamed
 * image by image (data/folder-export.ts). `probe`: see openFolderExport.
 */
export function writeFolderExport(dir: string, spec: DataSpec, key: string, probe?: () => void): void {
  fs.mkdirSync(dir, { recursive: true });
  const source = openFolderExport(dir, spec, probe);
  try {
    writeExportFrom(dir, source, key);
  } finally {
    source.close();
  }
}

/** Whether `dir` holds a complete export of this format and key (meta.json is written last). */
function complete(dir: string, format: string, key: string): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { format?: string; key?: string };
    return meta.format === format && meta.key === key;
  } catch {
    return false;
  }
}

/**
 * Makes `dir` a complete export of `format` and `key`: reuses it when it already is one, else
 * `write`s a temporary folder beside it and renames that into place, so readers (and runs
 * sharing a cache) see a whole folder or none. Returns whether it wrote. Used for the data
 * set and the CAM probe (data/cam-probe.ts).
 */
export function publishExport(dir: string, format: string, key: string, write: (tmp: string) => void): boolean {
  if (complete(dir, format, key)) return false;
  const tmp = `${dir}.${process.pid}.${crypto.randomBytes(3).toString('hex')}.tmp`;
  try {
    write(tmp);
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // another run renamed the same export into place first: theirs is as good as ours
      if (!complete(dir, format, key)) throw e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return true;
}

export interface ExportResult {
  dir: string;
  /** false when an existing export was reused. */
  written: boolean;
  seconds: number;
}

/** Exports (or finds) the data set of a run directory; returns its folder. Throws DataError / DataSpecError. */
export function exportRunData(runDir: string, resolved: unknown, env: NodeJS.ProcessEnv = process.env): ExportResult {
  const t0 = performance.now();
  const spec = dataSpec(resolved, runDir, env);
  const key = dataKey(spec);
  const dir = spec.source.type === 'builtin' ? path.join(path.dirname(runDir), '.cache', 'data', key) : path.join(runDir, 'data');
  const written = publishExport(dir, DATA_EXPORT_FORMAT, key, (tmp) => {
    // folder data is streamed image by image (it may not fit in memory); built-in sets are small
    if (spec.source.type === 'folder') writeFolderExport(tmp, spec, key);
    else writeExport(tmp, loadRunSamples(spec), key);
  });
  return { dir, written, seconds: (performance.now() - t0) / 1000 };
}
