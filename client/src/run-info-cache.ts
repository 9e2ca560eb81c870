/**
 * RunInfo of run directories, re-read only when their events.jsonl changed: the Runs
 * view and the CodeLens refresh on every step of a running job, and reading every
 * run's whole event log each time would grow with the runs folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES, runInfo, type RunInfo } from '../../server/src/runs/run-dir';

export class RunInfoCache {
  private readonly entries = new Map<string, { key: string; info: RunInfo }>();

  constructor(private readonly read: (dir: string, isAlive: (dir: string) => boolean) => RunInfo = runInfo) {}

  get(dir: string, isAlive: (dir: string) => boolean): RunInfo {
    const alive = isAlive(dir);
    const key = `${stamp(path.join(dir, RUN_FILES.events))}:${alive}`;
    const hit = this.entries.get(dir);
    if (hit && hit.key === key) return hit.info;
    const info = this.read(dir, () => alive);
    this.entries.set(dir, { key, info });
    return info;
  }

  /** Forgets directories that are gone (deleted runs). */
  retain(dirs: readonly string[]): void {
    const keep = new Set(dirs);
    for (const d of this.entries.keys()) if (!keep.has(d)) this.entries.delete(d);
  }
}

function stamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
