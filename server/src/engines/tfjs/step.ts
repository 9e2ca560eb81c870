/**
 * The gradient computation of one training step on one shard of a batch — the same code
 * on the main thread and in gradient workers (parallel.ts). With `norm` (the whole batch's
 * denominators) the shards' losses and gradients add up to the whole batch's (losses.ts).
 */
import type { AttributionKind, GuidedLayer } from './attribution';
import type { CamClass } from './cam';
import { guidedLoss, isCyborgCam, type GuidanceLoss, type IrrelevantRegion } from './guidance';
import { crossEntropyLoss, cyborgLoss, type BatchNorm, type LossTerms } from './losses';
import { accuracy, argmaxRows } from './metrics';
import { exactMatches, multiLabelLoss } from './multi-label';
import { withExactPooling } from './second-order';
import type { Model } from './models';
import { tf } from './tf';

export interface LossConfig {
  loss: GuidanceLoss;
  alpha: number;
  camClass: CamClass;
  /** The guidance attribution and its layer (default: CAM at the final layer). */
  attribution?: AttributionKind;
  layer?: GuidedLayer;
  /** Weight of Rao's losses and RRR (total = CE + λ·L). */
  lambda?: number;
  /** RRR's (and RRR*'s) irrelevant region (guidance.ts); default: where the human map is 0. */
  irrelevant?: IrrelevantRegion;
}

/** Whether a loss penalises the data set's shortcut region (ShardInput.irrelevant). */
export function needsShortcut(c: LossConfig): boolean {
  return (c.loss === 'rrr' || c.loss === 'rrr_star') && c.irrelevant === 'shortcut';
}

/** Whether a loss needs each image's raw human map (ShardInput.human). */
export function needsHumanMaps(c: LossConfig): boolean {
  return c.loss !== 'none' && !isCyborgCam(c);
}

/** One shard as plain arrays (what a worker receives). */
export interface ShardInput {
  /** n × size × size × channels. */
  images: Float32Array;
  n: number;
  size: number;
  channels: number;
  labels: Int32Array;
  /** n × camSize² human maps at the CAM size (CYBORG only). */
  saliency?: Float32Array;
  camSize?: number;
  /** n flags: 1 when the image's map guides the model. */
  guided: Float32Array;
  /** n × size × size raw human maps (losses other than CYBORG-with-CAM: needsHumanMaps). */
  human?: Float32Array;
  /** n × size × size irrelevant region A (1 = irrelevant) with `irrelevant = shortcut`. */
  irrelevant?: Uint8Array;
  /** Multi-label data (multi-label.ts): n × classes multi-hot labels; `human` then holds the target classes' masks and `guided` the multi-label rule's flags. */
  multiLabels?: Float32Array;
  /** Multi-label data: n target classes of this epoch. */
  targets?: Int32Array;
}

export interface ShardOutput {
  /** Gradients by variable name (the caller disposes them). */
  grads: tf.NamedTensorMap;
  loss: number;
  ce: number;
  guidance: number;
  /** Correct predictions (before the update) in the shard. */
  correct: number;
}

