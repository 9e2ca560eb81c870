/**
 * Multi-label training (labels.csv rows like `img.png,cat;dog`; docs/dsl.md), the port of
 * the torch engine's sgt_torch/multilabel.py, as Rao et al. train VOC / COCO classifiers:
 *
 * - classification: one sigmoid output per class and binary cross-entropy, the mean over
 *   classes then over the batch (the loss's `ce` part);
 * - guidance: per image ONE target class k, drawn at the start of each epoch by
 *   data/multi-label.ts `sampleTargetClasses` (the torch engine draws the same). The
 *   attribution explains k and is compared with the mask of k's boxes (Rao's rule,
 *   data/boxes.ts `fillMask`), or with the human map {H > 0} when the data has saliency maps
 *   instead of boxes (a map is per image, so it serves every class). Guided: in the annotated
 *   subset, with a target and a box of it (or a map); other images contribute BCE only. The
 *   guidance term is the guided images' mean (count clamped to ≥ 1); RRR differentiates
 *   Σ_k log σ(y_k) in place of Σ_k log p_k.
 *
 * Evaluation and its metrics: multi-label-eval.ts. Data-parallel shards (parallel.ts) use
 * the whole batch's denominators (`norm`), as losses.ts.
 */
import type { PixelBox } from '../../data/boxes';
import { fillMask } from '../../data/boxes';
import type { ImageSet } from '../../data/image-set';
import { sampleTargetClasses } from '../../data/multi-label';
import { attributionMaps } from './attribution';
import { normalizeMaps, saliencyAtCamSize } from './cam';
import { ConfigError } from './config';
import { raoPerImage, rrrPerImage, RAO_LOSSES, type RaoLoss } from './guidance';
import type { BatchNorm, LossTerms } from './losses';
import type { Model } from './models';
import { withExactPooling } from './second-order';
import type { LossConfig } from './step';
import { tf } from './tf';

/** The metrics the engine computes on multi-label data (the torch engine's METRICS). */
export const MULTI_LABEL_METRICS = ['accuracy', 'f1', 'map', 'epg', 'iou'] as const;

/** Per-image BCE with logits, the mean over classes: max(x, 0) − x·y + log(1 + e^−|x|), shape [N]. */
export function bcePerImage(logits: tf.Tensor2D, multiHot: tf.Tensor2D): tf.Tensor1D {
  const x = logits;
  return tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, multiHot)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))), 1) as tf.Tensor1D;
}

/**
 * log σ(x) = −softplus(−x) with a correct second derivative (RRR differentiates its input
 * gradient): the gradient σ(−x) is recomputed from the saved INPUT, as second-order.ts
 * `logSoftmax` does, never read from a saved output.
 */
export const logSigmoid = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.neg(tf.add(tf.relu(tf.neg(x)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.sigmoid(tf.neg(saved[0]))),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;

/** Images (rows of `logits` [n × classes]) whose every class is on the right side of 0.5 (σ > 0.5 ⇔ logit > 0). */
export function exactMatches(logits: ArrayLike<number>, multiHot: ArrayLike<number>, n: number, classes: number): number {
  let right = 0;
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let k = 0; k < classes && all; k++) all = logits[i * classes + k] > 0 === multiHot[i * classes + k] > 0.5;
    if (all) right++;
  }
  return right;
}

/** Rows `idx` of a set's multi-hot labels as floats (what BCE compares with). */
export function multiHotRows(set: Pick<ImageSet, 'multiLabels'>, classes: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * classes);
  for (let j = 0; j < idx.length; j++) for (let k = 0; k < classes; k++) out[j * classes + k] = set.multiLabels![idx[j] * classes + k];
  return out;
}

/** Whether image `i` of a set has an annotation of class `k`: a box of that class with boxes, else a human map (one per image serves every class). */
export function hasClassAnnotation(set: Pick<ImageSet, 'boxes' | 'hasSaliency'>, i: number, k: number): boolean {
  return set.boxes ? set.boxes[i].some((b) => b.cls === k) : (set.hasSaliency?.[i] ?? 1) === 1;
}

/**
 * The masks [n × S × S] of class `targets[j]` for image `idx[j]` and whether it has one: the
 * union of its boxes of that class (Rao's rule) with boxes, else its human map {H > 0}.
 */
export function classMasks(set: Pick<ImageSet, 'size' | 'boxes' | 'saliency' | 'hasSaliency'>, idx: ArrayLike<number>, targets: ArrayLike<number>): { masks: Float32Array; has: Uint8Array } {
  const px = set.size * set.size;
  const masks = new Float32Array(idx.length * px);
  const has = new Uint8Array(idx.length);
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    has[j] = hasClassAnnotation(set, i, targets[j]) ? 1 : 0;
    if (set.boxes) fillMask(set.boxes[i] as readonly PixelBox[], targets[j], set.size, masks, j * px);
    else for (let p = 0; p < px; p++) masks[j * px + p] = set.saliency[i * px + p] > 0 ? 1 : 0;
  }
  return { masks, has };
}

/** The training set's target classes of the current epoch and what follows from them. */
export class MultiLabelTargets {
  private targets: Int32Array;

