// `folder("…")` data sets: the documented layout (docs/dsl.md, "Data folders and file checks")
//
//   <root>/images/…            PNG or JPEG, flat or one sub-folder per class
//   <root>/labels.csv          file,label[,split]   (optional when class sub-folders are used)
//   <root>/saliency/<base>.png grayscale human saliency map, same base name as its image
//   <root>/boxes.json          with `annotation = boxes`: boxes per image (data/boxes.ts)
//
// A labels.csv row may give several labels separated by ';' (`img.png,cat;dog`): the data
// set is then multi-label (`multiLabels`, the first label in `labels`).
// decoded with pngjs / jpeg-js (pure JavaScript: nothing to download or compile), resized
// bilinearly to the experiment's image size and split into train / validation / test.
// A corrupt image is skipped with a warning naming its path; a corrupt or missing saliency
// map leaves that image without human saliency (a warning for corrupt ones). Nothing here
// throws for bad data except when no usable image is left, or a bad boxes.json (each of its
// problems named by file and line: boxes are the training signal, a silently dropped box
// would change the experiment).

import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { baseName, DataScanner, isImageFile, LABEL_SEPARATOR } from '../dsl/files';
import { matchBoxes, parseBoxes, scaleBox, fillMask, type Box, type PixelBox } from './boxes';
import type { ImageSet, ImageSplits } from './image-set';
import { resizeBilinear } from './resize';
import { createRng } from './rng';
import { stratifiedSplit, type SplitIndices } from './splits';

export interface FolderOptions {
  root: string;
  images?: string;
  labels?: string;
  saliency?: string;
  /** With `annotation = boxes`: the boxes file (relative to root); the masks replace saliency maps. */
  boxes?: string;
  imageSize: number;
  seed: number;
  valFraction: number;
  testFraction: number;
}

export interface FolderData extends ImageSplits {
  classNames: string[];
  /** Some image has several labels (then every split has `multiLabels`). */
  multiLabel: boolean;
  /** Problems found while loading, each naming a file. */
  warnings: string[];
}

export class DataError extends Error {}

export interface Decoded {
  width: number;
  height: number;
  /** RGBA bytes. */
  rgba: Uint8Array;
}

/** Decodes a PNG or JPEG file; throws with a readable message when the file is not a valid image. */
export function decodeImage(file: string): Decoded {
  const bytes = fs.readFileSync(file);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, rgba: png.data };
  }
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
  return { width: img.width, height: img.height, rgba: img.data };
}

/** Channel planes of an image resized to size×size, as interleaved channels-last floats k/255 in [0, 1]. */
export function toPixels(d: Decoded, channels: 1 | 3, size: number, out: Float32Array, offset: number): void {
  // center-crop to a square first so resizing never distorts the aspect ratio
  const side = Math.min(d.width, d.height);
  const x0 = Math.floor((d.width - side) / 2);
  const y0 = Math.floor((d.height - side) / 2);
  const plane = new Float32Array(side * side);
  const resized = new Float32Array(size * size);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const i = ((y + y0) * d.width + (x + x0)) * 4;
        plane[y * side + x] =
          channels === 1 ? (0.299 * d.rgba[i] + 0.587 * d.rgba[i + 1] + 0.114 * d.rgba[i + 2]) / 255 : d.rgba[i + c] / 255;
      }
    }
    resizeBilinear(plane, side, size, resized);
    // back to 8 bits after resizing, as PIL / torchvision pipelines resize uint8 images: every
    // sample is then k/255 (≤ half a grey level from the interpolated value), which the torch
    // export stores as uint8 (data/npy.ts writeUnitNpy), 4× smaller than float32
    for (let p = 0; p < size * size; p++) out[offset + p * channels + c] = Math.round(resized[p] * 255) / 255;
  }
}

function isGray(d: Decoded): boolean {
  for (let i = 0; i < d.rgba.length; i += 4) if (d.rgba[i] !== d.rgba[i + 1] || d.rgba[i] !== d.rgba[i + 2]) return false;
  return true;
}

interface Labelled {
  file: string;
  /** The first label (the one stratified splits and single-label code use). */
  label: string;
  /** Every label, in the order written, without repeats. */
  labels: string[];
  split?: 'train' | 'val' | 'test';
}

