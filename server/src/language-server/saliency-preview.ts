/**
 * Saliency previews for hovers: small PNG thumbnails embedded in the hover markdown.
 *
 *   data source    a column per image: the image on top, its human saliency map below
 *                  (the CAM colour map of runs/colormap.ts, blended 50 % over the grey image)
 *   experiment     its latest run's newest CAM overlays (overlays/index.json), one row per
 *                  sample: image | human map | CAM over the image, as the engine drew them
 *
 * Images go into the markdown as base64 `data:` URIs: VS Code's hover renderer shows them in
 * desktop, remote and browser (code-server) windows alike, with no file access from the
 * renderer. VS Code cuts hover markdown at 100,000 characters, so a picture whose base64
 * would exceed DATA_URI_MAX_CHARS (noisy photos) is linked as a `file:` URI of its cache file
 * instead, which VS Code 1.100 also shows, in code-server too (it rewrites it to its
 * remote-resource URL; checked with code-server 4.100.3).
 * Each PNG is cached on disk under `<workspace>/.sgt/cache/previews/`, keyed by
 * the paths, sizes and modification times of its inputs (and the renderer version), and in
 * memory, so only the first hover after a change pays for decoding. Anything that fails
 * leaves the hover's text as it was (the caller catches and logs).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fillMask, matchBoxes, parseBoxes, scaleBox, type Box } from '../data/boxes';
import { buildDecoyMnist, buildMnist } from '../data/decoy-mnist';
import { decodeImage, toPixels } from '../data/folder';
import { mnistDigitsDir } from '../data/mnist-source';
import { baseName, isImageFile } from '../dsl/files';
import type { DataSummary, ExperimentModel } from '../dsl/validate';
import { writeFileAtomic } from '../runs/atomic';
import { colormap } from '../runs/colormap';
import { blend, decodePng, luminance, normalize01, rgbOf, RgbCanvas, type Rgb } from '../runs/png';
import { listRunDirs, readOverlayIndex, runInfo } from '../runs/run-dir';
import { URI } from 'vscode-uri';

/** Images shown per preview. */
export const PREVIEW_COUNT = 4;
/** Largest thumbnail side in px; small images are upscaled by a whole factor up to this. */
export const MAX_TILE = 72;
/** Opacity of the colour-mapped human map over the image (the engine's CAM overlays use 0.5 too). */
export const HUMAN_ALPHA = 0.5;
const GAP = 2;
const GAP_RGB: Rgb = [32, 32, 32];
/** Run previews: image | human | CAM triplets per row, and the wider gap between triplets. */
const RUN_GRID_COLUMNS = 2;
const SAMPLE_GAP = 6;
/** Bumped when the pictures change, so stale cache files are not reused. */
const RENDER_VERSION = 1;
const MEMORY_ENTRIES = 64;
/** Largest base64 picture put inline; the rest of a hover stays far below VS Code's 100,000-character cut. */
export const DATA_URI_MAX_CHARS = 60_000;

export interface PreviewContext {
  /** Folder for cached PNGs (`<workspace>/.sgt/cache/previews`); undefined: memory only. */
  cacheDir?: string;
  /** The runs folder (setting `saliencyStudio.runsFolder`, default `<workspace>/.sgt/runs`). */
  runsFolder?: string;
}

/** Folder of cached preview PNGs inside a workspace (git-ignored with the rest of `.sgt/`). */
export const PREVIEW_CACHE_DIR = path.join('.sgt', 'cache', 'previews');

/**
 * The preview context of a document: its workspace folder (else its own folder) holds the
 * cache; the runs folder is the `saliencyStudio.runsFolder` setting resolved against it, as
 * the extension resolves it (client/src/run-labels.ts resolveRunsFolder). Empty for a
 * document without a file (untitled): no disk cache and no runs. `writeCache = false` (an
 * untrusted workspace): no disk cache either.
 */
export function previewContextFor(workspaceRoot: string | undefined, filePath: string | undefined, runsFolderSetting: unknown, writeCache = true): PreviewContext {
  const root = workspaceRoot ?? (filePath ? path.dirname(filePath) : undefined);
  if (!root) return {};
  const setting = typeof runsFolderSetting === 'string' && runsFolderSetting.trim() ? runsFolderSetting.trim() : path.join('.sgt', 'runs');
  // an untrusted workspace gets no files written into it: previews stay in memory
  return { ...(writeCache ? { cacheDir: path.join(root, PREVIEW_CACHE_DIR) } : {}), runsFolder: path.resolve(root, setting) };
}

export interface ThumbSample {
  /** size × size × channels, channels last, in [0, 1]. */
  image: Float32Array;
  channels: number;
  size: number;
  /** size × size human map (any range), or undefined when the image has none. */
  human?: Float32Array;
}

