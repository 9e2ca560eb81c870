/**
 * Model attributions for guidance and evaluation (reference.md "Attribution methods"), the
 * port of the torch engine's attribution.py, differentiable so a loss on the map trains the
 * weights:
 *
 * - cam: W[k]·F at the final features, min-max normalised per image (cam.ts), k per cam_class;
 * - gradcam: ReLU(Σ_c mean_hw(∂y_k/∂F_c)·F_c), k = label;
 * - ixg: Σ_c (∂y_k/∂F ⊙ F)_c, k = label;
 *
 * with F the features at `layer`: final, mid (models.ts `stages`) or the input (F = x, the
 * images in [0, 1] as loaded: `data.normalize` is the model's first operation, so it sits
 * inside the gradient). y_k is the logit of class k. The gradient is a vector-Jacobian
 * product of the logits with the one-hot targets (`tf.valueAndGrad(f)(F, dy)`): one forward
 * pass from F on, whose logits are the model's logits, and one backward pass recorded on the
 * outer tape, so `tf.variableGrads` around it differentiates the map (second order:
 * second-order.ts makes max-pool and log-softmax differentiable twice).
 */
import { camTargets, normalizedCam, type CamClass } from './cam';
import type { Model } from './models';
import { logSoftmax, withExactPooling } from './second-order';
import { tf } from './tf';

export type AttributionKind = 'cam' | 'gradcam' | 'ixg';
export type GuidedLayer = 'input' | 'mid' | 'final';

export interface Attribution {
  logits: tf.Tensor2D;
  /** [N, h, w] at the layer's resolution (the image size for `input`). */
  maps: tf.Tensor3D;
}

/** What the model cannot attribute, as a message; undefined when it can. */
export function attributionProblem(model: Model, kind: AttributionKind, layer: GuidedLayer): string | undefined {
  if (kind === 'cam') return layer === 'final' && model.headWeight ? undefined : 'CAM needs the final conv features and a GAP + linear head (layer = final, a convolutional model)';
  if (kind === 'gradcam' && layer === 'input') return 'GradCAM at the input has no channels to weight';
  if (layer !== 'input' && !model.stages) return `${model.spec.arch} has no spatial features at layer = ${layer}`;
  return undefined;
}

/** The attribution maps of a batch and the logits they come with. `labels`: int32 [N]. */
export function attributionMaps(model: Model, x: tf.Tensor4D, labels: tf.Tensor1D, kind: AttributionKind, layer: GuidedLayer, camClass: CamClass): Attribution {
  const problem = attributionProblem(model, kind, layer);
  if (problem) throw new Error(problem);
  if (kind === 'cam') {
    const out = model.forward(x);
    return { logits: out.logits, maps: normalizedCam(out.features!, model.headWeight as tf.Tensor2D, camTargets(out.logits, labels, camClass)) };
  }
  const dy = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), model.spec.classes), 'float32') as tf.Tensor2D;
  let features: tf.Tensor4D;
  let rest: (f: tf.Tensor4D) => tf.Tensor2D;
  if (layer === 'input') {
    features = x;
    rest = (f) => model.forward(f).logits;
  } else {
    const stages = model.stages!;
    const mid = stages.toMid(x);
    if (layer === 'mid') {
      features = mid;
      rest = (f) => stages.toLogits(stages.toFinal(f));
    } else {
      features = stages.toFinal(mid);
      rest = (f) => stages.toLogits(f);
    }
  }
  const { value: logits, grad } = withExactPooling(() => tf.valueAndGrad(rest)(features, dy));
  const maps =
    kind === 'gradcam'
      ? tf.relu(tf.sum(tf.mul(tf.mean(grad, [1, 2], true), features), 3))
      : tf.sum(tf.mul(grad, features), 3);
  return { logits, maps: maps as tf.Tensor3D };
}

/**
 * Ross et al.'s input gradients ∂ Σ_k log p_k / ∂x [N, S, S, C], with the log-probabilities
 * [N, classes] (their arg-max and cross-entropy are the logits').
 */
export function inputGradients(model: Model, x: tf.Tensor4D): { logProbs: tf.Tensor2D; grads: tf.Tensor4D } {
  const f = (t: tf.Tensor4D) => logSoftmax(model.forward(t).logits);
  const { value, grad } = withExactPooling(() => tf.valueAndGrad(f)(x, tf.ones([x.shape[0], model.spec.classes]) as tf.Tensor2D));
  return { logProbs: value, grads: grad };
}