function listLabelled(imagesDir: string, labelsFile: string, warnings: string[]): Labelled[] {
  if (fs.existsSync(labelsFile)) {
    const out: Labelled[] = [];
    const lines = fs.readFileSync(labelsFile, 'utf8').split(/\r?\n/);
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const cols = line.split(',').map((c) => c.trim());
      if (i === 0 && /^(file|filename|image)$/i.test(cols[0])) return;
      if (cols.length < 2 || !cols[1]) {
        warnings.push(`${labelsFile}:${i + 1}: expected "file,label[,split]", skipped`);
        return;
      }
      const split = cols[2]?.toLowerCase();
      if (split && split !== 'train' && split !== 'val' && split !== 'test') {
        warnings.push(`${labelsFile}:${i + 1}: split must be train, val or test (found "${cols[2]}"), skipped`);
        return;
      }
      const labels = [...new Set(cols[1].split(LABEL_SEPARATOR).map((l) => l.trim()).filter((l) => l))];
      if (labels.length === 0) {
        warnings.push(`${labelsFile}:${i + 1}: no label (labels are separated by "${LABEL_SEPARATOR}"), skipped`);
        return;
      }
      out.push({ file: cols[0], label: labels[0], labels, split: split as Labelled['split'] });
    });
    return out;
  }
  // one sub-folder per class
  const out: Labelled[] = [];
  for (const e of fs.readdirSync(imagesDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(imagesDir, e.name)).sort()) if (isImageFile(f)) out.push({ file: `${e.name}/${f}`, label: e.name, labels: [e.name] });
  }
  if (out.length === 0) throw new DataError(`No labels: ${labelsFile} does not exist and ${imagesDir} has no class sub-folders.`);
  return out;
}

/** One usable image of a folder as the scan saw it (no pixels). */
interface Scanned {
  entry: Labelled;
  image: { width: number; height: number; gray: boolean };
  hasMap: boolean;
}

/**
 * Receives each usable image of a scan, in scan order (`index`), as soon as it is decoded:
 * its 8-bit codes (size² values when `gray`, else size² × 3 interleaved RGB) and its human
 * map's (size²) when it has a readable one. The arrays are the receiver's to keep.
 */
export type ImageSink = (index: number, codes: Uint8Array, gray: boolean, map: Uint8Array | undefined) => void;

/**
 * Everything about a folder data set except its pixels: per usable image (scan order) its
 * label, file, whether it has a human map, its boxes; the channel count; and the split, as
 * indices into the scan order. Both the in-memory loader (loadFolder) and the streamed torch
 * export (data/folder-export.ts) take their samples from it, so they cannot disagree.
 */
export interface FolderPlan {
  size: number;
  channels: 1 | 3;
  count: number;
  labels: Int32Array;
  files: string[];
  hasSaliency: Uint8Array;
  /** count × classes (multi-label data only). */
  multiLabels?: Uint8Array;
  /** `annotation = boxes` only: each image's boxes in target pixels. */
  boxes?: PixelBox[][];
  /** The train / val / test members, indices into the scan order, each split shuffled by seed. */
  splits: SplitIndices;
  classNames: string[];
  multiLabel: boolean;
  warnings: string[];
}

/**
 * Reads a folder data set once, image by image, handing each image's 8-bit codes to `sink`
 * and keeping nothing of its pixels; returns the plan (labels, maps, boxes, splits).
 */
