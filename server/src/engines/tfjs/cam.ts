/**
 * Class activation maps (Zhou et al. 2016, as CYBORG uses them; reference.md):
 * `cam = W[k]·F` summed over channels — no bias, no ReLU — then min-max normalised per
 * image to [0, 1]. A flat map (max = min) becomes all zeros instead of NaN (the guard of
 * later CVRL code). k is the label by default, or the predicted class (`cam_class =
 * predicted`, CYBORG's reference code); the choice of k is not differentiated.
 */
import { resizeBilinear } from '../../data/resize';
import { maxKeep, minKeep } from './reduce';
import { tf } from './tf';

/** Below this range a map counts as flat. */
export const FLAT_RANGE = 1e-12;

export type CamClass = 'label' | 'predicted';

/** k per image: the label, or the arg-max of the logits. */
export function camTargets(logits: tf.Tensor2D, labels: tf.Tensor1D, mode: CamClass): tf.Tensor1D {
  return mode === 'predicted' ? tf.argMax(logits, 1) : labels;
}

/** Raw CAM [N, h, w] = Σ_c W[c, k_n]·F[n, h, w, c]. */
export function classActivationMap(features: tf.Tensor4D, headWeight: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor3D {
  const [n, , , c] = features.shape;
  const classes = headWeight.shape[1];
  // W[:, k_n] for every image as a product with one-hot rows (differentiable everywhere, no gather)
  const wk = tf.matMul(tf.oneHot(tf.cast(targets, 'int32'), classes), headWeight, false, true); // [N, C]
  return tf.sum(tf.mul(features, tf.reshape(wk, [n, 1, 1, c])), 3);
}

/** Per-image min-max normalisation to [0, 1]; flat maps become zeros. */
export function normalizeMaps(maps: tf.Tensor3D): tf.Tensor3D {
  // ties share the gradient (reduce.ts), as torch's amin / amax
  const lo = minKeep(maps, [1, 2]);
  const range = tf.sub(maxKeep(maps, [1, 2]), lo);
  // 1 for a flat map, else 0 — through `step`, whose gradient is zero (comparisons have none in tfjs)
  const flat = tf.step(tf.sub(FLAT_RANGE, range));
  return tf.mul(tf.div(tf.sub(maps, lo), tf.add(range, flat)), tf.sub(1, flat));
}

/** Normalised CAM [N, h, w] for the given class targets. */
export function normalizedCam(features: tf.Tensor4D, headWeight: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor3D {
  return normalizeMaps(classActivationMap(features, headWeight, targets));
}

// ---- plain arrays (data preparation, metrics, overlays) ------------------------------------

/** In-place min-max normalisation of one map; flat maps become zeros. */
export function normalizeInPlace(map: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  if (!(range > FLAT_RANGE)) return map.fill(0);
  for (let i = 0; i < map.length; i++) map[i] = (map[i] - lo) / range;
  return map;
}

/**
 * Human maps as the CYBORG loss compares them: each `size`×`size` map resized bilinearly
 * (half-pixel centres, no antialiasing) to the CAM's `to`×`to`, then min-max normalised.
 */
export function saliencyAtCamSize(maps: Float32Array, count: number, size: number, to: number): Float32Array {
  const out = new Float32Array(count * to * to);
  for (let n = 0; n < count; n++) {
    const dst = out.subarray(n * to * to, (n + 1) * to * to);
    resizeBilinear(maps.subarray(n * size * size, (n + 1) * size * size), size, to, dst);
    normalizeInPlace(dst);
  }
  return out;
}