  constructor(
    private readonly train: ImageSet,
    private readonly classes: number,
    private readonly seed: number,
    /** Per training image: in the annotated subset with some annotation (data/run-data.ts). */
    private readonly annotated: Uint8Array,
  ) {
    this.targets = sampleTargetClasses(train.multiLabels!, classes, seed, 0);
  }

  /** Draws epoch `epoch`'s (0-based) target classes. */
  setEpoch(epoch: number): void {
    this.targets = sampleTargetClasses(this.train.multiLabels!, this.classes, this.seed, epoch);
  }

  /** The target class of each image of `idx` (0 for an image without labels: never guided). */
  targetsOf(idx: ArrayLike<number>): Int32Array {
    return Int32Array.from(idx, (i) => Math.max(this.targets[i], 0));
  }

  /** Per image of `idx`: 1 when it gets the guidance term this epoch (annotated, with a target and an annotation of it). No masks built: the trainer counts a whole batch's guided images every step. */
  guided(idx: ArrayLike<number>): Float32Array {
    return Float32Array.from(idx, (i) => (this.annotated[i] && this.targets[i] >= 0 && hasClassAnnotation(this.train, i, this.targets[i]) ? 1 : 0));
  }

  /** Per image of `idx`: its target's masks, and the guided flags of `guided`. */
  guidance(idx: ArrayLike<number>): { masks: Float32Array; guided: Float32Array } {
    return { masks: classMasks(this.train, idx, this.targetsOf(idx)).masks, guided: this.guided(idx) };
  }
}

/** Refuses what multi-label training cannot do (the torch engine refuses the same). */
export function checkMultiLabelConfig(c: Pick<LossConfig, 'loss' | 'irrelevant'>): void {
  if (c.loss !== 'none' && c.irrelevant === 'shortcut') throw new ConfigError('guidance.irrelevant = shortcut needs a data set with shortcut masks; multi-label folder data has none');
}

/** The batch's inputs of multi-label training: images, multi-hot labels, targets, masks [n, S, S] and guided flags. */
export interface MultiLabelBatch {
  x: tf.Tensor4D;
  multiHot: tf.Tensor2D;
  targets: tf.Tensor1D;
  masks?: Float32Array;
  guided: tf.Tensor1D;
}

/** The loss terms (loss, BCE as `ce`, guidance) and logits of a multi-label batch, as multilabel.py `MultiLabel.loss`. */
export function multiLabelLoss(model: Model, c: LossConfig, b: MultiLabelBatch, norm?: BatchNorm): LossTerms & { logits: tf.Tensor2D } {
  const batchMean = (perImage: tf.Tensor1D) => (norm ? tf.div(tf.sum(perImage), norm.images) : tf.mean(perImage)) as tf.Scalar;
  if (c.loss === 'none') {
    const logits = model.forward(b.x).logits;
    const bce = batchMean(bcePerImage(logits, b.multiHot));
    return { loss: bce, ce: bce, guidance: tf.scalar(0), logits };
  }
  const [n, size] = b.x.shape;
  const mask = tf.tensor3d(b.masks!, [n, size, size]);
  let logits: tf.Tensor2D;
  let perImage: tf.Tensor1D;
  if (c.loss === 'rrr') {
    // input gradients of Σ_k log σ(y_k); A = outside the target class's mask. The logits ride
    // along with a zero cotangent, so BCE uses the same forward pass
    const k = model.spec.classes;
    const f = (t: tf.Tensor4D) => {
      const l = model.forward(t).logits;
      return tf.concat([logSigmoid(l), l], 1) as tf.Tensor2D;
    };
    const dy = tf.concat([tf.ones([n, k]), tf.zeros([n, k])], 1) as tf.Tensor2D;
    const { value, grad } = withExactPooling(() => tf.valueAndGrad(f)(b.x, dy));
    logits = tf.slice(value, [0, k], [n, k]);
    perImage = rrrPerImage(grad, tf.sub(1, mask) as tf.Tensor3D);
  } else {
    const a = attributionMaps(model, b.x, b.targets, c.attribution ?? 'cam', c.layer ?? 'final', c.camClass);
    logits = a.logits;
    if (c.loss === 'cyborg') {
      const h = a.maps.shape[1];
      const target = tf.tensor3d(saliencyAtCamSize(b.masks!, n, size, h), [n, h, h]);
      perImage = tf.mean(tf.square(tf.sub(normalizeMaps(a.maps), target)), [1, 2]) as tf.Tensor1D;
    } else if ((RAO_LOSSES as readonly string[]).includes(c.loss)) {
      perImage = raoPerImage(c.loss as RaoLoss, a.maps, mask);
    } else {
      throw new ConfigError(`guidance.loss = ${c.loss} is not supported with multi-label data`);
    }
  }
  const bce = batchMean(bcePerImage(logits, b.multiHot));
  const guidedCount = norm ? norm.guided : tf.sum(b.guided);
  const guidance = tf.div(tf.sum(tf.mul(perImage, b.guided)), tf.maximum(guidedCount, 1)) as tf.Scalar;
  const loss = (c.loss === 'cyborg' ? tf.add(tf.mul(c.alpha, bce), tf.mul(1 - c.alpha, guidance)) : tf.add(bce, tf.mul(c.lambda ?? 1, guidance))) as tf.Scalar;
  return { loss, ce: bce, guidance, logits };
}
