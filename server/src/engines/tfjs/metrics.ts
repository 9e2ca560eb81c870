/**
 * Evaluation metrics on plain arrays (reference.md, "Metrics"):
 *
 * - `accuracy`: share of arg-max predictions equal to the label;
 * - `auc`: ROC AUC of a binary task with score P(class 1), rank-based (the Mann–Whitney
 *   U statistic): AUC = (Σ ranks of positives − P(P+1)/2) / (P·N), tied scores sharing
 *   their average rank (a tie between a positive and a negative counts ½). NaN when one
 *   class is absent;
 * - saliency agreement on held-out annotated images: the normalised CAM (cam.ts) upsampled
 *   bilinearly to the image size, compared with the human map H min-max normalised
 *   (flat → zeros): `saliency_mse` = mean over images of the per-image mean squared
 *   difference; `saliency_corr` = mean over images of the per-image Pearson correlation,
 *   leaving out images where either map is constant (correlation undefined);
 * - `epg`, `iou` of the guidance attribution against the mask M (PointingAccumulator).
 */
import { resizeBilinear } from '../../data/resize';
import { pearson } from '../../runs/pearson';
import { FLAT_RANGE, normalizeInPlace } from './cam';

export { pearson };

export function argmaxRows(values: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (labels.length === 0) return NaN;
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}

/** ROC AUC of `scores` for `positive[i]` (truthy = class 1). */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<number | boolean>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let t = i; t <= j; t++) {
      if (positive[order[t]]) {
        rankSumPos += averageRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface SaliencyAgreement {
  /** Mean per-image MSE (NaN without images). */
  mse: number;
  /** Mean per-image Pearson correlation over images where it is defined (NaN if none). */
  corr: number;
  /** Images compared. */
  images: number;
}

/** Accumulates saliency agreement image by image (evaluation runs in batches). */
export class SaliencyAgreementAccumulator {
  private mseSum = 0;
  private corrSum = 0;
  private images = 0;
  private corrImages = 0;
  private readonly up: Float32Array<ArrayBuffer>;
  private readonly human: Float32Array<ArrayBuffer>;

  constructor(
    private readonly camSize: number,
    private readonly imageSize: number,
  ) {
    this.up = new Float32Array(imageSize * imageSize);
    this.human = new Float32Array(imageSize * imageSize);
  }

  /** One image: its normalised CAM (camSize²) and its human map (imageSize², any range). */
  add(cam: Float32Array, humanMap: Float32Array): void {
    resizeBilinear(cam, this.camSize, this.imageSize, this.up);
    this.human.set(humanMap);
    normalizeInPlace(this.human);
    let se = 0;
    for (let i = 0; i < this.up.length; i++) se += (this.up[i] - this.human[i]) ** 2;
    this.mseSum += se / this.up.length;
    this.images++;
    const r = pearson(this.up, this.human);
    if (r !== undefined) {
      this.corrSum += r;
      this.corrImages++;
    }
  }

  result(): SaliencyAgreement {
    return {
      mse: this.images ? this.mseSum / this.images : NaN,
      corr: this.corrImages ? this.corrSum / this.corrImages : NaN,
      images: this.images,
    };
  }
}

export interface Pointing {
  epg: number;
  iou: number;
  images: number;
}

/**
 * EPG and IoU (reference.md "Metrics") over evaluation batches, per image then mean, as the
 * torch engine's PointingMetrics: the attribution a (any range, upsampled bilinearly to the
 * image size) against M = {human map > 0}; EPG = Σ_{M=1} a⁺ / Σ a⁺ (zero energy counts 0);
 * IoU = |T∩M| / |T∪M| with T = {â > 0.5}, â = a⁺ min-max normalised (a flat map: T empty;
 * an empty union counts 0).
 */
export class PointingAccumulator {
  private epgSum = 0;
  private iouSum = 0;
  private images = 0;
  private readonly up: Float32Array<ArrayBuffer>;

  constructor(
    private readonly mapSize: number,
    private readonly imageSize: number,
  ) {
    this.up = new Float32Array(imageSize * imageSize);
  }

  /** One image: its attribution (mapSize²) and its human map (imageSize²). */
  add(map: Float32Array, humanMap: Float32Array): void {
    resizeBilinear(map, this.mapSize, this.imageSize, this.up);
    let total = 0;
    let inside = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < this.up.length; i++) {
      const a = Math.max(this.up[i], 0);
      total += a;
      if (humanMap[i] > 0) inside += a;
      lo = Math.min(lo, a);
      hi = Math.max(hi, a);
    }
    const range = hi - lo;
    let inter = 0;
    let union = 0;
    for (let i = 0; i < this.up.length; i++) {
      const t = range > FLAT_RANGE && (Math.max(this.up[i], 0) - lo) / range > 0.5;
      const m = humanMap[i] > 0;
      if (t && m) inter++;
      if (t || m) union++;
    }
    this.epgSum += total > 0 ? inside / total : 0;
    this.iouSum += union > 0 ? inter / union : 0;
    this.images++;
  }

  result(): Pointing {
    return { epg: this.images ? this.epgSum / this.images : NaN, iou: this.images ? this.iouSum / this.images : NaN, images: this.images };
  }
}
