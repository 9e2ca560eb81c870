/**
 * Builds a report from run directories: which runs (paths, ids under a runs
 * folder, or the latest N), read them, render one self-contained HTML file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../runs/atomic';
import { listRunDirs, RUN_FILES } from '../runs/run-dir';
import { loadRun } from './load';
import { renderReport, type RenderOptions } from './render';

/** A run argument that names no run directory. */
export class RunNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunNotFoundError';
  }
}

/**
 * Finds the run directories named on a command line: a path to a run directory,
 * or a run id (or its unique prefix) under `runsDir`; then the `latest` newest runs.
 * Duplicates are dropped, order is kept.
 */
export function findRunDirs(args: readonly string[], options: { cwd: string; runsDir: string; latest?: number }): string[] {
  const out: string[] = [];
  const add = (d: string) => {
    if (!out.includes(d)) out.push(d);
  };
  for (const arg of args) add(findRunDir(arg, options.cwd, options.runsDir));
  if (options.latest) for (const d of listRunDirs(options.runsDir).slice(0, options.latest)) add(d);
  return out;
}

export function findRunDir(arg: string, cwd: string, runsDir: string): string {
  const asPath = path.resolve(cwd, arg);
  if (isRunDir(asPath)) return asPath;
  const byId = path.join(runsDir, arg);
  if (!arg.includes('/') && isRunDir(byId)) return byId;
  if (!arg.includes('/')) {
    const matches = listRunDirs(runsDir).filter((d) => path.basename(d).startsWith(arg));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new RunNotFoundError(`'${arg}' matches ${matches.length} runs in ${runsDir}: ${matches.slice(0, 5).map((d) => path.basename(d)).join(', ')}${matches.length > 5 ? ', …' : ''}`);
  }
  if (fs.existsSync(asPath)) throw new RunNotFoundError(`'${arg}' is not a run directory (it has no ${RUN_FILES.resolved})`);
  throw new RunNotFoundError(`no run '${arg}' (neither a run directory nor a run id in ${runsDir})`);
}

function isRunDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory() && fs.existsSync(path.join(dir, RUN_FILES.resolved));
  } catch {
    return false;
  }
}

/** The report of some run directories as HTML. */
export function buildReport(runDirs: readonly string[], options: RenderOptions = {}): string {
  return renderReport(
    runDirs.map((d) => loadRun(d)),
    options,
  );
}

/** Writes the report (atomically: a reader never sees half of it); returns the HTML. */
export function writeReport(runDirs: readonly string[], outFile: string, options: RenderOptions = {}): string {
  const html = buildReport(runDirs, options);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileAtomic(outFile, html);
  return html;
}
