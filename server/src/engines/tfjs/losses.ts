/**
 * Training losses (reference.md, "Guidance losses"):
 *
 * - cross-entropy, mean over the batch;
 * - CYBORG: `L = α·CE + (1−α)·MSE(cam, H↓)` with cam the normalised CAM (cam.ts) of the
 *   final conv features, H↓ the human map resized bilinearly to the CAM size and min-max
 *   normalised (cam.ts `saliencyAtCamSize`), MSE the mean over the h×w map. α weights the
 *   classification term (α = 1 is plain CE).
 *
 * Images without a usable human map (none, or outside the `annotated` subset) contribute
 * to the CE term only: CE is averaged over the whole batch, the MSE over the guided
 * images of the batch (0 when it has none). With `missing_saliency = zeros` every image is
 * guided, those without a map towards an all-zero map (CYBORG's reference loader), and the
 * formula is exactly the paper's.
 *
 * Data-parallel shards (parallel.ts): with `norm` (the whole batch's image count and
 * guided count) a shard's terms are its sums divided by the batch's denominators, so the
 * terms — and their gradients — of the shards add up to those of the whole batch.
 */
import { camTargets, normalizedCam, type CamClass } from './cam';
import { tf } from './tf';

/** Per-image cross-entropy −log softmax(logits)[label], shape [N]. */
export function crossEntropyPerImage(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
  return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
}

export interface LossTerms {
  /** What is minimised. */
  loss: tf.Scalar;
  /** Mean cross-entropy over the batch (a shard's share of it with `norm`). */
  ce: tf.Scalar;
  /** Mean guidance term over the guided images, 0 without guidance (a shard's share with `norm`). */
  guidance: tf.Scalar;
}

/** Denominators of the whole batch when a loss is computed on one shard of it. */
export interface BatchNorm {
  /** Images in the batch. */
  images: number;
  /** Guided images in the batch. */
  guided: number;
}

export function crossEntropyLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, norm?: BatchNorm): LossTerms {
  const perImage = crossEntropyPerImage(logits, labels);
  const ce = (norm ? tf.div(tf.sum(perImage), norm.images) : tf.mean(perImage)) as tf.Scalar;
  return { loss: ce, ce, guidance: tf.scalar(0) };
}

export interface CyborgInputs {
  logits: tf.Tensor2D;
  /** Final conv features F [N, h, w, C]. */
  features: tf.Tensor4D;
  /** Classifier weights W [C, classes]. */
  headWeight: tf.Tensor2D;
  /** Class indices [N] (int32). */
  labels: tf.Tensor1D;
  /** H↓ [N, h, w]: human maps at the CAM size, min-max normalised. */
  saliency: tf.Tensor3D;
  /** [N] 1 for images whose map guides the model, 0 for CE-only images. */
  guided: tf.Tensor1D;
  alpha: number;
  camClass: CamClass;
  /** Set when this is one shard of a batch. */
  norm?: BatchNorm;
}

/** Per-image MSE between the normalised CAM and H↓, shape [N]. */
export function camMsePerImage(x: Pick<CyborgInputs, 'logits' | 'features' | 'headWeight' | 'labels' | 'saliency' | 'camClass'>): tf.Tensor1D {
  const cam = normalizedCam(x.features, x.headWeight, camTargets(x.logits, x.labels, x.camClass));
  return tf.mean(tf.square(tf.sub(cam, x.saliency)), [1, 2]);
}

export function cyborgLoss(x: CyborgInputs): LossTerms {
  const perImage = crossEntropyPerImage(x.logits, x.labels);
  const ce = (x.norm ? tf.div(tf.sum(perImage), x.norm.images) : tf.mean(perImage)) as tf.Scalar;
  const mse = camMsePerImage(x);
  const guided = tf.cast(x.guided, 'float32');
  const guidedCount = x.norm ? x.norm.guided : tf.sum(guided);
  const guidance = tf.div(tf.sum(tf.mul(mse, guided)), tf.maximum(guidedCount, 1)) as tf.Scalar;
  const loss = tf.add(tf.mul(x.alpha, ce), tf.mul(1 - x.alpha, guidance)) as tf.Scalar;
  return { loss, ce, guidance };
}
