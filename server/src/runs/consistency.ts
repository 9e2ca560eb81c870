/**
 * Cross-run saliency consistency (CYBORG journal version, Boyd et al. 2024: CYBORG-trained
 * models' saliency is more consistent across independent training runs): how similar the
 * CAMs of runs of one setting with different seeds are on the same images.
 *
 * Definition (docs/dsl.md, "Metrics"). Runs r = 1 … R (R ≥ 2), each with its CAM file
 * (runs/cam-file.ts: the kept checkpoint's label-class CAMs, min-max normalised, at the CAM
 * resolution, on the CAM probe's images i = 1 … N). For image i,
 *
 *   c_i = mean over the pairs r < s whose maps are both non-constant of Pearson(M_r,i, M_s,i)
 *
 * (correlation over the h·w cells; a constant map has none, as in `saliency_corr`), and
 *
 *   consistency = mean of c_i over the images with at least one such pair.
 *
 * 1 means the runs' CAMs are the same up to scale on every image; 0, unrelated. Pearson is
 * computed in float64 here (not with the engine's metrics.ts, which would pull TF.js into
 * reports and the extension).
 */
import * as path from 'node:path';
import { CAM_FILE, CamFileError, readCamFile, type CamMaps } from './cam-file';
import { readSummary } from './run-dir';
import { pearson } from './pearson';

export interface Consistency {
  value: number;
  /** Images with at least one defined pair. */
  images: number;
  /** Defined (image, pair) correlations averaged. */
  pairs: number;
  runs: number;
}

/**
 * Consistency of R runs' maps (each `count` images × `pixels` cells, row-major). Undefined
 * with fewer than two runs or when no image has a defined pair.
 */
export function camConsistency(runs: readonly Float32Array[], count: number, pixels: number): Consistency | undefined {
  if (runs.length < 2 || count === 0 || pixels === 0) return undefined;
  for (const r of runs) if (r.length !== count * pixels) throw new RangeError(`consistency: a run has ${r.length} values, expected ${count}×${pixels}`);
  let sum = 0;
  let images = 0;
  let pairs = 0;
  for (let i = 0; i < count; i++) {
    let imageSum = 0;
    let imagePairs = 0;
    for (let r = 0; r < runs.length; r++) {
      for (let s = r + 1; s < runs.length; s++) {
        const rho = pearson(runs[r].subarray(i * pixels, (i + 1) * pixels), runs[s].subarray(i * pixels, (i + 1) * pixels));
        if (rho === undefined) continue;
        imageSum += rho;
        imagePairs++;
      }
    }
    if (imagePairs === 0) continue;
    sum += imageSum / imagePairs;
    images++;
    pairs += imagePairs;
  }
  if (images === 0) return undefined;
  return { value: sum / images, images, pairs, runs: runs.length };
}

export type RunsConsistency = ({ ok: true } & Consistency) | { ok: false; reason: string };

/**
 * The consistency of runs (their directories): each must have a CAM file of its kept
 * checkpoint, on the same probe images, at the same CAM size. Otherwise `reason` says why not.
 */
export function consistencyOfRuns(runDirs: readonly string[]): RunsConsistency {
  if (runDirs.length < 2) return { ok: false, reason: 'needs at least two runs' };
  const files: CamMaps[] = [];
  for (const dir of runDirs) {
    const name = path.basename(dir);
    let cams: CamMaps | undefined;
    try {
      cams = readCamFile(dir);
    } catch (e) {
      if (e instanceof CamFileError) return { ok: false, reason: `${name}: unreadable ${CAM_FILE} (${e.message})` };
      throw e;
    }
    if (!cams) return { ok: false, reason: `${name} has no ${CAM_FILE} (add \`consistency\` to evaluate.metrics)` };
    const summary = readSummary(dir) as { selectedEpoch?: unknown } | undefined;
    if (typeof summary?.selectedEpoch !== 'number') return { ok: false, reason: `${name} has not finished (no kept checkpoint in summary.json)` };
    if (summary.selectedEpoch !== cams.epoch) return { ok: false, reason: `${name}: ${CAM_FILE} is from epoch ${cams.epoch}, the kept checkpoint is epoch ${summary.selectedEpoch}` };
    files.push(cams);
  }
  const first = files[0];
  for (let k = 1; k < files.length; k++) {
    const f = files[k];
    if (f.probe.sha256 !== first.probe.sha256) return { ok: false, reason: `${path.basename(runDirs[k])} recorded its CAMs on other images than ${path.basename(runDirs[0])} (different data settings)` };
    if (f.height !== first.height || f.width !== first.width) return { ok: false, reason: `CAM sizes differ (${first.height}×${first.width} vs ${f.height}×${f.width}): different architectures or image sizes` };
  }
  const result = camConsistency(
    files.map((f) => f.maps),
    first.count,
    first.height * first.width,
  );
  if (!result) return { ok: false, reason: 'every CAM pair is flat (constant maps have no correlation)' };
  return { ok: true, ...result };
}
