/**
 * Checkpoints of the tfjs engine, in the run directory's `checkpoints/`:
 *
 *   epoch-0003.bin    weights and optimizer slots, float32 little-endian, back to back
 *   epoch-0003.json   manifest: each tensor's name, shape and offset in the .bin
 *   last.json         pointer to the newest checkpoint + everything else a resume needs:
 *                     epoch, step, optimizer step count, random-stream positions, the best
 *                     epoch so far and the metrics history
 *   best.json         pointer to the checkpoint with the best validation accuracy
 *
 * Every file is written atomically (write, fsync, rename) and the pointer last, so a
 * process killed at any moment leaves last.json naming a complete checkpoint. Checkpoint
 * files that neither pointer names any more are deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Metrics } from '../../protocol';
import { RUN_FILES, type RunWriter } from '../../runs/run-dir';
import type { Split } from './config';
import type { Model } from './models';
import type { Optimizer } from './optimizer';
import { tf } from './tf';

export const CHECKPOINT_FORMAT = 'sgt-tfjs-checkpoint/1';

export interface EpochRecord {
  epoch: number;
  step: number;
  metrics: Partial<Record<Split, Metrics>>;
}

export interface BestInfo {
  epoch: number;
  step: number;
  /** Validation accuracy (training accuracy when there is no validation split). */
  score: number;
  manifest: string;
}

export interface LastPointer {
  format: typeof CHECKPOINT_FORMAT;
  epoch: number;
  step: number;
  /** Manifest file name inside checkpoints/. */
  manifest: string;
  optimizer: { type: string; t: number };
  /**
   * Random streams: the shuffle of epoch e is `createRng(seed, shuffleStreamBase + e)`, a
   * pure function of the seed and the epoch, so resuming at an epoch boundary needs no
   * generator state beyond this record.
   */
  rng: { seed: number; shuffleStreamBase: number; nextEpoch: number };
  best: BestInfo | null;
  history: EpochRecord[];
  /** Seconds spent so far (accumulated over resumed attempts). */
  seconds: { train: number; eval: number; trainImages: number };
}

interface ManifestTensor {
  name: string;
  shape: number[];
  /** Offset in float32 values. */
  offset: number;
}

interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  epoch: number;
  step: number;
  weights: string;
  arch: Model['spec'];
  tensors: ManifestTensor[];
}

export class CheckpointError extends Error {}

export const checkpointBase = (epoch: number) => `epoch-${String(epoch).padStart(4, '0')}`;

function namedTensors(model: Model, optimizer: Optimizer): { name: string; variable: tf.Variable }[] {
  return [...model.params.map((p) => ({ name: p.name, variable: p.variable })), ...optimizer.state.slots.map((s) => ({ name: `optimizer/${s.name}`, variable: s.variable }))];
}

/** Writes the checkpoint of an epoch and moves the pointers; returns the manifest path relative to the run directory. */
export function saveCheckpoint(writer: RunWriter, model: Model, optimizer: Optimizer, last: Omit<LastPointer, 'manifest' | 'format'>, isBest: boolean): string {
  const base = checkpointBase(last.epoch);
  const tensors: ManifestTensor[] = [];
  const named = namedTensors(model, optimizer);
  const total = named.reduce((n, t) => n + t.variable.size, 0);
  const values = new Float32Array(total);
  let offset = 0;
  for (const t of named) {
    values.set(t.variable.dataSync() as Float32Array, offset);
    tensors.push({ name: t.name, shape: t.variable.shape.slice(), offset });
    offset += t.variable.size;
  }
  // float32 little-endian on disk whatever the host (every platform Node runs on is LE today)
  writer.checkpoint(`${base}.bin`, new Uint8Array(values.buffer));
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, epoch: last.epoch, step: last.step, weights: `${base}.bin`, arch: model.spec, tensors };
  const rel = writer.checkpoint(`${base}.json`, JSON.stringify(manifest, null, 2) + '\n');
  const best = isBest ? { ...(last.best as BestInfo), manifest: `${base}.json` } : last.best;
  const pointer: LastPointer = { format: CHECKPOINT_FORMAT, ...last, best, manifest: `${base}.json` };
  if (isBest && best) writer.checkpoint('best.json', JSON.stringify(best, null, 2) + '\n');
  writer.checkpoint('last.json', JSON.stringify(pointer, null, 2) + '\n');
  pruneCheckpoints(writer.dir, [pointer.manifest, best?.manifest]);
  return rel;
}

function pruneCheckpoints(runDir: string, keep: (string | undefined)[]): void {
  const dir = path.join(runDir, RUN_FILES.checkpoints);
  const kept = new Set(keep.filter((k): k is string => !!k).map((m) => m.replace(/\.json$/, '')));
  for (const f of fs.readdirSync(dir)) {
    const m = /^(epoch-\d+)\.(json|bin)$/.exec(f);
    if (m && !kept.has(m[1])) fs.rmSync(path.join(dir, f), { force: true });
  }
}

/** The last checkpoint's pointer, or undefined when the run has none. */
export function readLastPointer(runDir: string): LastPointer | undefined {
  const file = path.join(runDir, RUN_FILES.checkpoints, 'last.json');
  if (!fs.existsSync(file)) return undefined;
  let pointer: LastPointer;
  try {
    pointer = JSON.parse(fs.readFileSync(file, 'utf8')) as LastPointer;
  } catch (e) {
    throw new CheckpointError(`${file}: unreadable checkpoint pointer (${(e as Error).message})`);
  }
  if (pointer.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${file}: not a tfjs engine checkpoint (format ${String(pointer.format)})`);
  return pointer;
}

/** Loads a checkpoint's tensors into the model and optimizer; names and shapes must match exactly. */
export function restoreCheckpoint(runDir: string, manifestName: string, model: Model, optimizer?: Optimizer): void {
  const dir = path.join(runDir, RUN_FILES.checkpoints);
  const manifestFile = path.join(dir, manifestName);
  let manifest: Manifest;
  let bytes: Buffer;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
    bytes = fs.readFileSync(path.join(dir, manifest.weights));
  } catch (e) {
    throw new CheckpointError(`${manifestFile}: cannot read the checkpoint (${(e as Error).message})`);
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  const wanted = optimizer ? namedTensors(model, optimizer) : model.params.map((p) => ({ name: p.name, variable: p.variable }));
  for (const { name, variable } of wanted) {
    const t = byName.get(name);
    if (!t) throw new CheckpointError(`${manifestFile}: has no tensor ${name} (the experiment's model or optimizer changed since the checkpoint)`);
    if (t.shape.join('x') !== variable.shape.join('x')) throw new CheckpointError(`${manifestFile}: ${name} has shape ${t.shape.join('×')}, the model needs ${variable.shape.join('×')}`);
    if (t.offset + variable.size > values.length) throw new CheckpointError(`${manifestFile}: ${manifest.weights} is truncated`);
    // tidy: assign takes its own reference, the temporary tensor must go
    tf.tidy(() => variable.assign(tf.tensor(values.slice(t.offset, t.offset + variable.size), variable.shape)));
  }
}
