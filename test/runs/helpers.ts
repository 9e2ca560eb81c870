/**
 * Shared pieces of the run, report and train tests: temporary folders, the fake
 * engine (test/fixtures/fake-engine.js) as the tfjs engine, and small .sgt files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const fakeEngine = path.join(root, 'test', 'fixtures', 'fake-engine.js');

/** Environment that makes the fake engine stand in for tfjs (the documented SGT_ENGINE_COMMAND_TFJS hook), fast. */
export function fakeEngineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, SGT_ENGINE_COMMAND_TFJS: JSON.stringify([process.execPath, fakeEngine]), FAKE_ENGINE_STEP_MS: '0', ...extra };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A small valid experiment file: a plain and a guided experiment (plus any extra bodies). */
export function writeSgt(dir: string, name = 'tiny.sgt', extra = ''): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `experiment plain {
  data { source = builtin("decoy-mnist") }
  guidance { loss = none }
  train { epochs = 2 }
  preview { samples = 2 }
}

experiment guided extends plain {
  guidance { loss = cyborg  alpha = 0.5 }
}
${extra}`,
  );
  return file;
}
