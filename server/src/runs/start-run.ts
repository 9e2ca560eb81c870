/**
 * From a `.sgt` file to training runs: analyse the file (refusing to start when
 * the chosen experiments have errors), resolve each experiment to the JSON an
 * engine reads, create its run directory and, for foreground runs, run the engine.
 *
 * The same planning serves `sgt train --foreground` (which runs the engine here)
 * and the daemon path (which hands the prepared run directory to the daemon).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportedDiagnostic } from '../cli/check';
import { resolveEngineCommand } from '../daemon/engine-command';
import type { EngineName } from '../engines/contract';
import type { ResolvedExperiment } from '../dsl/resolve';
import { resolveExperiment } from '../dsl/resolve';
import { runsNamed } from '../dsl/sweep';
import { LineIndex } from '../dsl/text';
import { ARCHITECTURES } from '../dsl/schema';
import { torchOnlyGuidance } from '../dsl/engine-support';
import { analyze, didYouMean } from '../dsl/validate';
import { findTorch } from '../engines/torch/python';
import type { RunEvent } from '../protocol';
import { startEngine, type EngineOutcome, type EngineProcess } from './engine-process';
import { createRunDir, readEvents, readJsonFile, RUN_FILES } from './run-dir';

/** Bad input that stops a run before it starts: an unknown experiment, a bad override, an engine that cannot run here. */
export class RunSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunSetupError';
  }
}

/** `train.epochs` range, as in the schema. */
export const MAX_EPOCHS = 100_000;

/** What an engine reads: the resolved experiment plus where it came from. */
export interface RunSpec extends ResolvedExperiment {
  /** Absolute folder of the .sgt file; data paths resolve against it. */
  baseDir: string;
  /** Absolute path of the .sgt file. */
  file: string;
}

export interface PlannedRun {
  experiment: string;
  resolved: RunSpec;
  engine: EngineChoice;
}

export interface EngineChoice {
  engine: EngineName;
  /** Why this engine, for people (`train.engine = auto: …`). */
  reason: string;
}

export type RunPlan =
  | { ok: true; runs: PlannedRun[]; text: string; diagnostics: ReportedDiagnostic[] }
  | { ok: false; diagnostics: ReportedDiagnostic[] };

export interface PlanOptions {
  /** Absolute path of the .sgt file. */
  file: string;
  /** Its text (default: read from `file`). */
  text?: string;
  /** Experiments to run, in this order; all of the file, in file order, when absent or empty. */
  experiments?: readonly string[];
  /** Overrides `train.epochs`. */
  epochs?: number;
  /** Folder that data paths must stay inside (as for `sgt check`). */
  workspaceRoot: string;
  /** Environment for `engine = auto`'s PyTorch probe (SGT_PYTHON); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Analyses the file and resolves the experiments to run. Returns the diagnostics
 * (1-based, as `sgt check` prints them) and no runs when a chosen experiment has
 * errors; throws RunSetupError for an unknown experiment or a bad override.
 */
export function planRuns(options: PlanOptions): RunPlan {
  if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1 && options.epochs <= MAX_EPOCHS)) {
    throw new RunSetupError(`--epochs must be a whole number between 1 and ${MAX_EPOCHS}, not '${options.epochs}'`);
  }
  const text = options.text ?? fs.readFileSync(options.file, 'utf8');
  const analysis = analyze(text, { filePath: options.file, workspaceRoot: options.workspaceRoot });
  const lines = new LineIndex(text);
  const diagnostics = analysis.diagnostics.map((d): ReportedDiagnostic => {
    const start = lines.positionAt(d.start);
    const end = lines.positionAt(d.end);
    return { line: start.line + 1, column: start.character + 1, endLine: end.line + 1, endColumn: end.character + 1, severity: d.severity, message: d.message, code: d.code };
  });
  const known = [...analysis.experiments.keys()];
  const asked = options.experiments?.length ? [...options.experiments] : known;
  if (asked.length === 0) {
    // a file that does not parse into any experiment: its errors say why
    if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics };
    throw new RunSetupError(`${path.basename(options.file)} has no experiments`);
  }
  // a sweep's name stands for all its runs (dsl/sweep.ts), one run's name for that run
  const names: string[] = [];
  for (const name of asked) {
    const runs = runsNamed(analysis.experiments, name);
    if (!runs) {
      const hint = didYouMean(name, known);
      throw new RunSetupError(`no experiment '${name}' in ${path.basename(options.file)}${hint ? `; did you mean '${hint}'?` : ''} (it has: ${known.join(', ') || 'none'})`);
    }
    // a sweep whose expansion failed has no runs; its errors say why
    if (runs.length === 0) return { ok: false, diagnostics };
    for (const r of runs) if (!names.includes(r.name)) names.push(r.name);
  }
  const runs: PlannedRun[] = [];
  for (const name of names) {
    const resolved = resolveExperiment(analysis, name);
    if (!resolved) return { ok: false, diagnostics };
    const spec: RunSpec = { ...resolved, baseDir: path.dirname(options.file), file: options.file };
    if (options.epochs !== undefined) spec.train = { ...asObject(spec.train), epochs: options.epochs };
    runs.push({ experiment: name, resolved: spec, engine: chooseEngine(spec, options.env) });
  }
  return { ok: true, runs, text, diagnostics };
}

function asObject(v: unknown): Record<string, never> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, never>) : {};
}

