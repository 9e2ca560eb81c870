/**
 * Guidance settings only the torch engine trains. The tfjs engine trains cross-entropy and
 * CYBORG with the CAM; every other guidance loss, and CYBORG with GradCAM or input×gradient,
 * differentiates an attribution that is itself a gradient (second-order gradients), which
 * TF.js gets wrong or lacks for ops our models use (MaxPool has no second derivative there).
 *
 * One answer for the validator (an error on `engine = tfjs`) and for `chooseEngine`
 * (`engine = auto` picks torch), so the editor and the runner never disagree.
 */

export interface GuidanceSettings {
  loss?: string;
  attribution?: string;
}

export interface TorchOnlyGuidance {
  /** The setting that makes the experiment torch-only. */
  key: 'guidance.loss' | 'guidance.attribution';
  /** `key = value`, for messages. */
  setting: string;
}

/** What in the guidance only the torch engine can train, or undefined when tfjs can. */
export function torchOnlyGuidance(g: GuidanceSettings): TorchOnlyGuidance | undefined {
  const loss = g.loss ?? 'none';
  if (loss === 'none') return undefined;
  if (loss !== 'cyborg') return { key: 'guidance.loss', setting: `loss = ${loss}` };
  const attribution = g.attribution ?? 'cam';
  if (attribution !== 'cam') return { key: 'guidance.attribution', setting: `attribution = ${attribution}` };
  return undefined;
}

/**
 * Data only the torch engine trains: a multi-label data set (labels.csv `cat;dog`), which
 * needs sigmoid outputs, binary cross-entropy and a sampled target class per image
 * (data/multi-label.ts); the tfjs engine's losses and metrics are single-label softmax.
 * A message for the validator, or undefined when tfjs can.
 */
export function torchOnlyData(d: { multiLabel?: boolean }): string | undefined {
  return d.multiLabel ? 'multi-label data (several labels per image in labels.csv)' : undefined;
}
