/**
 * Guidance losses beyond CYBORG-with-CAM (reference.md "Guidance losses"), the port of the
 * torch engine's losses.py:
 *
 * - Rao et al.'s energy, L1, PPCE and RRR* on an attribution a (attribution.ts) upsampled
 *   bilinearly to the image size and compared with the mask M = {human map > 0};
 * - Ross et al.'s RRR: Σ over the irrelevant region A (every channel) of the squared input
 *   gradients of Σ_k log p_k. A = {human map = 0} (`guidance.irrelevant = unannotated`), or
 *   the data set's known shortcut (`shortcut`: Decoy MNIST's swatch, ImageSet.decoyMask),
 *   in which case RRR* penalises â on A too (M = 1 − A), as the torch engine does;
 * - CYBORG with GradCAM or input×gradient: α·CE + (1−α)·MSE(min-max(a), H↓), H↓ the human
 *   map resized to the map's size and min-max normalised;
 *
 * total = CE + λ·L (CYBORG: α·CE + (1−α)·L), L the mean of the per-image term over the
 * batch's guided images (unguided images: CE only); with `norm` a shard's terms are its sums
 * over the whole batch's denominators, as in losses.ts.
 *
 * Comparisons and guards without a gradient (`x > 0`, `total < floor`) are written with
 * `step`, whose gradient is zero: tfjs has no gradient for comparison ops.
 */
import { attributionMaps, inputGradients, type AttributionKind, type GuidedLayer } from './attribution';
import { normalizeMaps, saliencyAtCamSize, type CamClass } from './cam';
import { crossEntropyPerImage, type BatchNorm, type LossTerms } from './losses';
import type { Model } from './models';
import { maxKeep } from './reduce';
import { tf } from './tf';

export const RAO_LOSSES = ['energy', 'l1', 'ppce', 'rrr_star'] as const;
export type RaoLoss = (typeof RAO_LOSSES)[number];
export type GuidanceLoss = 'none' | 'cyborg' | RaoLoss | 'rrr';
/** reference.md: below this total positive energy, L = 1 − Σ_{M=1} a⁺. */
export const ENERGY_FLOOR = 1e-7;
/** PPCE: log(â + ε), so a pixel of M with no positive attribution is finite. */
export const LOG_EPS = 1e-7;

/** 1 where x > 0, else 0 (no gradient). */
const positive = (x: tf.Tensor) => tf.step(x);

/** M from grayscale human maps: 1 where the map is positive. */
export function humanMask(maps: Float32Array): Float32Array {
  return Float32Array.from(maps, (v) => (v > 0 ? 1 : 0));
}

/**
 * The `to`×`from` matrix of bilinear interpolation on pixel centres (data/resize.ts, torch
 * `interpolate(mode="bilinear", align_corners=False)`): row i holds the weights of output i.
 */
export function bilinearMatrix(from: number, to: number): Float32Array {
  const r = new Float32Array(to * from);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), from - 1);
    const i0 = Math.floor(s);
    const i1 = Math.min(i0 + 1, from - 1);
    const f = s - i0;
    r[i * from + i0] += 1 - f;
    r[i * from + i1] += f;
  }
  return r;
}

/** [N, s, s] → [N, to, to] bilinear (separable: R·A·Rᵀ as two matrix products, differentiable). */
export function upsampleMaps(maps: tf.Tensor3D, to: number): tf.Tensor3D {
  const [n, s] = maps.shape;
  if (s === to) return maps;
  const rt = tf.transpose(tf.tensor2d(bilinearMatrix(s, to), [to, s])); // [s, to]
  const rows = tf.reshape(tf.matMul(tf.reshape(maps, [n * s, s]), rt), [n, s, to]); // A·Rᵀ
  const cols = tf.matMul(tf.reshape(tf.transpose(rows, [0, 2, 1]), [n * to, s]), rt); // (A·Rᵀ)ᵀ·Rᵀ
  return tf.transpose(tf.reshape(cols, [n, to, to]), [0, 2, 1]);
}

