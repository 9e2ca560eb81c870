/**
 * Running the real tfjs engine process in tests: an up-to-date dist/engine-tfjs.js
 * (rebuilt here, with scripts/build.mjs's options for that bundle, when a source is newer),
 * run directories made from examples/shapes, and a spawn helper that collects the events
 * the engine prints on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { analyze } from '../../server/src/dsl/validate';
import { resolveExperiment } from '../../server/src/dsl/resolve';
import { engineCommand } from '../../server/src/engines/contract';
import type { RunEvent } from '../../server/src/protocol';
import { createRunDir } from '../../server/src/runs/run-dir';

export const root = path.resolve(__dirname, '..', '..');
export const engineBundle = path.join(root, 'dist', 'engine-tfjs.js');
export const shapesDir = path.join(root, 'examples', 'shapes');

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** Builds dist/engine-tfjs.js and copies the wasm binaries when the bundle is missing or older than server/src. */
export async function ensureEngineBuilt(): Promise<void> {
  const wasm = path.join(root, 'dist', 'tfjs-backend-wasm-simd.wasm');
  if (fs.existsSync(engineBundle) && fs.existsSync(wasm) && fs.statSync(engineBundle).mtimeMs >= newestMtime(path.join(root, 'server', 'src'))) return;
  await esbuild.build({
    entryPoints: [path.join(root, 'server/src/engines/tfjs/main.ts')],
    outfile: engineBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    mainFields: ['module', 'main'],
    sourcemap: true,
    keepNames: true,
    logLevel: 'error',
    absWorkingDir: root,
  });
  const from = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of fs.readdirSync(from).filter((n) => n.endsWith('.wasm'))) fs.copyFileSync(path.join(from, f), path.join(root, 'dist', f));
}

type Json = Record<string, unknown>;

function merge(target: Json, patch: Json): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object') merge(target[k] as Json, v as Json);
    else target[k] = v;
  }
}

/** A run directory for an experiment of a .sgt file, with resolved settings patched (and `baseDir` = the file's folder). */
export function makeRunDir(runsDir: string, sgtFile: string, experiment: string, patch: Json = {}): string {
  const text = fs.readFileSync(sgtFile, 'utf8');
  const analysis = analyze(text, { filePath: sgtFile });
  const resolved = resolveExperiment(analysis, experiment) as unknown as Json;
  if (!resolved) throw new Error(`${sgtFile}: ${experiment} does not resolve`);
  resolved.baseDir = path.dirname(sgtFile);
  merge(resolved, patch);
  return createRunDir(runsDir, experiment, text, resolved);
}

export interface EngineRun {
  child: ChildProcess;
  /** Events parsed from stdout so far. */
  events: RunEvent[];
  stderr: string;
  /** Exit code (or 128 + signal number). */
  done: Promise<number>;
  /** Resolves with the first event that satisfies the predicate. */
  waitFor(pred: (e: RunEvent) => boolean): Promise<RunEvent>;
}

const SIGNALS: Record<string, number> = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2 };

/** Spawns the engine exactly as the daemon and `sgt train --foreground` do (contract.ts engineCommand). */
export function startEngine(runDir: string, options: { resume?: boolean; env?: NodeJS.ProcessEnv } = {}): EngineRun {
  const cmd = engineCommand('tfjs', runDir, options.resume ?? false);
  return watchEngine(spawn(cmd.command, cmd.args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Follows an engine process started with piped stdout / stderr: its events as they come, its stderr, its exit code. */
export function watchEngine(child: ChildProcess): EngineRun {
  const events: RunEvent[] = [];
  const waiters: { pred: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  let buffer = '';
  const run: EngineRun = {
    child,
    events,
    stderr: '',
    done: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)))),
    waitFor(pred) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void run.done.then((code) => reject(new Error(`the engine exited (${code}) before the awaited event; stderr:\n${run.stderr}`)));
      });
    },
  };
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as RunEvent;
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.pred(e)) w.resolve(e);
        else waiters.push(w);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (run.stderr += chunk));
  return run;
}