/**
 * Which engine trains an experiment. `auto` (schema.ts) means torch when the experiment
 * needs it (a torch-only architecture, several devices or nodes, a guidance loss or
 * attribution only torch trains: dsl/engine-support.ts) or when PyTorch is
 * importable and sees a CUDA GPU (engines/torch/python.ts, probed once per process), else tfjs.
 */
export function chooseEngine(resolved: { [key: string]: unknown }, env: NodeJS.ProcessEnv = process.env): EngineChoice {
  const train = asObject(resolved.train) as { [key: string]: unknown };
  const setting = train.engine;
  if (setting === 'tfjs') return { engine: 'tfjs', reason: 'train.engine = tfjs' };
  if (setting === 'torch') return { engine: 'torch', reason: 'train.engine = torch' };
  const arch = (asObject(resolved.model) as { [key: string]: unknown }).arch;
  const spec = typeof arch === 'string' ? ARCHITECTURES[arch] : undefined;
  if (spec && !spec.engines.includes('tfjs')) return { engine: 'torch', reason: `train.engine = auto; model.arch = ${String(arch)} needs the torch engine` };
  for (const key of ['devices', 'nodes']) {
    if (typeof train[key] === 'number' && (train[key] as number) > 1) return { engine: 'torch', reason: `train.engine = auto; train.${key} = ${String(train[key])} needs the torch engine` };
  }
  const guidance = asObject(resolved.guidance) as { [key: string]: unknown };
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const torchOnly = torchOnlyGuidance({ loss: str(guidance.loss), attribution: str(guidance.attribution), layer: str(guidance.layer), irrelevant: str(guidance.irrelevant) });
  if (torchOnly) return { engine: 'torch', reason: `train.engine = auto; guidance.${torchOnly.setting} needs the torch engine` };
  const torch = findTorch(env);
  if (torch.ok && torch.cuda) return { engine: 'torch', reason: `train.engine = auto; PyTorch ${torch.torch} (${torch.python}) sees a CUDA GPU` };
  return { engine: 'tfjs', reason: `train.engine = auto; ${torch.ok ? `PyTorch ${torch.torch} sees no CUDA GPU` : 'PyTorch is not importable'}, so tfjs` };
}

/** The engine's command line; throws RunSetupError when it cannot run here (not built, torch missing, a bad override). */
export function engineCommandFor(engine: EngineName, runDir: string, resume: boolean, env: NodeJS.ProcessEnv) {
  try {
    return resolveEngineCommand(engine, runDir, resume, env);
  } catch (err) {
    throw new RunSetupError(err instanceof Error ? err.message : String(err));
  }
}

/** Creates the run directory of a planned run (snapshot, resolved.json, empty events.jsonl). */
export function createRun(run: PlannedRun, runsDir: string, sgtText: string): string {
  return createRunDir(runsDir, run.experiment, sgtText, run.resolved);
}

/** An existing run directory to resume, with its engine (from its resolved.json). */
export function resumableRun(runDir: string): { runDir: string; experiment: string; engine: EngineChoice } {
  const resolved = readJsonFile<RunSpec>(path.join(runDir, RUN_FILES.resolved));
  if (!resolved || typeof resolved !== 'object') throw new RunSetupError(`'${runDir}' is not a run directory (no readable ${RUN_FILES.resolved})`);
  // the engine that started the run resumes it: checkpoints are engine-specific
  const started = readEvents(runDir).find((e) => e.type === 'started');
  const engine: EngineChoice = started?.type === 'started' ? { engine: started.engine, reason: `resuming a ${started.engine} run` } : chooseEngine(resolved);
  return { runDir, experiment: String(resolved.name), engine };
}

export interface RunEngineOptions {
  runDir: string;
  engine: EngineName;
  resume?: boolean;
  env?: NodeJS.ProcessEnv;
  cancelGraceMs?: number;
  onEvent?(event: RunEvent): void;
  onOutput?(line: string, stream: 'stdout' | 'stderr'): void;
}

/** Starts the engine on a run directory in this process's foreground. Throws RunSetupError when the engine cannot be started. */
export function runEngine(options: RunEngineOptions): EngineProcess {
  const env = options.env ?? process.env;
  const command = engineCommandFor(options.engine, options.runDir, options.resume === true, env);
  return startEngine({ command, runDir: options.runDir, env, cancelGraceMs: options.cancelGraceMs, onEvent: options.onEvent, onOutput: options.onOutput });
}

export interface StartRunOptions extends Omit<PlanOptions, 'experiments'>, Omit<RunEngineOptions, 'runDir' | 'engine' | 'resume'> {
  experiment: string;
  runsDir: string;
  /** Stops the engine (SIGTERM, then SIGKILL after the grace period). */
  signal?: AbortSignal;
}

export type StartRunResult = { ok: false; diagnostics: ReportedDiagnostic[] } | ({ ok: true; runDir: string; engine: EngineChoice } & EngineOutcome);

/** One experiment from file to finished run, in the foreground: plan, create the run directory, run the engine. */
export async function startRun(options: StartRunOptions): Promise<StartRunResult> {
  const plan = planRuns({ ...options, experiments: [options.experiment] });
  if (!plan.ok) return plan;
  const run = plan.runs[0];
  // fail before creating a run directory when the engine cannot run at all
  engineCommandFor(run.engine.engine, '<run-dir>', false, options.env ?? process.env);
  const runDir = createRun(run, options.runsDir, plan.text);
  const engine = runEngine({ ...options, runDir, engine: run.engine.engine });
  const onAbort = () => engine.cancel();
  if (options.signal?.aborted) engine.cancel();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return { ok: true, runDir, engine: run.engine, ...(await engine.done) };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