/** â = a⁺ / max|a| per image; an all-zero map stays zero. */
export function unitAttribution(a: tf.Tensor3D): tf.Tensor3D {
  const peak = maxKeep(tf.abs(a), [1, 2]);
  const flat = tf.sub(1, positive(peak));
  return tf.div(tf.relu(a), tf.add(peak, flat));
}

export function energyPerImage(a: tf.Tensor3D, m: tf.Tensor3D): tf.Tensor1D {
  const pos = tf.relu(a);
  const inside = tf.sum(tf.mul(pos, m), [1, 2]);
  const total = tf.sum(pos, [1, 2]);
  const small = tf.sub(1, positive(tf.sub(total, ENERGY_FLOOR))); // total < floor (total = floor: step gives 0)
  const ratio = tf.sub(1, tf.div(inside, tf.maximum(total, ENERGY_FLOOR)));
  return tf.add(tf.mul(small, tf.sub(1, inside)), tf.mul(tf.sub(1, small), ratio)) as tf.Tensor1D;
}

export function l1PerImage(a: tf.Tensor3D, m: tf.Tensor3D): tf.Tensor1D {
  return tf.mean(tf.abs(tf.sub(unitAttribution(a), m)), [1, 2]);
}

/** −mean over M = 1 of log â; 0 for an empty mask. */
export function ppcePerImage(a: tf.Tensor3D, m: tf.Tensor3D): tf.Tensor1D {
  const logs = tf.mul(tf.log(tf.add(unitAttribution(a), LOG_EPS)), m);
  return tf.neg(tf.div(tf.sum(logs, [1, 2]), tf.maximum(tf.sum(m, [1, 2]), 1))) as tf.Tensor1D;
}

export function rrrStarPerImage(a: tf.Tensor3D, m: tf.Tensor3D): tf.Tensor1D {
  return tf.sum(tf.square(tf.mul(unitAttribution(a), tf.sub(1, m))), [1, 2]);
}

const RAO_PER_IMAGE: Record<RaoLoss, (a: tf.Tensor3D, m: tf.Tensor3D) => tf.Tensor1D> = {
  energy: energyPerImage,
  l1: l1PerImage,
  ppce: ppcePerImage,
  rrr_star: rrrStarPerImage,
};

/** maps [N, h, w] at feature resolution, mask [N, S, S]: the maps are upsampled to S first. */
export function raoPerImage(loss: RaoLoss, maps: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor1D {
  return RAO_PER_IMAGE[loss](upsampleMaps(maps, mask.shape[1]), mask);
}

/** Σ over the irrelevant region A [N, S, S] (1 = irrelevant; every channel) of the squared input gradients. */
export function rrrPerImage(grads: tf.Tensor4D, irrelevant: tf.Tensor3D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.square(grads), tf.expandDims(irrelevant, 3)), [1, 2, 3]);
}

/** (CE + weight·L, or α·CE + (1−α)·L) with L the guided images' mean of `perImage`. */
export function weightedLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, perImage: tf.Tensor1D, guided: tf.Tensor1D, weights: { ce: number; guidance: number }, norm?: BatchNorm): LossTerms {
  const ce = crossEntropyPerImage(logits, labels);
  const ceMean = (norm ? tf.div(tf.sum(ce), norm.images) : tf.mean(ce)) as tf.Scalar;
  const g = tf.cast(guided, 'float32');
  const guidedCount = norm ? norm.guided : tf.sum(g);
  const guidance = tf.div(tf.sum(tf.mul(perImage, g)), tf.maximum(guidedCount, 1)) as tf.Scalar;
  const loss = tf.add(tf.mul(weights.ce, ceMean), tf.mul(weights.guidance, guidance)) as tf.Scalar;
  return { loss, ce: ceMean, guidance };
}

export type IrrelevantRegion = 'unannotated' | 'shortcut';

