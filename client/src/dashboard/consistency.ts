/**
 * The Compare view's cross-run consistency (no `vscode` import, tested directly): the
 * compared runs grouped by setting as the report groups them (report/seed-groups.ts: same
 * resolved settings but the seed), and for each group of two or more finished runs the
 * consistency of their CAM files (runs/consistency.ts), or why there is none (e.g. the
 * experiment does not list `consistency` in evaluate.metrics).
 */
import type { DashboardConsistency } from '../../../server/src/protocol';
import { loadRun } from '../../../server/src/report/load';
import { groupBySetting } from '../../../server/src/report/seed-groups';
import { consistencyOfRuns } from '../../../server/src/runs/consistency';

export function compareConsistency(runDirs: readonly string[]): DashboardConsistency[] {
  if (runDirs.length < 2) return [];
  const groups = groupBySetting(runDirs.map((d) => loadRun(d))).filter((g) => g.runs.length > 1);
  return groups.map((g) => {
    const dirs = g.runs.map((r) => r.dir);
    const c = g.consistency ?? consistencyOfRuns(dirs);
    const base = { runDirs: dirs, experiments: g.experiments, seeds: g.seeds };
    return c.ok ? { ...base, value: c.value, images: c.images } : { ...base, reason: c.reason };
  });
}
