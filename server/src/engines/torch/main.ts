/**
 * The torch engine process (dist/engine-torch.js), implementing the engine contract of
 * engines/contract.ts:
 *
 *   node dist/engine-torch.js [--python PY] --run-dir DIR [--resume]
 *
 * A thin launcher in front of the Python engine (sgt_torch/): it finds an interpreter that
 * imports torch (python.ts; `--python` when the caller already probed one), exports the
 * run's data set as .npy files (data/export.ts) so both engines see the same samples, then
 * runs `python -m sgt_torch --run-dir DIR --data DATA [--resume]`, which writes the run
 * directory and prints the events. Failures before Python starts (no PyTorch, unusable
 * data) are written as a `failed` event here. Signals are passed on to Python, and its exit
 * code is ours (0 / 1 / 2 / 130).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportCamProbe } from '../../data/cam-probe';
import { exportRunData } from '../../data/export';
import type { RunEvent } from '../../protocol';
import { RUN_FILES, RunWriter } from '../../runs/run-dir';
import { ENGINE_EXIT, engineArgs } from '../contract';
import { findTorch, torchPackageRoot } from './python';

/** Writes a `failed` event for a problem found before Python started (node 0 only: with `train.nodes > 1` the other nodes' engines never write the run directory). */
function fail(runDir: string, error: string): number {
  process.stderr.write(`engine-torch: ${error}\n`);
  if (process.env.NODE_RANK && process.env.NODE_RANK !== '0') return ENGINE_EXIT.failed;
  try {
    const writer = new RunWriter(runDir);
    const e: RunEvent = { time: new Date().toISOString(), type: 'failed', error };
    writer.event(e);
    writer.close();
    process.stdout.write(JSON.stringify(e) + '\n');
  } catch (err) {
    process.stderr.write(`engine-torch: could not write the failed event: ${(err as Error).message}\n`);
  }
  return ENGINE_EXIT.failed;
}

async function main(): Promise<number> {
  const args = engineArgs(process.argv.slice(2), 'engine-torch', { python: true });
  if (typeof args === 'number') return args;
  const { runDir, resume } = args;
  process.stdout.on('error', () => undefined);

  let cancelled = false;
  let child: ReturnType<typeof spawn> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    cancelled = true;
    // Python gets it too when the whole process group is signalled; passing it on covers a signal sent to us alone
    child?.kill(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let python = args.python;
  if (!python) {
    const found = findTorch(process.env);
    if (!found.ok) return fail(runDir, found.message);
    python = found.python;
  }

  let data;
  let camProbe: string | undefined;
  try {
    const resolved: unknown = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.resolved), 'utf8'));
    data = exportRunData(runDir, resolved, process.env);
    // `consistency` wanted: the CAM probe's images for the CAM file (data/cam-probe.ts, sgt_torch/cam_file.py)
    camProbe = exportCamProbe(runDir, resolved, process.env);
  } catch (e) {
    return fail(runDir, `cannot prepare the data set: ${(e as Error).message}`);
  }
  if (cancelled) {
    const writer = new RunWriter(runDir);
    writer.event({ time: new Date().toISOString(), type: 'cancelled' });
    writer.close();
    return ENGINE_EXIT.cancelled;
  }

  const root = torchPackageRoot();
  const env = {
    ...process.env,
    PYTHONPATH: [root, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
    SGT_TORCH_LAUNCHER_PID: String(process.pid),
    SGT_TORCH_EXPORT_SECONDS: data.seconds.toFixed(3),
    ...(camProbe ? { SGT_TORCH_CAM_PROBE: camProbe } : {}),
  };
  const pyArgs = ['-m', 'sgt_torch', '--run-dir', runDir, '--data', data.dir, ...(resume ? ['--resume'] : [])];
  return new Promise<number>((resolve) => {
    child = spawn(python, pyArgs, { stdio: 'inherit', env });
    child.on('error', (e) => resolve(fail(runDir, `cannot start ${python}: ${e.message}`)));
    child.on('exit', (code, signal) => {
      // killed by a signal: no ending was written by Python; the caller's supervisor records the failure
      resolve(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? ENGINE_EXIT.cancelled : ENGINE_EXIT.failed));
    });
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`engine-torch: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(ENGINE_EXIT.failed);
  },
);