export interface GuidedLossConfig {
  loss: Exclude<GuidanceLoss, 'none'>;
  attribution: AttributionKind;
  layer: GuidedLayer;
  lambda: number;
  alpha: number;
  camClass: CamClass;
}

/** The loss for the log, as the torch engine words it: `energy (lambda 1, gradcam at mid)`. */
export function describeLoss(g: { loss: GuidanceLoss; alpha: number; attribution: AttributionKind; layer: GuidedLayer; lambda: number }): string {
  if (g.loss === 'none') return 'cross-entropy';
  if (g.loss === 'cyborg') return `cyborg (alpha ${g.alpha}, ${g.attribution} at ${g.layer})`;
  if (g.loss === 'rrr') return `rrr (lambda ${g.lambda}, input gradients)`;
  return `${g.loss} (lambda ${g.lambda}, ${g.attribution} at ${g.layer})`;
}

/**
 * The attribution EPG and IoU explain with (as the torch engine): the guidance's own for the
 * attribution losses, else the CAM, else input×gradient at the input (the mlp).
 */
export function evaluationAttribution(g: { loss: GuidanceLoss; attribution: AttributionKind; layer: GuidedLayer }, hasCam: boolean): { kind: AttributionKind; layer: GuidedLayer } {
  if (g.loss !== 'none' && g.loss !== 'rrr') return { kind: g.attribution, layer: g.layer };
  return hasCam ? { kind: 'cam', layer: 'final' } : { kind: 'ixg', layer: 'input' };
}

/** CYBORG with the CAM has its own, cheaper path (losses.ts, targets resized once per run). */
export function isCyborgCam(c: { loss: string; attribution?: string }): boolean {
  return c.loss === 'cyborg' && (c.attribution ?? 'cam') === 'cam';
}

/**
 * The loss terms of the guided losses other than CYBORG-with-CAM, and the logits they came
 * with. `human`: the batch's raw human maps [N, S, S] as a plain array (S = image size);
 * `irrelevant`: the region A [N, S, S] (1 = irrelevant) when it is not {human map = 0}.
 */
export function guidedLoss(model: Model, c: GuidedLossConfig, x: tf.Tensor4D, labels: tf.Tensor1D, human: Float32Array, guided: tf.Tensor1D, norm?: BatchNorm, irrelevantRegion?: ArrayLike<number>): LossTerms & { logits: tf.Tensor2D } {
  const [n, size] = x.shape;
  const region = () => tf.tensor3d(irrelevantRegion ? Float32Array.from(irrelevantRegion, (v) => (v > 0 ? 1 : 0)) : Float32Array.from(human, (v) => (v > 0 ? 0 : 1)), [n, size, size]);
  if (c.loss === 'rrr') {
    const { logProbs, grads } = inputGradients(model, x);
    const irrelevant = region();
    return { ...weightedLoss(logProbs, labels, rrrPerImage(grads, irrelevant), guided, { ce: 1, guidance: c.lambda }, norm), logits: logProbs };
  }
  const { logits, maps } = attributionMaps(model, x, labels, c.attribution, c.layer, c.camClass);
  if (c.loss === 'cyborg') {
    const h = maps.shape[1];
    const target = tf.tensor3d(saliencyAtCamSize(human, n, size, h), [n, h, h]);
    const mse = tf.mean(tf.square(tf.sub(normalizeMaps(maps), target)), [1, 2]) as tf.Tensor1D;
    return { ...weightedLoss(logits, labels, mse, guided, { ce: c.alpha, guidance: 1 - c.alpha }, norm), logits };
  }
  // RRR* penalises â outside M, so with a shortcut region M = 1 − A
  const mask = irrelevantRegion && c.loss === 'rrr_star' ? (tf.sub(1, region()) as tf.Tensor3D) : tf.tensor3d(humanMask(human), [n, size, size]);
  return { ...weightedLoss(logits, labels, raoPerImage(c.loss, maps, mask), guided, { ce: 1, guidance: c.lambda }, norm), logits };
}
