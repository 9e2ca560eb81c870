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
import { stratifiedSplit } from './splits';

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

export function loadFolder(o: FolderOptions): FolderData {
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

  // Each file is resized to 8-bit codes as soon as it is decoded, so only size × size (grey) or
  // × 3 bytes per image stay in memory, not the decoded file (a 1000 × 750 photo is 3 MB of
  // RGBA). The channel count is known only when every image has been seen; a grey image's
  // plane serves as each of its R, G, B planes in an RGB data set (for r = g = b the luminance
  // is r exactly, so the planes are identical).
  const size = o.imageSize;
  const decoded: { entry: Labelled; image: { width: number; height: number; gray: boolean; codes: Uint8Array }; map?: Uint8Array }[] = [];
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
    decoded.push({ entry, image: { width: image.width, height: image.height, gray, codes: codesOf(gray ? rgb.subarray(0, size * size) : rgb) }, map });
  }
  if (decoded.length === 0) throw new DataError(`No readable images in ${imagesDir}${warnings.length ? ` (${warnings.length} problems, first: ${warnings[0]})` : ''}.`);

  const classNames = [...new Set(decoded.flatMap((d) => d.entry.labels))].sort();
  const multiLabel = decoded.some((d) => d.entry.labels.length > 1);
  const channels: 1 | 3 = decoded.every((d) => d.image.gray) ? 1 : 3;
  const boxes = boxesFile && boxEntries ? pixelBoxes(boxesFile, boxEntries, imagesDir, entries, decoded, classNames, size, warnings) : undefined;
  const all: ImageSet = {
    images: new Float32Array(decoded.length * size * size * channels),
    channels,
    labels: Int32Array.from(decoded, (d) => classNames.indexOf(d.entry.label)),
    saliency: new Float32Array(decoded.length * size * size),
    hasSaliency: Uint8Array.from(decoded, (d) => (d.map ? 1 : 0)),
    files: decoded.map((d) => d.entry.file),
    size,
    count: decoded.length,
    decoyMask: new Uint8Array(decoded.length * size * size),
    decoyShade: new Float32Array(decoded.length).fill(-1),
  };
  const px = size * size;
  decoded.forEach((d, i) => {
    // code b is the value toPixels gave, b / 255
    const out = all.images.subarray(i * px * channels, (i + 1) * px * channels);
    const codes = d.image.codes;
    if (!d.image.gray) for (let k = 0; k < px * 3; k++) out[k] = codes[k] / 255;
    else for (let k = 0; k < px; k++) for (let c = 0; c < channels; c++) out[k * channels + c] = codes[k] / 255;
    const map = d.map;
    if (map) for (let k = 0, o = i * px; k < px; k++) all.saliency[o + k] = map[k] / 255;
  });
  if (multiLabel) {
    all.multiLabels = new Uint8Array(decoded.length * classNames.length);
    decoded.forEach((d, i) => d.entry.labels.forEach((l) => (all.multiLabels![i * classNames.length + classNames.indexOf(l)] = 1)));
  }
  if (boxes) {
    // the human map of an image is the mask of its (first) label; multi-label training builds
    // the mask of each sampled class from `boxes` itself. Guided: has a box of that label
    // (single-label), or any box (multi-label: the sampled class decides per step).
    all.boxes = boxes;
    boxes.forEach((b, i) => {
      const own = fillMask(b, all.labels[i], size, all.saliency, i * size * size);
      all.hasSaliency![i] = (multiLabel ? b.length > 0 : own) ? 1 : 0;
    });
  }

  // splits: the CSV's split column where given, else stratified by seed
  const rng = createRng(o.seed, 7);
  let idx: { train: Int32Array; val: Int32Array; test: Int32Array };
  if (decoded.some((d) => d.entry.split)) {
    const pick = (s: string) => Int32Array.from(decoded.flatMap((d, i) => ((d.entry.split ?? 'train') === s ? [i] : [])));
    idx = { train: pick('train'), val: pick('val'), test: pick('test') };
  } else {
    const testCount = Math.min(decoded.length - 1, Math.round(decoded.length * o.testFraction));
    idx = stratifiedSplit(all.labels, classNames.length, { testCount, valFraction: o.valFraction }, rng);
  }
  if (idx.train.length === 0) throw new DataError(`No training images left in ${o.root} after the split.`);
  return { train: subset(all, idx.train), val: subset(all, idx.val), test: subset(all, idx.test), classes: classNames.length, classNames, multiLabel, warnings };
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

function subset(s: ImageSet, idx: Int32Array): ImageSet {
  const px = s.size * s.size;
  const ipx = px * s.channels;
  const out: ImageSet = {
    images: new Float32Array(idx.length * ipx),
    channels: s.channels,
    labels: new Int32Array(idx.length),
    saliency: new Float32Array(idx.length * px),
    hasSaliency: new Uint8Array(idx.length),
    files: [],
    size: s.size,
    count: idx.length,
    decoyMask: new Uint8Array(idx.length * px),
    decoyShade: new Float32Array(idx.length),
  };
  const k = s.multiLabels ? s.multiLabels.length / s.count : 0;
  if (s.multiLabels) out.multiLabels = new Uint8Array(idx.length * k);
  if (s.boxes) out.boxes = [];
  idx.forEach((src, i) => {
    if (s.multiLabels) out.multiLabels!.set(s.multiLabels.subarray(src * k, (src + 1) * k), i * k);
    if (s.boxes) out.boxes!.push(s.boxes[src]);
    out.images.set(s.images.subarray(src * ipx, (src + 1) * ipx), i * ipx);
    out.saliency.set(s.saliency.subarray(src * px, (src + 1) * px), i * px);
    out.labels[i] = s.labels[src];
    out.hasSaliency![i] = s.hasSaliency?.[src] ?? 1;
    out.files!.push(s.files?.[src] ?? String(src));
    out.decoyShade[i] = s.decoyShade[src];
  });
  return out;
}