export function shardGradients(model: Model, lossConfig: LossConfig, input: ShardInput, norm?: BatchNorm): ShardOutput {
  const { n, size, channels } = input;
  const classes = model.spec.classes;
  const cyborg = isCyborgCam(lossConfig) && input.saliency && input.camSize;
  const multi = input.multiLabels !== undefined;
  const guidedOther = lossConfig.loss !== 'none' && (multi || !isCyborgCam(lossConfig)) && input.human;
  const inputs = tf.tidy(() => ({
    x: tf.tensor4d(input.images, [n, size, size, channels]),
    labels: tf.tensor1d(input.labels, 'int32'),
    saliency: cyborg ? tf.tensor3d(input.saliency!, [n, input.camSize!, input.camSize!]) : undefined,
    guided: tf.tensor1d(input.guided),
    multiHot: multi ? tf.tensor2d(input.multiLabels!, [n, classes]) : undefined,
    targets: multi ? tf.tensor1d(input.targets!, 'int32') : undefined,
  }));
  let terms: LossTerms | undefined;
  let logits: tf.Tensor2D | undefined;
  try {
    // guided losses: every max-pool gradient of the step routed exactly (second-order.ts), so the
    // wasm backend trains them as cpu and torch do where pooling windows tie
    const gradients = guidedOther ? withExactPooling : <T>(f: () => T) => f();
    const { value, grads } = gradients(() => tf.variableGrads(
      () => {
        if (multi) {
          const t = multiLabelLoss(model, lossConfig, { x: inputs.x, multiHot: inputs.multiHot!, targets: inputs.targets!, masks: input.human, guided: inputs.guided }, norm);
          terms = t;
          tf.keep(t.ce);
          tf.keep(t.guidance);
          logits = tf.keep(t.logits);
          return t.loss;
        }
        if (guidedOther) {
          const c = lossConfig;
          const t = guidedLoss(model, { loss: c.loss as Exclude<GuidanceLoss, 'none'>, attribution: c.attribution ?? 'cam', layer: c.layer ?? 'final', lambda: c.lambda ?? 1, alpha: c.alpha, camClass: c.camClass }, inputs.x, inputs.labels, input.human!, inputs.guided, norm, input.irrelevant);
          terms = t;
          tf.keep(t.ce);
          tf.keep(t.guidance);
          logits = tf.keep(t.logits);
          return t.loss;
        }
        const out = model.forward(inputs.x);
        terms =
          cyborg && out.features && model.headWeight && inputs.saliency
            ? cyborgLoss({
                logits: out.logits,
                features: out.features,
                headWeight: model.headWeight as tf.Tensor2D,
                labels: inputs.labels,
                saliency: inputs.saliency,
                guided: inputs.guided,
                alpha: lossConfig.alpha,
                camClass: lossConfig.camClass,
                norm,
              })
            : crossEntropyLoss(out.logits, inputs.labels, norm);
        tf.keep(terms.ce);
        tf.keep(terms.guidance);
        logits = tf.keep(out.logits);
        return terms.loss;
      },
      model.params.map((p) => p.variable),
    ));
    const t = terms as unknown as LossTerms;
    const out: ShardOutput = {
      grads,
      loss: value.dataSync()[0],
      ce: t.ce.dataSync()[0],
      guidance: t.guidance.dataSync()[0],
      correct: multi ? exactMatches(logits!.dataSync(), input.multiLabels!, n, classes) : Math.round(accuracy(argmaxRows(logits!.dataSync(), n, classes), input.labels) * n),
    };
    tf.dispose([value, t.ce, t.guidance]);
    return out;
  } finally {
    tf.dispose([inputs.x, inputs.labels, inputs.guided, ...[inputs.saliency, inputs.multiHot, inputs.targets, logits].filter((t) => t !== undefined) as tf.Tensor[]]);
  }
}

/** Gradients in parameter order as one array (what a worker sends back). */
export function flattenGradients(model: Model, grads: tf.NamedTensorMap): Float32Array {
  const total = model.params.reduce((s, p) => s + p.variable.size, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const p of model.params) {
    const g = grads[p.variable.name];
    if (g) out.set(g.dataSync() as Float32Array, offset);
    offset += p.variable.size;
  }
  return out;
}

/** All weights in parameter order as one array, and back. */
export function readWeights(model: Model): Float32Array {
  const total = model.params.reduce((s, p) => s + p.variable.size, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const p of model.params) {
    out.set(p.variable.dataSync() as Float32Array, offset);
    offset += p.variable.size;
  }
  return out;
}

export function writeWeights(model: Model, values: Float32Array): void {
  let offset = 0;
  // tidy: assign takes its own reference, the temporary tensors must go
  tf.tidy(() => {
    for (const p of model.params) {
      p.variable.assign(tf.tensor(values.subarray(offset, offset + p.variable.size), p.variable.shape));
      offset += p.variable.size;
    }
  });
}
