/**
 * How an engine process is started — the one place that knows the command line,
 * shared by `sgt train --foreground` and the daemon.
 *
 * The engine contract (every engine implements it, see docs/architecture.md):
 *   <engine> --run-dir DIR [--resume]
 *   - reads DIR/resolved.json (the experiment with every default filled in, plus
 *     `baseDir`: the folder of the .sgt file, against which data paths resolve);
 *   - appends RunEvents (protocol.ts) to DIR/events.jsonl and prints each one as a
 *     JSON line on stdout, so a parent can stream them live; free-form logs go to stderr;
 *   - writes overlays, checkpoints and summary.json through RunWriter;
 *   - with --resume, continues from the last checkpoint (checkpoints/last.json);
 *   - exit code: 0 finished, 1 failed (after writing a `failed` event when it can),
 *     2 usage error, 130 cancelled (SIGTERM or SIGINT: writes `cancelled`, then exits).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../runs/run-dir';
import { findTorch } from './torch/python';

export type EngineName = 'tfjs' | 'torch';

export const ENGINE_EXIT = { finished: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** An engine's command line: the contract's `--run-dir DIR [--resume]`, plus `--python PY` where the engine takes it. */
export interface EngineArgs {
  /** Absolute. */
  runDir: string;
  resume: boolean;
  python?: string;
}

/**
 * Reads an engine's command line and checks that DIR is a run directory. Returns the
 * arguments, or the exit code after writing the usage / problem to stderr (`--help`: 0,
 * anything wrong: 2), so every engine answers the contract's usage errors alike.
 */
export function engineArgs(argv: readonly string[], engine: string, options: { python?: boolean } = {}): EngineArgs | number {
  const usage = `usage: ${engine} ${options.python ? '[--python PY] ' : ''}--run-dir DIR [--resume]`;
  const problem = (message: string): number => {
    process.stderr.write(`${message}\n${usage}\n`);
    return ENGINE_EXIT.usage;
  };
  let runDir: string | undefined;
  let python: string | undefined;
  let resume = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--run-dir' || (a === '--python' && options.python)) {
      const v = argv[++i];
      if (!v) return problem(`${a} needs a value`);
      if (a === '--run-dir') runDir = v;
      else python = v;
    } else if (a.startsWith('--run-dir=')) runDir = a.slice('--run-dir='.length);
    else if (a === '--resume') resume = true;
    else if (a === '--help' || a === '-h') {
      process.stderr.write(usage + '\n');
      return ENGINE_EXIT.finished;
    } else return problem(`unknown argument ${a}`);
  }
  if (!runDir) return problem('--run-dir is required');
  const resolvedFile = path.join(path.resolve(runDir), RUN_FILES.resolved);
  if (!fs.existsSync(resolvedFile)) {
    process.stderr.write(`${engine}: ${resolvedFile} does not exist (not a run directory)\n`);
    return ENGINE_EXIT.usage;
  }
  return { runDir: path.resolve(runDir), resume, ...(python !== undefined ? { python } : {}) };
}

export interface EngineCommand {
  command: string;
  args: string[];
}

/** Folder of the built bundles (dist/), found from this module whether bundled or run from source. */
export function distDir(): string {
  // bundled: __dirname is dist/; from source (tests via tsx): server/src/engines
  return path.basename(__dirname) === 'dist' ? __dirname : path.resolve(__dirname, '../../../dist');
}

/**
 * The command line of a built-in engine. torch: the launcher bundle with the interpreter that
 * imports PyTorch (engines/torch/python.ts, probed once per process); throws an Error for
 * people, saying how to install PyTorch, when none does — before any run directory exists.
 */
export function engineCommand(engine: EngineName, runDir: string, resume: boolean, env: NodeJS.ProcessEnv = process.env): EngineCommand {
  const flags = ['--run-dir', runDir, ...(resume ? ['--resume'] : [])];
  switch (engine) {
    case 'tfjs':
      return { command: process.execPath, args: [path.join(distDir(), 'engine-tfjs.js'), ...flags] };
    case 'torch': {
      const found = findTorch(env);
      if (!found.ok) throw new Error(`the torch engine cannot run: ${found.message}`);
      return { command: process.execPath, args: [path.join(distDir(), 'engine-torch.js'), '--python', found.python, ...flags] };
    }
  }
}
