/**
 * Multi-label data (labels.csv rows like `img.png,cat;dog`): which class guides each image.
 *
 * Rao et al. train multi-label classifiers with sigmoid outputs and binary cross-entropy and,
 * for the localisation term, sample ONE target class per image among its present labels;
 * the mask is that class's boxes. Here the draw is seeded, so a run is reproducible and both
 * engines' code (this module, sgt_torch/multilabel.py) give the same classes: at the start
 * of epoch e, `createRng(seed, TARGET_STREAM_BASE + e)` draws, for the training images in
 * index order, `int(n_i)` with n_i the image's label count, and the target is its
 * `int`-th present class (in class-index order). Independent of batch order and batch size.
 */
import * as fs from 'node:fs';
import { LABEL_SEPARATOR } from '../dsl/files';
import { createRng } from './rng';

export const TARGET_STREAM_BASE = 3000;

/** Per image the class whose attribution is guided in epoch `epoch` (0-based); -1 for an image without labels. */
export function sampleTargetClasses(multiLabels: Uint8Array, classes: number, seed: number, epoch: number): Int32Array {
  const n = classes > 0 ? multiLabels.length / classes : 0;
  const rng = createRng(seed, TARGET_STREAM_BASE + epoch);
  const out = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const present: number[] = [];
    for (let k = 0; k < classes; k++) if (multiLabels[i * classes + k]) present.push(k);
    if (present.length) out[i] = present[rng.int(present.length)];
  }
  return out;
}

/** Whether a labels.csv gives some image several labels (unreadable or missing: false). */
export function csvIsMultiLabel(file: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  return text.split(/\r?\n/).some((line) => (line.split(',')[1] ?? '').split(LABEL_SEPARATOR).filter((l) => l.trim()).length > 1);
}