export function scanFolder(o: FolderOptions, sink: ImageSink): FolderPlan {
  const imagesDir = path.resolve(o.root, o.images ?? 'images');
  const labelsFile = path.resolve(o.root, o.labels ?? 'labels.csv');
  const saliencyDir = path.resolve(o.root, o.saliency ?? 'saliency');
  if (!fs.existsSync(imagesDir)) throw new DataError(`Images folder not found: ${imagesDir}`);
  const warnings: string[] = [];
  const entries = listLabelled(imagesDir, labelsFile, warnings);
  const boxesFile = o.boxes !== undefined ? path.resolve(o.root, o.boxes) : undefined;
  const boxEntries = boxesFile ? readBoxes(boxesFile) : undefined;

  // maps by base name (flat, or mirroring class sub-folders); boxes replace them
  const maps = new Map<string, string>();
  if (!boxesFile && fs.existsSync(saliencyDir)) {
    for (const e of fs.readdirSync(saliencyDir, { withFileTypes: true })) {
      if (e.isFile() && isImageFile(e.name)) maps.set(baseName(e.name), path.join(saliencyDir, e.name));
      else if (e.isDirectory()) for (const f of fs.readdirSync(path.join(saliencyDir, e.name))) if (isImageFile(f)) maps.set(baseName(f), path.join(saliencyDir, e.name, f));
    }
  }

  // Each file is resized to 8-bit codes as soon as it is decoded and handed to the sink, so
  // the scan holds one decoded file at a time (a 1000 × 750 photo is 3 MB of RGBA). The
  // channel count is known only when every image has been seen; a grey image's plane serves
  // as each of its R, G, B planes in an RGB data set (for r = g = b the luminance is r
  // exactly, so the planes are identical).
  const size = o.imageSize;
  const scanned: Scanned[] = [];
  const rgb = new Float32Array(size * size * 3);
  const grey = new Float32Array(size * size);
  const codesOf = (values: Float32Array) => {
    const codes = new Uint8Array(values.length); // a plain loop: TypedArray.from with a mapping function is 10× slower
    for (let k = 0; k < values.length; k++) codes[k] = Math.round(values[k] * 255);
    return codes;
  };
  for (const entry of entries) {
    const file = path.join(imagesDir, entry.file);
    let image: Decoded;
    try {
      image = decodeImage(file);
    } catch (e) {
      warnings.push(`${file}: not a readable PNG/JPEG image (${(e as Error).message}); skipped`);
      continue;
    }
    const gray = isGray(image);
    toPixels(image, gray ? 1 : 3, size, rgb, 0);
    let map: Uint8Array | undefined;
    const mapFile = maps.get(baseName(entry.file));
    if (mapFile) {
      try {
        toPixels(decodeImage(mapFile), 1, size, grey, 0);
        map = codesOf(grey);
      } catch (e) {
        warnings.push(`${mapFile}: not a readable saliency map (${(e as Error).message}); the image trains without human saliency`);
      }
    }
    sink(scanned.length, codesOf(gray ? rgb.subarray(0, size * size) : rgb), gray, map);
    scanned.push({ entry, image: { width: image.width, height: image.height, gray }, hasMap: !!map });
  }
  if (scanned.length === 0) throw new DataError(`No readable images in ${imagesDir}${warnings.length ? ` (${warnings.length} problems, first: ${warnings[0]})` : ''}.`);

  const classNames = [...new Set(scanned.flatMap((d) => d.entry.labels))].sort();
  const multiLabel = scanned.some((d) => d.entry.labels.length > 1);
  const channels: 1 | 3 = scanned.every((d) => d.image.gray) ? 1 : 3;
  const boxes = boxesFile && boxEntries ? pixelBoxes(boxesFile, boxEntries, imagesDir, entries, scanned, classNames, size, warnings) : undefined;
  const labels = Int32Array.from(scanned, (d) => classNames.indexOf(d.entry.label));
  const hasSaliency = Uint8Array.from(scanned, (d) => (d.hasMap ? 1 : 0));
  let multiLabels: Uint8Array | undefined;
  if (multiLabel) {
    multiLabels = new Uint8Array(scanned.length * classNames.length);
    scanned.forEach((d, i) => d.entry.labels.forEach((l) => (multiLabels![i * classNames.length + classNames.indexOf(l)] = 1)));
  }
  if (boxes) {
    // the human map of an image is the mask of its (first) label; multi-label training builds
    // the mask of each sampled class from `boxes` itself. Guided: has a box of that label
    // (single-label), or any box (multi-label: the sampled class decides per step).
    const mask = new Float32Array(size * size);
    boxes.forEach((b, i) => {
      const own = fillMask(b, labels[i], size, mask);
      hasSaliency[i] = (multiLabel ? b.length > 0 : own) ? 1 : 0;
    });
  }

  // splits: the CSV's split column where given, else stratified by seed
  const rng = createRng(o.seed, 7);
  let splits: SplitIndices;
  if (scanned.some((d) => d.entry.split)) {
    const pick = (s: string) => Int32Array.from(scanned.flatMap((d, i) => ((d.entry.split ?? 'train') === s ? [i] : [])));
    splits = { train: pick('train'), val: pick('val'), test: pick('test') };
  } else {
    const testCount = Math.min(scanned.length - 1, Math.round(scanned.length * o.testFraction));
    splits = stratifiedSplit(labels, classNames.length, { testCount, valFraction: o.valFraction }, rng);
  }
  if (splits.train.length === 0) throw new DataError(`No training images left in ${o.root} after the split.`);
  return { size, channels, count: scanned.length, labels, files: scanned.map((d) => d.entry.file), hasSaliency, ...(multiLabels ? { multiLabels } : {}), ...(boxes ? { boxes } : {}), splits, classNames, multiLabel, warnings };
}

/** A folder's images as 8-bit codes in memory, in scan order (what loadFolder keeps between scan and splits). */
export interface CodeStore {
  codes: Uint8Array[];
  gray: boolean[];
  maps: (Uint8Array | undefined)[];
}

/** A sink keeping every image's codes (size² or size² × 3 bytes each) for folderSubset. */
export function codeStore(): { store: CodeStore; sink: ImageSink } {
  const store: CodeStore = { codes: [], gray: [], maps: [] };
  return { store, sink: (i, codes, gray, map) => ((store.codes[i] = codes), (store.gray[i] = gray), (store.maps[i] = map)) };
}

/**
 * Writes an image's float32 values (code b is the value toPixels gave, b / 255) into `out`
 * at `offset`: an RGB data set repeats a grey image's plane in each channel.
 */