/** Thumbnail side for images of `size` px: a whole multiple up to MAX_TILE, or MAX_TILE for larger images. */
export function tileFor(size: number): number {
  return size >= MAX_TILE ? MAX_TILE : size * Math.max(1, Math.floor(MAX_TILE / size));
}

/**
 * The data preview picture: one column per sample, the image on top and the human map
 * (colour-mapped, blended over the grey image) below; an image without a map shows dimmed.
 * Samples are drawn at their own size scaled (nearest neighbour) to `tile`.
 */
export function composeDataGrid(samples: ThumbSample[], tile: number): RgbCanvas {
  const width = samples.length * tile + (samples.length - 1) * GAP;
  const canvas = new RgbCanvas(Math.max(1, width), 2 * tile + GAP, GAP_RGB);
  samples.forEach((s, j) => {
    const x0 = j * (tile + GAP);
    const rgb = (i: number) => rgbOf(s.image, s.channels, i);
    const grey = (i: number): Rgb => {
      const g = luminance(rgb(i));
      return [g, g, g];
    };
    canvas.drawPanel(x0, 0, s.size, tile, rgb);
    const human = s.human ? normalize01(s.human) : undefined;
    canvas.drawPanel(x0, tile + GAP, s.size, tile, human ? (i) => blend(grey(i), colormap(human[i]), HUMAN_ALPHA) : (i) => blend(grey(i), GAP_RGB, 0.75));
  });
  return canvas;
}

export interface DecodedPng {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/**
 * The run preview picture from overlay PNGs (`image | human | CAM`, three square panels of
 * `height` px with 2 px gaps, engines/tfjs/overlay.ts): the triplets two per row (wide and
 * short suits a hover), each panel reduced by a whole factor (box average, so the engine's
 * nearest-neighbour upscaling comes out exact) to at most MAX_TILE px. Overlays of another
 * size than the first are skipped.
 */
export function composeRunGrid(overlays: DecodedPng[]): RgbCanvas | undefined {
  const first = overlays[0];
  if (!first) return undefined;
  const panel = first.height;
  const gapIn = (first.width - 3 * panel) / 2;
  if (!Number.isInteger(gapIn) || gapIn < 0) return undefined;
  const usable = overlays.filter((o) => o.height === panel && o.width === first.width);
  const k = Math.ceil(panel / MAX_TILE);
  const tile = Math.floor(panel / k);
  const cols = Math.min(RUN_GRID_COLUMNS, usable.length);
  const rows = Math.ceil(usable.length / cols);
  const triplet = 3 * tile + 2 * GAP;
  const canvas = new RgbCanvas(cols * triplet + (cols - 1) * SAMPLE_GAP, rows * tile + (rows - 1) * GAP, GAP_RGB);
  usable.forEach((o, n) => {
    const row = Math.floor(n / cols);
    const x0 = (n % cols) * (triplet + SAMPLE_GAP);
    for (let p = 0; p < 3; p++) {
      const sx = p * (panel + gapIn);
      for (let y = 0; y < tile; y++) {
        for (let x = 0; x < tile; x++) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let dy = 0; dy < k; dy++) {
            for (let dx = 0; dx < k; dx++) {
              const q = ((y * k + dy) * o.width + sx + x * k + dx) * 4;
              r += o.rgba[q];
              g += o.rgba[q + 1];
              b += o.rgba[q + 2];
            }
          }
          const n = k * k;
          canvas.set(x0 + p * (tile + GAP) + x, row * (tile + GAP) + y, [Math.round(r / n), Math.round(g / n), Math.round(b / n)]);
        }
      }
    }
  });
  return canvas;
}

// ---- markdown ------------------------------------------------------------------------------

/** The preview of an experiment's data, as markdown (an image and a caption), or undefined when there is nothing to show. */
export function dataPreviewMarkdown(model: ExperimentModel, ctx: PreviewContext): string | undefined {
  const data = model.data;
  if (!data) return undefined;
  if (data.kind === 'builtin') return builtinPreview(model, data, ctx);
  return folderPreview(data, ctx);
}

function builtinPreview(model: ExperimentModel, data: DataSummary, ctx: PreviewContext): string | undefined {
  const name = /^builtin\("([^"]+)"\)$/.exec(model.lookup('data.source') ?? '')?.[1];
  if (name !== 'decoy-mnist' && name !== 'mnist') return undefined;
  const seed = Number(model.lookup('seed') ?? 0);
  const imageSize = Number(model.lookup('data.image_size') ?? 28);
  if (!Number.isInteger(seed) || !Number.isInteger(imageSize) || imageSize < 8 || imageSize > 1024) return undefined;
  const digits = path.join(mnistDigitsDir(), '0.json');
  const uri = cachedPng(ctx, ['builtin', name, seed, imageSize, fileStamp(digits)], () => {
    const train = (name === 'mnist' ? buildMnist : buildDecoyMnist)({ seed, imageSize }).train;
    const px = train.size * train.size;
    const samples = Array.from({ length: Math.min(PREVIEW_COUNT, train.count) }, (_, n) => ({
      image: train.images.subarray(n * px * train.channels, (n + 1) * px * train.channels),
      channels: train.channels,
      size: train.size,
      human: train.saliency.subarray(n * px, (n + 1) * px),
    }));
    return composeDataGrid(samples, tileFor(train.size)).toPng();
  });
  return uri && dataMarkdown(uri, `first ${PREVIEW_COUNT} training images of ${name} (seed ${seed})`, data);
}

