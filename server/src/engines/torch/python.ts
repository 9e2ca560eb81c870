/**
 * Which Python runs the torch engine, and whether PyTorch is there — asked once per process
 * and cached (the probe imports torch: a second or two).
 *
 * Candidates, first that imports torch wins: `SGT_PYTHON` (what `sgt train --python` and
 * the extension's `saliencyStudio.python` setting set), then `python3` on PATH, then
 * `/usr/bin/python3` (a distribution's python3-torch is installed for the system
 * interpreter, which a pyenv or venv `python3` on PATH hides).
 *
 * `SGT_TORCH=off` makes PyTorch count as missing without probing: `engine = auto` stays on
 * tfjs at no cost, and tests get a machine-independent "no torch here".
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TorchFound {
  ok: true;
  python: string;
  torch: string;
  cuda: boolean;
  /** CUDA devices PyTorch sees. */
  gpus: number;
  torchvision: string | null;
}

export interface TorchMissing {
  ok: false;
  /** Each interpreter tried and why it did not do. */
  tried: { python: string; problem: string }[];
  /** For people: what was tried and how to install PyTorch. */
  message: string;
}

export type TorchProbe = TorchFound | TorchMissing;

export const INSTALL_HINT =
  'install PyTorch (`pip install torch`, or on Debian/Ubuntu `apt-get install python3-torch`) or point SGT_PYTHON ' +
  '(`sgt train --python`, the `saliencyStudio.python` setting) at an interpreter that has it';

const PROBE = [
  'import json, torch',
  'try:',
  '  import torchvision; tv = torchvision.__version__',
  'except Exception:',
  '  tv = None',
  'print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(), "gpus": torch.cuda.device_count(), "torchvision": tv}))',
].join('\n');

export function pythonCandidates(env: NodeJS.ProcessEnv): string[] {
  const out = [env.SGT_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p && p.trim() !== '');
  return [...new Set(out)];
}

/** Probes one interpreter. */
export function probePython(python: string, timeoutMs = 60_000): TorchFound | { ok: false; problem: string } {
  const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  if (r.error) return { ok: false, problem: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message };
  if (r.status !== 0) {
    const lines = (r.stderr || '').trim().split('\n');
    return { ok: false, problem: lines[lines.length - 1] || `exit status ${r.status}` };
  }
  return parseProbe(python, r.stdout);
}

const cache = new Map<string, TorchProbe>();

/** The first candidate that imports torch (cached per candidate list for the life of the process). */
export function findTorch(env: NodeJS.ProcessEnv = process.env, probe = probePython): TorchProbe {
  if (env.SGT_TORCH === 'off') return { ok: false, tried: [], message: `PyTorch is switched off (SGT_TORCH=off): unset it to use the torch engine` };
  const candidates = pythonCandidates(env);
  const key = candidates.join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  const tried: TorchMissing['tried'] = [];
  let result: TorchProbe | undefined;
  for (const python of candidates) {
    const r = probe(python);
    if (r.ok) {
      result = r;
      break;
    }
    tried.push({ python: python === env.SGT_PYTHON ? `SGT_PYTHON=${python}` : python, problem: r.problem });
  }
  result ??= {
    ok: false,
    tried,
    message: `PyTorch is not importable (tried ${tried.map((t) => `${t.python}: ${t.problem}`).join('; ')}): ${INSTALL_HINT}`,
  };
  cache.set(key, result);
  return result;
}

const pending = new Map<string, Promise<TorchProbe>>();

/**
 * The probe without blocking: the cached result when there is one, else undefined while the
 * probe runs in a child process, and `onDone` once it has an answer (the language server
 * re-validates then, instead of freezing for the seconds Python takes to import torch).
 */
export function torchAvailabilityNow(onDone: () => void, env: NodeJS.ProcessEnv = process.env): { available: boolean; detail: string } | undefined {
  if (env.SGT_TORCH === 'off') return availability(findTorch(env));
  const key = pythonCandidates(env).join('\0');
  const hit = cache.get(key);
  if (hit) return availability(hit);
  if (!pending.has(key)) {
    const run = (async () => {
      // candidates in order until one imports torch, as findTorch probes them (importing torch costs seconds of CPU each)
      const results = new Map<string, TorchFound | { ok: false; problem: string }>();
      for (const python of pythonCandidates(env)) {
        const r = await probePythonAsync(python);
        results.set(python, r);
        if (r.ok) break;
      }
      // findTorch turns them into the same answer and cache entry; it stops at the first success, so it never asks for an unprobed one
      return findTorch(env, (python) => results.get(python) ?? { ok: false, problem: 'not probed' });
    })();
    pending.set(key, run);
    void run.finally(() => pending.delete(key)).then(onDone, onDone);
  }
  return undefined;
}

/** probePython in a child process that does not block the event loop. */
export function probePythonAsync(python: string, timeoutMs = 60_000): Promise<TorchFound | { ok: false; problem: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PYTHONWARNINGS: 'ignore' } }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ ok: false, problem: 'not found' });
      if (error) {
        const lines = (stderr || error.message).trim().split('\n');
        return resolve({ ok: false, problem: lines[lines.length - 1] || error.message });
      }
      resolve(parseProbe(python, stdout));
    });
  });
}

function parseProbe(python: string, stdout: string): TorchFound | { ok: false; problem: string } {
  try {
    const info = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { torch: string; cuda: boolean; gpus: number; torchvision: string | null };
    return { ok: true, python, torch: info.torch, cuda: info.cuda, gpus: info.gpus, torchvision: info.torchvision };
  } catch {
    return { ok: false, problem: `unexpected probe output: ${stdout.slice(0, 200)}` };
  }
}

/** Forgets cached probes (tests; after the user installed PyTorch). */
export function clearTorchProbeCache(): void {
  cache.clear();
}

/** The folder holding the `sgt_torch` package: dist/torch when bundled, this folder from source. */
export function torchPackageRoot(): string {
  for (const dir of [path.join(__dirname, 'torch'), __dirname]) {
    if (fs.existsSync(path.join(dir, 'sgt_torch', '__main__.py'))) return dir;
  }
  throw new Error(`the torch engine's Python package (sgt_torch) is missing next to ${__dirname}: run \`npm run build\``);
}

/** The probe as the validator takes it (dsl/validate.ts AnalyzeOptions.torch). */
export function torchAvailability(env: NodeJS.ProcessEnv = process.env): { available: boolean; detail: string } {
  return availability(findTorch(env));
}

function availability(found: TorchProbe): { available: boolean; detail: string } {
  return found.ok ? { available: true, detail: `PyTorch ${found.torch} (${found.python})${found.cuda ? `, ${found.gpus} CUDA GPU(s)` : ', no CUDA GPU'}` } : { available: false, detail: found.message };
}
