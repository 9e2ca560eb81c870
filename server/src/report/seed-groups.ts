/**
 * Runs grouped by setting: runs whose resolved experiments are identical except for the
 * seed (and the name) are repeats of one setting, and their metrics are summarised as
 * mean ± sample standard deviation — how results over seeds are reported in papers, and
 * what makes a difference between two settings believable (or not).
 *
 * Runs of a sweep (dsl/sweep.ts; resolved.json `sweep: {of, point}`) group the same way,
 * one group per combination of the swept keys other than the seed, and the group is
 * labelled by those values (`loss=cyborg, alpha=0.1`) instead of its runs' names.
 *
 * The metrics of a run are those of the checkpoint it keeps (load.ts `kept`).
 */
import { wantsConsistency } from '../runs/cam-file';
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
  /**
   * When every run of the group comes from a sweep: the sweeps (`of`) and the swept values
   * other than the seed, as the run names write them (`[['loss', 'cyborg'], ['alpha', '0.1']]`).
   */
  sweep?: { of: string[]; values: Array<[string, string]> };
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
      ...sweepOfGroup(members),
    };
  });
}

/** The swept settings of a run without its seed, read from its name (`methods@loss=cyborg,alpha=0.1,seed=1`; dsl/sweep.ts sweepRunName). */
function sweptValues(run: RunData): { of: string; values: Array<[string, string]> } | undefined {
  const sweep = run.resolved?.sweep;
  if (!sweep || typeof sweep !== 'object' || Array.isArray(sweep)) return undefined;
  const of = (sweep as Record<string, unknown>).of;
  const at = run.experiment.indexOf('@');
  if (typeof of !== 'string' || at < 0) return undefined;
  const values = run.experiment
    .slice(at + 1)
    .split(',')
    .filter((part) => part.includes('='))
    .map((part): [string, string] => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)])
    .filter(([key]) => key !== 'seed');
  return { of, values };
}

function sweepOfGroup(members: readonly RunData[]): Pick<SettingGroup, 'sweep'> {
  const swept = members.map(sweptValues);
  if (swept.some((s) => s === undefined)) return {};
  return { sweep: { of: [...new Set(swept.map((s) => s!.of))], values: swept[0]!.values } };
}

/**
 * A group's column label: its swept values (`loss=cyborg · alpha=0.1`; the sweep's name
 * when only the seed is swept), else its experiments' names. `withSweep` prefixes the
 * sweep's name (`cnn: loss=rrr`), for reports over runs of several sweeps.
 */
export function groupLabel(g: SettingGroup, withSweep = false): string {
  if (!g.sweep) return g.experiments.join(', ');
  const of = g.sweep.of.join(', ');
  if (!g.sweep.values.length) return of;
  const values = g.sweep.values.map(([k, v]) => `${k}=${v}`).join(' · ');
  return withSweep ? `${of}: ${values}` : values;
}

/** `0.912 ± 0.013` (sd omitted for a single run). */
export function formatMeanSd(v: MeanSd, digits = 3): string {
  if (v.n === 0) return '–';
  return v.n > 1 ? `${v.mean.toFixed(digits)} ± ${v.sd.toFixed(digits)}` : v.mean.toFixed(digits);
}
