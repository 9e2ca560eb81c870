/**
 * Shared helpers of the torch engine tests: finding a Python with PyTorch (skipped locally
 * when there is none, a failure under CI, which must install it), running Python with the
 * engine's package on PYTHONPATH, and a scratch folder for exchanging .npy files.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTorch, torchPackageRoot, type TorchFound } from '../../../server/src/engines/torch/python';

export const root = path.resolve(__dirname, '..', '..', '..');

let warned = false;

/** The Python that imports torch, or skips the suite (fails under CI). Call in a `before` hook. */
export function requireTorch(ctx: Mocha.Context): TorchFound {
  const found = findTorch(process.env);
  if (found.ok) return found;
  if (process.env.CI) throw new Error(`${found.message}\nCI must install PyTorch for the torch engine tests (Debian: apt-get install -y python3-torch)`);
  if (!warned) {
    warned = true;
    process.stderr.write(`  (torch engine tests skipped: ${found.message})\n`);
  }
  ctx.skip();
}

/** Runs `python <args>` with sgt_torch importable; throws with stderr on a non-zero exit. */
export function runPython(python: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  const env = { ...process.env, ...options.env, PYTHONPATH: torchPackageRoot(), PYTHONDONTWRITEBYTECODE: '1' };
  const r = spawnSync(python, args, { encoding: 'utf8', env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

export function scratch(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sgt-torch-${prefix}-`));
}
