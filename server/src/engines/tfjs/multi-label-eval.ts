/**
 * Evaluation of a multi-label classifier (multi-label.ts), as the torch engine's
 * multilabel.py `evaluate`:
 *
 * - `accuracy` = exact match (every class's sigmoid on the right side of 0.5): what selects
 *   the best checkpoint;
 * - `f1` = micro-averaged F1 over all (image, class) decisions at 0.5: 2·TP / (2·TP + FP + FN);
 * - `map` = the mean over the classes present in the split of the average precision, sklearn's
 *   step-wise definition Σ_n (R_n − R_{n−1})·P_n over the distinct scores, highest first;
 * - `epg` / `iou` per (image, present class with an annotation of it): the evaluation
 *   attribution of that class against that class's mask;
 * - `loss` = mean BCE.
 */
import { gatherImages, type ImageSet } from '../../data/image-set';
import type { Metrics } from '../../protocol';
import { attributionMaps, type AttributionKind, type GuidedLayer } from './attribution';
import type { CamClass } from './cam';
import { PointingAccumulator } from './metrics';
import type { Model } from './models';
import { bcePerImage, classMasks, exactMatches, multiHotRows } from './multi-label';
import { tf } from './tf';

/** 2·TP / (2·TP + FP + FN) over all pairs; NaN when there is nothing to count. */
export function f1Micro(predicted: ArrayLike<number | boolean>, truth: ArrayLike<number | boolean>): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = !!predicted[i];
    const t = !!truth[i];
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom ? (2 * tp) / denom : NaN;
}

/** sklearn's average_precision_score: Σ_n (R_n − R_{n−1})·P_n over the distinct thresholds; NaN without positives. */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<number | boolean>): number {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (positive[i]) positives++;
  if (positives === 0) return NaN;
  // highest first; a stable sort keeps equal scores in index order (numpy's stable argsort)
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let ap = 0;
  let tp = 0;
  let recall = 0;
  for (let i = 0; i < n; i++) {
    if (positive[order[i]]) tp++;
    // the last of a run of equal scores is one threshold
    if (i === n - 1 || scores[order[i + 1]] !== scores[order[i]]) {
      const r = tp / positives;
      ap += (r - recall) * (tp / (i + 1));
      recall = r;
    }
  }
  return ap;
}

/** Mean AP over the classes with a positive in the split (columns of row-major [n × classes]); NaN when none has. */
export function meanAveragePrecision(scores: ArrayLike<number>, truth: ArrayLike<number>, n: number, classes: number): number {
  const aps: number[] = [];
  for (let k = 0; k < classes; k++) {
    const col = (a: ArrayLike<number>) => Float64Array.from({ length: n }, (_, i) => a[i * classes + k]);
    const ap = averagePrecision(col(scores), col(truth));
    if (!Number.isNaN(ap)) aps.push(ap);
  }
  return aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : NaN;
}

export interface MultiLabelEvalOptions {
  classes: number;
  batch: number;
  /** The metrics the experiment asks for. */
  wanted: Set<string>;
  /** The attribution EPG / IoU explain with (guidance.ts `evaluationAttribution`). */
  explain?: { kind: AttributionKind; layer: GuidedLayer };
  camClass: CamClass;
  /** Throws when the run was cancelled (checked per batch). */
  checkCancel(): void;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The metrics of a split (unrounded). */
export async function evaluateMultiLabel(model: Model, set: ImageSet, o: MultiLabelEvalOptions): Promise<Metrics> {
  const k = o.classes;
  const truth = set.multiLabels!;
  const scores = new Float32Array(set.count * k);
  const images = (idx: ArrayLike<number>) => tf.tensor4d(gatherImages(set, idx), [idx.length, set.size, set.size, set.channels]);
  const explain = o.explain && (o.wanted.has('epg') || o.wanted.has('iou')) ? o.explain : undefined;
  let pointing: PointingAccumulator | undefined;
  let bceSum = 0;
  let correct = 0;
  for (let from = 0; from < set.count; from += o.batch) {
    o.checkCancel();
    const idx = Int32Array.from({ length: Math.min(o.batch, set.count - from) }, (_, j) => from + j);
    const n = idx.length;
    const y = multiHotRows(set, k, idx);
    const { logits, probs, bce } = tf.tidy(() => {
      const l = model.forward(images(idx)).logits;
      return { logits: l.dataSync(), probs: tf.sigmoid(l).dataSync(), bce: bcePerImage(l, tf.tensor2d(y, [n, k])).dataSync() };
    });
    scores.set(probs, from * k);
    for (let i = 0; i < n; i++) bceSum += bce[i];
    correct += exactMatches(logits, y, n, k);
    if (explain) {
      // every (image, present class) with an annotation of that class
      const pi: number[] = [];
      const pk: number[] = [];
      for (const i of idx) {
        for (let c = 0; c < k; c++) {
          if (!truth[i * k + c]) continue;
          pi.push(i);
          pk.push(c);
        }
      }
      const { masks, has } = classMasks(set, pi, pk);
      const keep = pi.map((_, j) => j).filter((j) => has[j]);
      if (keep.length) {
        const { maps, size } = tf.tidy(() => {
          const a = attributionMaps(model, images(keep.map((j) => pi[j])), tf.tensor1d(keep.map((j) => pk[j]), 'int32'), explain.kind, explain.layer, o.camClass).maps;
          return { maps: a.dataSync() as Float32Array, size: a.shape[1] };
        });
        pointing ??= new PointingAccumulator(size, set.size);
        const px = set.size * set.size;
        keep.forEach((j, r) => pointing!.add(maps.subarray(r * size * size, (r + 1) * size * size), masks.subarray(j * px, (j + 1) * px)));
      }
    }
    await nextTick();
  }
  const n = Math.max(set.count, 1);
  const m: Metrics = { accuracy: correct / n, loss: bceSum / n };
  if (o.wanted.has('f1')) m.f1 = f1Micro(Array.from(scores, (s) => s > 0.5), truth);
  if (o.wanted.has('map')) m.map = meanAveragePrecision(scores, truth, set.count, k);
  if (pointing && pointing.result().images > 0) {
    const r = pointing.result();
    if (o.wanted.has('epg')) m.epg = r.epg;
    if (o.wanted.has('iou')) m.iou = r.iou;
  }
  return m;
}
