/**
 * The command line of an engine, with an override for tests and unusual setups:
 * `SGT_ENGINE_COMMAND_TFJS` / `SGT_ENGINE_COMMAND_TORCH` hold a JSON array (command
 * and leading arguments) that replaces the built-in command; the contract's flags
 * (`--run-dir DIR [--resume]`) are appended. `sgt train --foreground` reads the same
 * variables, so a fake engine can stand in for both.
 */
import * as fs from 'node:fs';
import { engineCommand, type EngineCommand, type EngineName } from '../engines/contract';
import type { DaemonEngineInfo } from '../protocol';

export const ENGINE_NAMES: readonly EngineName[] = ['tfjs', 'torch'];

export function engineCommandEnvVar(engine: EngineName): string {
  return `SGT_ENGINE_COMMAND_${engine.toUpperCase()}`;
}

/** Throws an Error for people when the engine cannot be started here. */
export function resolveEngineCommand(engine: EngineName, runDir: string, resume: boolean, env: NodeJS.ProcessEnv): EngineCommand {
  const name = engineCommandEnvVar(engine);
  const override = env[name];
  if (override) {
    let prefix: unknown;
    try {
      prefix = JSON.parse(override);
    } catch {
      prefix = undefined;
    }
    if (!Array.isArray(prefix) || prefix.length === 0 || !prefix.every((p) => typeof p === 'string')) {
      throw new Error(`${name} must be a JSON array of strings, e.g. ["python", "engine.py"]`);
    }
    return { command: prefix[0], args: [...prefix.slice(1), '--run-dir', runDir, ...(resume ? ['--resume'] : [])] };
  }
  const cmd = engineCommand(engine, runDir, resume, env);
  // the built-in engines are bundles next to this one: a missing file means "not built"
  const script = cmd.args[0];
  if (script?.endsWith('.js') && !fs.existsSync(script)) throw new Error(`the ${engine} engine is not built (${script} is missing): run \`npm run build\``);
  return cmd;
}

export function engineInfo(engine: EngineName, env: NodeJS.ProcessEnv): DaemonEngineInfo {
  try {
    const cmd = resolveEngineCommand(engine, '<run-dir>', false, env);
    return { name: engine, available: true, detail: [cmd.command, ...cmd.args].join(' ') };
  } catch (err) {
    return { name: engine, available: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