function folderPreview(data: DataSummary, ctx: PreviewContext): string | undefined {
  if (!data.imagesDir) return undefined;
  const picked = pickFolderSamples(data.imagesDir, data.boxesFile ? undefined : data.saliencyDir, data.boxesFile);
  if (picked.length === 0) return undefined;
  const stamps = [...picked.flatMap((p) => [fileStamp(p.image), p.map ? fileStamp(p.map) : null]), data.boxesFile ? fileStamp(data.boxesFile) : null];
  const uri = cachedPng(ctx, ['folder', stamps], () => {
    const samples = picked.map((p): ThumbSample => {
      const decoded = decodeImage(p.image);
      const side = Math.min(decoded.width, decoded.height);
      const size = side >= MAX_TILE ? MAX_TILE : side;
      const image = new Float32Array(size * size * 3);
      toPixels(decoded, 3, size, image, 0);
      let human: Float32Array | undefined;
      if (p.boxes) {
        // every box of the image, any class, as the mask training would use (data/boxes.ts)
        human = new Float32Array(size * size);
        const px = p.boxes.flatMap((b) => scaleBox(b, decoded.width, decoded.height, size, 0) ?? []);
        fillMask(px, 0, size, human);
      } else if (p.map) {
        try {
          human = new Float32Array(size * size);
          toPixels(decodeImage(p.map), 1, size, human, 0);
        } catch {
          human = undefined; // a corrupt map shows as "no map", as training treats it
        }
      }
      return { image, channels: 3, size, human };
    });
    const tile = Math.min(...samples.map((s) => tileFor(s.size)));
    return composeDataGrid(samples, tile).toPng();
  });
  const annotated = picked.filter((p) => p.map || p.boxes).length;
  return uri && dataMarkdown(uri, `${picked.length} images, ${annotated} of them with ${data.boxesFile ? 'boxes' : 'a saliency map'}`, data);
}

function dataMarkdown(uri: string, what: string, data: DataSummary): string {
  const pct = data.images > 0 ? ` (${+((100 * data.annotatedImages) / data.images).toFixed(1)}%)` : '';
  return [
    `![Human saliency: ${what}](${uri})`,
    '',
    `*Top: ${what}. Bottom: their ${data.boxesFile ? 'boxes as masks' : 'human saliency maps'} over the image (blue = low, red = salient). ${data.annotatedImages} of ${data.images} images annotated${pct}.*`,
  ].join('\n');
}

/**
 * Renders the data previews of a document's experiments ahead of the first hover (the server
 * calls it shortly after a document opens): building Decoy MNIST takes about a second the
 * first time, a cached picture takes a millisecond. Failures are left for the hover to report.
 */
export function prewarmDataPreviews(models: Iterable<ExperimentModel>, ctx: PreviewContext): void {
  for (const model of models) {
    try {
      dataPreviewMarkdown(model, ctx);
    } catch {
      // the hover shows the reason when it happens again there
    }
  }
}

/**
 * The newest run of `experiment` in the runs folder that has CAM overlays, as markdown;
 * undefined when there is none. A sweep passes the names of all its runs.
 */
export function runPreviewMarkdown(experiment: string | readonly string[], ctx: PreviewContext): string | undefined {
  if (!ctx.runsFolder) return undefined;
  const names = new Set(typeof experiment === 'string' ? [experiment] : experiment);
  for (const dir of listRunDirs(ctx.runsFolder)) {
    if (!names.has(experimentOfRunDir(dir))) continue;
    const index = readOverlayIndex(dir);
    const latest = index.at(-1);
    if (!latest || latest.files.length === 0) continue;
    const files = latest.files.slice(0, PREVIEW_COUNT).map((f) => path.join(dir, f));
    const uri = cachedPng(ctx, ['run', files.map(fileStamp)], () => composeRunGrid(files.map((f) => decodePng(fs.readFileSync(f))))?.toPng());
    if (!uri) return undefined;
    const info = runInfo(dir);
    const metrics = info.metrics.val ?? info.metrics.test ?? {};
    const shown = ['accuracy', 'saliency_corr'].filter((k) => typeof metrics[k] === 'number').map((k) => `${k} ${metrics[k].toFixed(3)}`);
    return [
      `**Latest run** \`${info.id}\` (${info.status}) — step ${latest.step}, epoch ${latest.epoch}${shown.length ? ` · val ${shown.join(' · ')}` : ''}`,
      '',
      `![CAM overlays of ${info.id} at step ${latest.step}](${uri})`,
      '',
      `*Each sample: image · human saliency map · the model's CAM over the image (${files.length} of ${latest.files.length} preview samples).*`,
    ].join('\n');
  }
  return undefined;
}