function expand(codes: Uint8Array, gray: boolean, channels: 1 | 3, px: number, out: Float32Array, offset: number): void {
  if (!gray) for (let k = 0; k < px * 3; k++) out[offset + k] = codes[k] / 255;
  else for (let k = 0; k < px; k++) for (let c = 0; c < channels; c++) out[offset + k * channels + c] = codes[k] / 255;
}

/** The ImageSet of the scan indices `idx` (a split, or its first images), built from the codes in memory. */
export function folderSubset(plan: FolderPlan, store: CodeStore, idx: Int32Array): ImageSet {
  const { size, channels } = plan;
  const px = size * size;
  const n = idx.length;
  const k = plan.classNames.length;
  const out: ImageSet = {
    images: new Float32Array(n * px * channels),
    channels,
    labels: new Int32Array(n),
    saliency: new Float32Array(n * px),
    hasSaliency: new Uint8Array(n),
    files: [],
    size,
    count: n,
    decoyMask: new Uint8Array(n * px),
    decoyShade: new Float32Array(n).fill(-1),
  };
  if (plan.multiLabels) out.multiLabels = new Uint8Array(n * k);
  if (plan.boxes) out.boxes = [];
  idx.forEach((src, i) => {
    expand(store.codes[src], store.gray[src], channels, px, out.images, i * px * channels);
    const map = store.maps[src];
    if (map) for (let p = 0; p < px; p++) out.saliency[i * px + p] = map[p] / 255;
    if (plan.boxes) {
      out.boxes!.push(plan.boxes[src]);
      fillMask(plan.boxes[src], plan.labels[src], size, out.saliency, i * px);
    }
    if (plan.multiLabels) out.multiLabels!.set(plan.multiLabels.subarray(src * k, (src + 1) * k), i * k);
    out.labels[i] = plan.labels[src];
    out.hasSaliency![i] = plan.hasSaliency[src];
    out.files!.push(plan.files[src]);
  });
  return out;
}

/** Loads a whole folder data set into memory (the tfjs engine trains on these arrays). */
export function loadFolder(o: FolderOptions): FolderData {
  const { store, sink } = codeStore();
  const plan = scanFolder(o, sink);
  return {
    train: folderSubset(plan, store, plan.splits.train),
    val: folderSubset(plan, store, plan.splits.val),
    test: folderSubset(plan, store, plan.splits.test),
    classes: plan.classNames.length,
    classNames: plan.classNames,
    multiLabel: plan.multiLabel,
    warnings: plan.warnings,
  };
}

/** Reads and parses boxes.json; throws DataError naming every problem's line. */
function readBoxes(file: string): ReturnType<typeof parseBoxes>['entries'] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`Boxes file not found or unreadable: ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Set \`boxes = "…"\` in the data block to its path inside the data folder.`);
  }
  const { entries, problems } = parseBoxes(text);
  if (problems.length) throw boxError(file, problems);
  return entries;
}

function boxError(file: string, problems: { line: number; column?: number; message: string }[]): DataError {
  const shown = problems.slice(0, 5).map((p) => `  ${file}:${p.line}${p.column ? `:${p.column}` : ''}: ${p.message}`);
  const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
  return new DataError(`${problems.length} problem${problems.length > 1 ? 's' : ''} in the boxes file (docs/dsl.md, "boxes.json"):\n${shown.join('\n')}${more}`);
}

/** Every decoded image's boxes at the training size (a box without a label belongs to every label of its image). */
function pixelBoxes(
  file: string,
  boxEntries: ReturnType<typeof parseBoxes>['entries'],
  imagesDir: string,
  entries: Labelled[],
  decoded: { entry: Labelled; image: { width: number; height: number } }[],
  classNames: string[],
  size: number,
  warnings: string[],
): PixelBox[][] {
  const sizes = new Map(decoded.map((d) => [d.entry.file, { width: d.image.width, height: d.image.height }]));
  // any image of the folder may have boxes (one labels file may list only some of them)
  const images = [...new Set([...new DataScanner().scanImages(imagesDir).images, ...entries.map((e) => e.file)])];
  const { byImage, problems } = matchBoxes(boxEntries, { images, classes: classNames, sizeOf: (f) => sizes.get(f) });
  if (problems.length) throw boxError(file, problems);
  return decoded.map((d) => {
    const out: PixelBox[] = [];
    for (const b of byImage.get(d.entry.file) ?? ([] as Box[])) {
      for (const label of b.label !== undefined ? [b.label] : d.entry.labels) {
        const px = scaleBox(b, d.image.width, d.image.height, size, classNames.indexOf(label));
        if (px) out.push(px);
        else warnings.push(`${file}:${b.line}: the box [${b.x0}, ${b.y0}, ${b.x1}, ${b.y1}] of "${d.entry.file}" lies in the part of the ${d.image.width}×${d.image.height} image the centre crop drops; it guides nothing`);
      }
    }
    return out;
  });
}
