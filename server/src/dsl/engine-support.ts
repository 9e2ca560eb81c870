/**
 * Which engine trains which guidance: the one place that says so. The validator refuses on
 * `engine = tfjs` what the tfjs engine lacks, `chooseEngine` (`engine = auto`) picks torch
 * for it, and the tfjs engine's configuration (engines/tfjs/config.ts) accepts exactly
 * TFJS_GUIDANCE, so the editor, the runner and the engine never disagree.
 *
 * Since the tfjs engine has second-order gradients for every op of its models
 * (engines/tfjs/second-order.ts; findings in docs/engines.md), it trains every guidance
 * loss, attribution, layer and irrelevant region of the language, as the torch engine does:
 * nothing in the guidance block is torch-only. Data is not engine-specific either: multi-label
 * data (labels.csv `cat;dog`) trains in both (engines/tfjs/multi-label.ts, sgt_torch/multilabel.py). A setting added to the language for one
 * engine only is refused on tfjs by leaving it out of TFJS_GUIDANCE.
 */

/** The guidance values the tfjs engine trains (every combination the validator allows at all). */
export const TFJS_GUIDANCE = {
  loss: ['none', 'cyborg', 'energy', 'l1', 'ppce', 'rrr_star', 'rrr'],
  attribution: ['cam', 'gradcam', 'ixg'],
  layer: ['input', 'mid', 'final'],
  irrelevant: ['unannotated', 'shortcut'],
} as const;

export interface GuidanceSettings {
  loss?: string;
  attribution?: string;
  layer?: string;
  irrelevant?: string;
}

export interface TorchOnlyGuidance {
  /** The setting that makes the experiment torch-only. */
  key: 'guidance.loss' | 'guidance.attribution' | 'guidance.layer' | 'guidance.irrelevant';
  /** `key = value`, for messages. */
  setting: string;
}

/** What in the guidance only the torch engine can train, or undefined when tfjs can. */
export function torchOnlyGuidance(g: GuidanceSettings): TorchOnlyGuidance | undefined {
  if ((g.loss ?? 'none') === 'none') return undefined;
  for (const key of ['loss', 'attribution', 'layer', 'irrelevant'] as const) {
    const value = g[key];
    if (value !== undefined && !(TFJS_GUIDANCE[key] as readonly string[]).includes(value)) return { key: `guidance.${key}`, setting: `${key} = ${value}` };
  }
  return undefined;
}
