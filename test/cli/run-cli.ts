/**
 * Runs the real `sgt` CLI (server/bin/sgt.js → dist/cli.js) in a child process,
 * as a user or CI job would. The bundle is rebuilt first when it is missing or
 * older than the sources it is built from, so the tests never exercise stale code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const fixtures = path.join(__dirname, 'fixtures');
const bin = path.join(root, 'server', 'bin', 'sgt.js');
const bundle = path.join(root, 'dist', 'cli.js');
// the CLI bundles most of server/src (runs, report, daemon client, data), so any change there makes it stale
const bundledSources = [path.join(root, 'server', 'src'), path.join(root, 'package.json')];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sgt(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const env = { ...process.env, ...options.env };
  delete env.SGT_DEBUG;
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Builds dist/cli.js when it is missing or stale; fails with the build's own output if that does not work. */
export function ensureBuilt(): void {
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newestMtime(bundledSources)) return;
  try {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`dist/cli.js is missing or stale and \`npm run build\` failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  if (!fs.existsSync(bundle)) throw new Error('`npm run build` did not produce dist/cli.js: is server/src/cli/main.ts listed in scripts/build.mjs?');
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  for (const p of paths) {
    const st = fs.statSync(p);
    if (st.isDirectory()) newest = Math.max(newest, newestMtime(fs.readdirSync(p).map((n) => path.join(p, n))));
    else newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/** Bad input must end in a one-line message, never a Node stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at /m.test(text);
}
