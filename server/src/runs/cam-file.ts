/**
 * The CAM file of a run: `cams/probe.json`, format `sgt-cams/1`, written by both engines
 * (tfjs: engines/tfjs/cam-file.ts; torch: sgt_torch/cam_file.py) when the experiment lists
 * `consistency` in `evaluate.metrics`, and read by runs/consistency.ts.
 *
 * It holds the CAMs of the checkpoint the run keeps (the epoch summary.json reports as
 * `selectedEpoch`) on the CAM probe (data/cam-probe.ts: the first 64 test images of data
 * seed 0, the same for every seed): the label class's CAM, min-max normalised per image
 * (flat → zeros), at the CAM's own resolution h×w (the final feature map; not upsampled:
 * exact, small — 64×7×7 float32 is 12.5 KB — and runs of one setting share it).
 *
 *   { "format": "sgt-cams/1", "epoch": 3, "step": 90,
 *     "probe": { "dataSeed": 0, "split": "test", "count": 64, "imageSize": 28, "channels": 1,
 *                "sha256": "<sha256 of the probe pixels, little-endian float32 N×S×S×C>" },
 *     "camClass": "label", "labels": [7, 2, …],
 *     "shape": [64, 7, 7], "dtype": "float32",
 *     "data": "<base64 of the maps, little-endian float32, row-major N×h×w>" }
 *
 * One JSON file so that one atomic rename replaces it whole; Python reads it with `json`,
 * `base64` and `numpy.frombuffer(…, '<f4')`. With `checkpoint = best` the engines rewrite it
 * at every new best epoch, before that epoch's checkpoint (a resume then recomputes it),
 * and with `checkpoint = last` at the last epoch; readers check `epoch` against summary.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic';

export const CAM_FILE = 'cams/probe.json';
export const CAM_FILE_FORMAT = 'sgt-cams/1';
/** The CAM probe (data/cam-probe.ts): this many first test images of this data seed. */
export const CAM_PROBE_COUNT = 64;
export const CAM_PROBE_SEED = 0;

/** True when the experiment asks for the CAM file (`consistency` in evaluate.metrics). */
export function wantsConsistency(resolved: unknown): boolean {
  const evaluate = (resolved as { evaluate?: { metrics?: unknown } } | null)?.evaluate;
  return Array.isArray(evaluate?.metrics) && evaluate.metrics.includes('consistency');
}

export interface CamProbeInfo {
  dataSeed: number;
  split: 'test';
  count: number;
  imageSize: number;
  channels: number;
  sha256: string;
}

/** A decoded CAM file. */
export interface CamMaps {
  epoch: number;
  step: number;
  probe: CamProbeInfo;
  labels: number[];
  count: number;
  height: number;
  width: number;
  /** N×h×w, row-major. */
  maps: Float32Array;
}

export class CamFileError extends Error {}

/** The file's text (keys in the documented order, as the torch engine writes them). */
export function encodeCamFile(m: CamMaps): string {
  if (m.maps.length !== m.count * m.height * m.width) throw new RangeError(`CAM file: ${m.maps.length} values for ${m.count}×${m.height}×${m.width}`);
  const data = Buffer.from(m.maps.buffer, m.maps.byteOffset, m.maps.byteLength).toString('base64');
  return (
    JSON.stringify({
      format: CAM_FILE_FORMAT,
      epoch: m.epoch,
      step: m.step,
      probe: m.probe,
      camClass: 'label',
      labels: m.labels,
      shape: [m.count, m.height, m.width],
      dtype: 'float32',
      data,
    }) + '\n'
  );
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Parses and checks a CAM file's text. Throws CamFileError. */
export function decodeCamFile(text: string): CamMaps {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CamFileError(`not JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object') throw new CamFileError('not an object');
  if (raw.format !== CAM_FILE_FORMAT) throw new CamFileError(`format ${JSON.stringify(raw.format)}, expected ${CAM_FILE_FORMAT}`);
  if (raw.dtype !== 'float32') throw new CamFileError(`dtype ${JSON.stringify(raw.dtype)}, expected float32`);
  const shape = raw.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every(isInt)) throw new CamFileError('shape must be [count, height, width]');
  const [count, height, width] = shape as number[];
  const probe = raw.probe as CamProbeInfo | undefined;
  if (!probe || typeof probe.sha256 !== 'string' || !isInt(probe.count) || probe.count !== count) throw new CamFileError('probe must name its images (sha256) and their count');
  if (!isInt(raw.epoch) || !isInt(raw.step)) throw new CamFileError('epoch and step must be counts');
  if (typeof raw.data !== 'string') throw new CamFileError('data must be base64 text');
  const bytes = Buffer.from(raw.data, 'base64');
  if (bytes.length !== count * height * width * 4) throw new CamFileError(`data holds ${bytes.length} bytes, shape ${count}×${height}×${width} needs ${count * height * width * 4}`);
  // copy into an aligned buffer (Buffer.from may share an unaligned pool slab)
  const maps = new Float32Array(count * height * width);
  new Uint8Array(maps.buffer).set(bytes);
  const labels = Array.isArray(raw.labels) ? (raw.labels as unknown[]).map(Number) : [];
  return { epoch: raw.epoch, step: raw.step, probe, labels, count, height, width, maps };
}

/** Writes a run's CAM file atomically. */
export function writeCamFile(runDir: string, m: CamMaps): void {
  const file = path.join(runDir, CAM_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, encodeCamFile(m));
}

/** The run's CAM file, undefined when there is none; throws CamFileError for a damaged one. */
export function readCamFile(runDir: string): CamMaps | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, CAM_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return decodeCamFile(text);
}
