/**
 * Data parallelism over CPU cores for the single-threaded backends (wasm in Node has no
 * threads, cpu is plain JavaScript): each training batch is split into contiguous shards;
 * the main thread computes the first, gradient workers (worker_threads running this same
 * bundle, each with its own tfjs instance and a copy of the weights) the others; the
 * gradients are added in shard order and the main thread applies the update, then sends
 * the new weights. Every shard's loss is normalised by the whole batch (losses.ts), so the
 * sum is the whole batch's gradient.
 *
 * Thread count (`threads`): `SGT_TFJS_THREADS` when set, else min(available cores, 4),
 * and never more than one thread per 4 images of a batch. Results are deterministic for a
 * thread count; a different count adds the same gradients in another order (float
 * rounding), so an exact resume assumes the same machine. The native tensorflow backends
 * are multi-threaded themselves and always use one thread here.
 */
import * as os from 'node:os';
import { Worker, parentPort } from 'node:worker_threads';
import { selectBackend } from './backend';
import type { BatchNorm } from './losses';
import { createModel, type ModelSpec } from './models';
import { flattenGradients, shardGradients, writeWeights, type LossConfig, type ShardInput } from './step';
import { tf } from './tf';

export const WORKER_ROLE = 'sgt-tfjs-gradient-worker';
export const MIN_SHARD_IMAGES = 4;
export const MAX_THREADS = 4;

export interface WorkerInit {
  role: typeof WORKER_ROLE;
  backend: 'wasm' | 'cpu';
  wasmDir?: string;
  model: ModelSpec;
  loss: LossConfig;
}

type Request = { type: 'weights'; values: Float32Array } | { type: 'shard'; id: number; input: ShardInput; norm: BatchNorm };

interface ShardReply {
  type: 'result';
  id: number;
  grads: Float32Array;
  loss: number;
  ce: number;
  guidance: number;
  correct: number;
}

type Reply = { type: 'ready' } | ShardReply | { type: 'error'; id?: number; message: string; stack?: string };

export type ShardResult = Omit<ShardReply, 'type' | 'id'>;

/** Threads for a run: see the module comment. */
export function threadCount(backend: string, batch: number, env: NodeJS.ProcessEnv = process.env): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  const requested = Number(env.SGT_TFJS_THREADS);
  const cores = Number.isInteger(requested) && requested >= 1 ? requested : Math.min(os.availableParallelism(), MAX_THREADS);
  return Math.max(1, Math.min(cores, Math.floor(batch / MIN_SHARD_IMAGES)));
}

/** Contiguous shard boundaries of n images over at most `threads` shards of ≥ MIN_SHARD_IMAGES. */
export function shardBounds(n: number, threads: number): number[] {
  const shards = Math.max(1, Math.min(threads, Math.floor(n / MIN_SHARD_IMAGES)));
  return Array.from({ length: shards + 1 }, (_, i) => Math.round((i * n) / shards));
}

/** The main thread's handle on one gradient worker. */
export class GradientWorker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: ShardResult) => void; reject: (e: Error) => void }>();
  private failure?: Error;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      if (m.type === 'result') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve({ grads: m.grads, loss: m.loss, ce: m.ce, guidance: m.guidance, correct: m.correct });
      } else if (m.type === 'error') {
        this.fail(Object.assign(new Error(`gradient worker: ${m.message}`), { stack: m.stack }));
      }
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`gradient worker exited (${code})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  /** Starts a worker running `script` (this bundle) and waits until its model is built. */
  static start(script: string, init: WorkerInit): Promise<GradientWorker> {
    const worker = new Worker(script, { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve(new GradientWorker(worker));
        } else if (m.type === 'error') reject(new Error(`gradient worker: ${m.message}`));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`gradient worker exited (${code}) while starting`)));
    });
  }

  setWeights(values: Float32Array): void {
    this.worker.postMessage({ type: 'weights', values } satisfies Request);
  }

  /** Computes a shard's gradients; the shard's arrays are transferred (unusable here afterwards) when they own their buffers. */
  compute(input: ShardInput, norm: BatchNorm): Promise<ShardResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const owned = (a: ArrayBufferView) => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
    const transfer = [input.images, input.labels, input.guided, ...[input.saliency, input.human, input.irrelevant, input.multiLabels, input.targets].filter((a) => a !== undefined)].filter(owned).map((a) => a.buffer as ArrayBuffer);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'shard', id, input, norm } satisfies Request, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** The worker side: runs in a worker thread of the engine bundle (main.ts dispatches here). */
export async function runGradientWorker(init: WorkerInit): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runGradientWorker needs a worker thread');
  try {
    tf.enableProdMode();
    await selectBackend(init.backend, { wasmDir: init.wasmDir });
    const model = createModel(init.model);
    port.on('message', (m: Request) => {
      if (m.type === 'weights') {
        writeWeights(model, m.values);
        return;
      }
      try {
        const out = shardGradients(model, init.loss, m.input, m.norm);
        const grads = flattenGradients(model, out.grads);
        tf.dispose(Object.values(out.grads));
        const reply: Reply = { type: 'result', id: m.id, grads, loss: out.loss, ce: out.ce, guidance: out.guidance, correct: out.correct };
        port.postMessage(reply, [grads.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ type: 'error', id: m.id, message: (e as Error).message, stack: (e as Error).stack } satisfies Reply);
      }
    });
    port.postMessage({ type: 'ready' } satisfies Reply);
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).message, stack: (e as Error).stack } satisfies Reply);
  }
}
