/**
 * Runs grouped by setting: runs whose resolved experiments are identical except for the
 * seed (and the name) are repeats of one setting, and their metrics are summarised as
 * mean ± sample standard deviation — how results over seeds are reported in papers, and
 * what makes a difference between two settings believable (or not).
 *
 * The metrics of a run are those of the checkpoint it keeps (load.ts `kept`).
 */
import { wantsConsistency } from '../data/cam-probe';
import { consistencyOfRuns, type RunsConsistency } from '../runs/consistency';
import type { RunData } from './load';
import { settingRows } from './settings';

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  sd: number;
  n: number;
}

export interface SettingGroup {
  /** Experiment names of the runs, in run order, without repeats. */
  experiments: string[];
  /** Seeds of the runs, in run order. */
  seeds: number[];
  runs: RunData[];
  /** Per split, per metric. */
  metrics: Record<string, Record<string, MeanSd>>;
  /**
   * Cross-run CAM consistency of the group's runs (runs/consistency.ts), when it has several
   * runs and one of them asks for `consistency`; `ok: false` says why it could not be computed.
   */
  consistency?: RunsConsistency;
}

export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** What identifies a setting: every resolved setting except the seed (names are labels, not settings). */
function settingKey(resolved: Record<string, unknown> | undefined): string {
  if (!resolved) return '';
  const rows = settingRows([resolved]).filter((r) => r.path !== 'seed');
  return JSON.stringify(rows.map((r) => [r.path, r.values[0]]));
}

/** Groups finished runs by setting, in order of first appearance; runs without resolved.json stay alone. */
export function groupBySetting(runs: readonly RunData[]): SettingGroup[] {
  const groups = new Map<string, RunData[]>();
  runs.forEach((run, i) => {
    if (run.status !== 'finished') return;
    const key = run.resolved ? settingKey(run.resolved) : `#${i}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  });
  return [...groups.values()].map((members) => {
    const perRun = members.map((r) => r.kept);
    const metrics: SettingGroup['metrics'] = {};
    for (const split of new Set(perRun.flatMap((m) => Object.keys(m)))) {
      for (const metric of new Set(perRun.flatMap((m) => Object.keys(m[split] ?? {})))) {
        const values = perRun.map((m) => m[split]?.[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        (metrics[split] ??= {})[metric] = meanSd(values);
      }
    }
    return {
      experiments: [...new Set(members.map((r) => r.experiment))],
      seeds: members.map((r) => (typeof r.resolved?.seed === 'number' ? r.resolved.seed : NaN)),
      runs: members,
      metrics,
      ...(members.length > 1 && members.some((r) => wantsConsistency(r.resolved)) ? { consistency: consistencyOfRuns(members.map((r) => r.dir)) } : {}),
    };
  });
}

/** `0.912 ± 0.013` (sd omitted for a single run). */
export function formatMeanSd(v: MeanSd, digits = 3): string {
  if (v.n === 0) return '–';
  return v.n > 1 ? `${v.mean.toFixed(digits)} ± ${v.sd.toFixed(digits)}` : v.mean.toFixed(digits);
}