/** The experiment a run directory belongs to, from its name `<experiment>-<yyyymmdd-hhmmss>-<hex>` (no file reads). */
export function experimentOfRunDir(dir: string): string {
  return path.basename(dir).replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, '');
}

// ---- samples of a data folder ----------------------------------------------------------------

export interface PickedSample {
  image: string;
  map?: string;
  /** With a boxes file: the image's boxes (in its own pixels). */
  boxes?: Box[];
}

/**
 * The first PREVIEW_COUNT images (sorted by path, flat or one class folder down) that have a
 * saliency map with the same base name (flat or one folder down, as data/folder.ts pairs
 * them); images without one fill up when fewer are annotated.
 */
export function pickFolderSamples(imagesDir: string, saliencyDir: string | undefined, boxesFile?: string): PickedSample[] {
  const images = listImages(imagesDir).sort();
  const maps = new Map<string, string>();
  if (saliencyDir) for (const rel of listImages(saliencyDir)) maps.set(baseName(rel), path.join(saliencyDir, rel));
  // boxes as the loader reads them; an unreadable file shows no boxes (the validator reports it)
  let boxes = new Map<string, Box[]>();
  if (boxesFile) {
    try {
      boxes = matchBoxes(parseBoxes(fs.readFileSync(boxesFile, 'utf8')).entries, { images }).byImage;
    } catch {
      boxes = new Map();
    }
  }
  const all: PickedSample[] = images.map((rel) => {
    const own = boxes.get(rel);
    return { image: path.join(imagesDir, rel), map: maps.get(baseName(rel)), ...(own?.length ? { boxes: own } : {}) };
  });
  const annotated = all.filter((s) => s.map || s.boxes);
  return [...annotated, ...all.filter((s) => !s.map && !s.boxes)].slice(0, PREVIEW_COUNT);
}

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdir(dir)) {
    if (e.isFile() && isImageFile(e.name)) out.push(e.name);
    else if (e.isDirectory()) for (const f of readdir(path.join(dir, e.name))) if (f.isFile() && isImageFile(f.name)) out.push(`${e.name}/${f.name}`);
  }
  return out;
}

function readdir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

// ---- caching ---------------------------------------------------------------------------------

/** Path, size and modification time of a file (null when missing): what a cache key depends on. */
function fileStamp(file: string): [string, number, number] | null {
  try {
    const st = fs.statSync(file);
    return [file, st.size, st.mtimeMs];
  } catch {
    return null;
  }
}

const memory = new Map<string, string>();

/**
 * The PNG for `key` as a URI for hover markdown (data:, or file: of the cache file when too
 * big to inline): from memory, else the disk cache, else rendered (and cached). Undefined
 * when there is nothing to show, or a big picture could not be cached on disk.
 */
function cachedPng(ctx: PreviewContext, key: unknown[], render: () => Uint8Array | undefined): string | undefined {
  const hash = crypto.createHash('sha256').update(JSON.stringify([RENDER_VERSION, ...key])).digest('hex').slice(0, 32);
  const hit = memory.get(hash);
  if (hit) {
    // refresh its place in the insertion-ordered map (least recently used goes first)
    memory.delete(hash);
    memory.set(hash, hit);
    return hit;
  }
  const file = ctx.cacheDir ? path.join(ctx.cacheDir, `${hash}.png`) : undefined;
  let png: Uint8Array | undefined;
  let onDisk = false;
  if (file) {
    try {
      png = fs.readFileSync(file);
      onDisk = true;
    } catch {
      png = undefined;
    }
  }
  if (!png) {
    png = render();
    if (!png) return undefined;
    if (file) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeFileAtomic(file, png);
        onDisk = true;
      } catch {
        // a read-only workspace still gets its preview, only uncached on disk
      }
    }
  }
  const base64 = Buffer.from(png).toString('base64');
  const uri = base64.length <= DATA_URI_MAX_CHARS ? `data:image/png;base64,${base64}` : file && onDisk ? URI.file(file).toString() : undefined;
  if (!uri) return undefined;
  memory.set(hash, uri);
  if (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
  return uri;
}

/** Forgets the in-memory cache (tests measure cold hovers with it). */
export function clearPreviewMemory(): void {
  memory.clear();
}
