/**
 * `sgt report <run…> [--latest N] [--out FILE]`: one self-contained HTML file
 * comparing runs (server/src/report/). Runs are run directories, run ids (or id
 * prefixes) under the runs folder, or the latest N runs.
 */
import * as path from 'node:path';
import { version } from '../../../package.json';
import { findRunDirs, RunNotFoundError, writeReport, buildReport } from '../report/report';
import { EXIT_OK, UsageError } from './errors';
import type { CliIO } from './program';

export interface ReportFlags {
  out?: string;
  latest?: string;
  runsDir?: string;
}

export const DEFAULT_REPORT_FILE = 'sgt-report.html';

export function reportCommand(args: string[], flags: ReportFlags, io: CliIO): number {
  const latest = flags.latest === undefined ? undefined : positiveInt(flags.latest, '--latest');
  if (args.length === 0 && latest === undefined) throw new UsageError('name the runs to report on (run directories or run ids), or use --latest N');
  const runsDir = path.resolve(io.cwd, flags.runsDir ?? defaultRunsDir());
  let dirs: string[];
  try {
    dirs = findRunDirs(args, { cwd: io.cwd, runsDir, latest });
  } catch (err) {
    if (err instanceof RunNotFoundError) throw new UsageError(err.message);
    throw err;
  }
  if (dirs.length === 0) throw new UsageError(`no runs in ${runsDir}`);
  const options = { generator: `sgt ${version}` };
  if (flags.out === '-') {
    io.stdout.write(buildReport(dirs, options));
    return EXIT_OK;
  }
  const out = path.resolve(io.cwd, flags.out ?? DEFAULT_REPORT_FILE);
  writeReport(dirs, out, options);
  io.stdout.write(`${out}\n`);
  return EXIT_OK;
}

/** `.sgt/runs` of the workspace (the current directory). */
export function defaultRunsDir(): string {
  return path.join('.sgt', 'runs');
}

export function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number >= 1, not '${text}'`);
  return n;
}
