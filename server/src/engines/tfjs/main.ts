/**
 * The tfjs engine process (dist/engine-tfjs.js), implementing the engine contract of
 * engines/contract.ts:
 *
 *   node dist/engine-tfjs.js --run-dir DIR [--resume]
 *
 * Every RunEvent is appended to DIR/events.jsonl and printed as one JSON line on stdout;
 * free-form logs go to stderr. Exit codes: 0 finished, 1 failed (a `failed` event first:
 * data and configuration problems with a message naming the file or key, unexpected
 * exceptions with the stack in `detail`, a full disk as best it can), 2 usage error,
 * 130 cancelled (SIGTERM / SIGINT → `cancelled` event at the next step boundary).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import { DataError } from '../../data/folder';
import type { RunEvent } from '../../protocol';
import { RUN_FILES, RunWriter } from '../../runs/run-dir';
import { ENGINE_EXIT, engineArgs } from '../contract';
import { BackendError, selectBackend } from './backend';
import { CheckpointError } from './checkpoint';
import { ConfigError, parseConfig } from './config';
import { ModelError } from './models';
import { runGradientWorker, WORKER_ROLE, type WorkerInit } from './parallel';
import { tf } from './tf';
import { CancelledError, DivergedError, runTraining, summaryLine, type RunContext, type RunEventBody } from './train';

/** Errors that are the user's to fix: a message, no stack. */
function isExpected(e: unknown): e is Error {
  return (
    e instanceof DataError || e instanceof ConfigError || e instanceof BackendError || e instanceof CheckpointError || e instanceof ModelError || e instanceof DivergedError
  );
}

function isDiskFull(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOSPC' || (e as NodeJS.ErrnoException)?.code === 'EDQUOT';
}

async function main(): Promise<number> {
  const args = engineArgs(process.argv.slice(2), 'engine-tfjs');
  if (typeof args === 'number') return args;
  const { runDir, resume } = args;
  // a parent that went away must not kill us with EPIPE before we write `cancelled` / `failed`
  process.stdout.on('error', () => undefined);

  let writer: RunWriter;
  try {
    fs.mkdirSync(path.join(runDir, RUN_FILES.overlays), { recursive: true });
    fs.mkdirSync(path.join(runDir, RUN_FILES.checkpoints), { recursive: true });
    writer = new RunWriter(runDir);
  } catch (e) {
    process.stderr.write(`engine-tfjs: cannot write to ${runDir}: ${(e as Error).message}\n`);
    return ENGINE_EXIT.failed;
  }

  const emit = (body: RunEventBody) => {
    const e = { time: new Date().toISOString(), ...body } as RunEvent;
    writer.event(e);
    process.stdout.write(JSON.stringify(e) + '\n');
  };
  // the last word of a run: when the events file cannot take it (a full disk), stdout still
  // tells the daemon or the CLI, which record it where they can
  const tryEmit = (body: RunEventBody) => {
    const e = { time: new Date().toISOString(), ...body } as RunEvent;
    try {
      writer.event(e);
    } catch (err) {
      process.stderr.write(`engine-tfjs: could not write the ${body.type} event to ${RUN_FILES.events}: ${(err as Error).message}\n`);
    }
    process.stdout.write(JSON.stringify(e) + '\n');
  };

  let cancel = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancel) {
      // a second signal: stop now
      tryEmit({ type: 'cancelled' });
      process.exit(ENGINE_EXIT.cancelled);
    }
    cancel = true;
    process.stderr.write(`engine-tfjs: ${signal}: cancelling at the next step\n`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const ctx: RunContext = {
    runDir,
    runId: path.basename(runDir),
    resume,
    writer,
    emit,
    log(level, message) {
      process.stderr.write(`[${level}] ${message}\n`);
      emit({ type: 'log', level, message });
    },
    cancelRequested: () => cancel,
    env: process.env,
  };

  try {
    let raw: unknown;
    const resolvedFile = path.join(runDir, RUN_FILES.resolved);
    try {
      raw = JSON.parse(fs.readFileSync(resolvedFile, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${resolvedFile}: ${(e as Error).message}`);
    }
    const config = parseConfig(raw, runDir);
    tf.enableProdMode(); // no debug checks, no "install tfjs-node" banner
    const backend = await selectBackend(config.train.backend);
    const summary = await runTraining(ctx, config, backend);
    emit({ type: 'finished', summary: summaryLine(summary) });
    return ENGINE_EXIT.finished;
  } catch (e) {
    if (e instanceof CancelledError) {
      tryEmit({ type: 'cancelled' });
      return ENGINE_EXIT.cancelled;
    }
    if (isDiskFull(e)) {
      tryEmit({ type: 'failed', error: `disk full while writing the run: ${(e as Error).message}` });
      return ENGINE_EXIT.failed;
    }
    if (isExpected(e)) {
      tryEmit({ type: 'failed', error: e.message });
      process.stderr.write(`engine-tfjs: ${e.message}\n`);
      return ENGINE_EXIT.failed;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    tryEmit({ type: 'failed', error: err.message, detail: err.stack });
    process.stderr.write(`engine-tfjs: ${err.stack ?? err.message}\n`);
    return ENGINE_EXIT.failed;
  } finally {
    try {
      writer.close();
    } catch {
      // already reported
    }
  }
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.role === WORKER_ROLE) {
  // a data-parallel gradient worker of a training run (parallel.ts)
  void runGradientWorker(workerData as WorkerInit);
} else {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`engine-tfjs: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(ENGINE_EXIT.failed);
    },
  );
}
