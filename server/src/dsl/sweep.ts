/**
 * `sweep { key = [v1, v2]  … }`: one experiment that stands for several runs, the
 * cartesian product of the listed values (docs/dsl.md, "Sweeps").
 *
 * This module is the one place that knows how a sweep expands: which settings are
 * swept (the `sweep.*` entries of an experiment's effective settings, so `extends`
 * merges sweeps key by key like any block), which combinations are distinct runs (a
 * swept key that has no effect in a combination is dropped from it, and the
 * combinations that become equal are one run), and how the runs are named. The
 * validator builds and checks a model per run from it; the resolver, `sgt train`,
 * `sgt check`, the language server and the editor list runs through `runsOf` /
 * `allRuns`, so they all see the same expansion.
 */
import type { Assignment, Experiment, Value } from './ast';
import { printValue } from './values';

/** More combinations than this is an error: a sweep is for comparisons a person reads, not a grid search. */
export const MAX_SWEEP_RUNS = 256;

/** Longest run name: run directories are `<run name>-<yyyymmdd-hhmmss>-<4 hex>`, and file names end at 255 bytes. */
export const MAX_RUN_NAME_LENGTH = 200;

/** The settings path prefix of swept keys in an experiment's effective settings (`sweep.guidance.alpha`). */
export const SWEEP_PREFIX = 'sweep.';

/** Separates an experiment's name from its swept values in a run name: `methods@alpha=0.1,seed=1`. */
export const RUN_NAME_SEPARATOR = '@';

/** One swept key: its list of values, where it is written. */
export interface SweepAxis {
  /** Dotted schema path of the swept key (`guidance.alpha`, `seed`). */
  path: string;
  /** The `path = [ … ]` entry inside the sweep block. */
  entry: Assignment;
  /** The experiment whose sweep block writes it (this one or one it extends). */
  from: Experiment;
  /** The list items that are valid values of the key, in written order. */
  items: Value[];
  /** The name part of each item (parallel to `items`), unique within the axis. */
  labels: string[];
  /** The short key used in run names: the last segment, or the whole path when two axes share it. */
  short: string;
}

/** One swept value of a run. */
export interface SweepValue {
  axis: SweepAxis;
  item: Value;
  label: string;
}

/** One run of a sweep: its name and the swept values it takes (keys with no effect left out). */
export interface SweepPoint {
  name: string;
  values: SweepValue[];
}

/** What a sweep run knows about its sweep (ExperimentModel.sweep). */
export interface SweepOrigin {
  /** The experiment with the sweep block. */
  of: string;
  values: SweepValue[];
}

/** The axes of a sweep from the sweep entries of an experiment's settings (in written order, parents first). */
export function sweepAxes(settings: ReadonlyMap<string, { entry: Assignment; from: Experiment }>, isValid: (item: Value) => boolean): SweepAxis[] {
  const axes: SweepAxis[] = [];
  for (const [p, s] of settings) {
    if (!p.startsWith(SWEEP_PREFIX)) continue;
    const v = s.entry.value;
    const items = v?.kind === 'list' ? v.items.filter(isValid) : [];
    axes.push({ path: p.slice(SWEEP_PREFIX.length), entry: s.entry, from: s.from, items, labels: valueLabels(items), short: '' });
  }
  for (const a of axes) {
    const last = a.path.split('.').pop()!;
    a.short = axes.filter((b) => b.path.split('.').pop() === last).length > 1 ? a.path : last;
  }
  return axes;
}

/** The number of combinations before dropping keys that have no effect: the product of the list lengths. */
export function sweepSize(axes: readonly SweepAxis[]): number {
  return axes.reduce((n, a) => n * a.items.length, 1);
}

/**
 * The runs of a sweep, in the order of the cartesian product (the first axis varies
 * slowest). `effective(values)` returns the values of a combination that have an
 * effect given all of them (guidance.alpha only with loss = cyborg); the others are
 * dropped, and a combination equal to an earlier one is the same run. Callers check
 * `sweepSize` against MAX_SWEEP_RUNS first.
 */
export function expandSweep(name: string, axes: readonly SweepAxis[], effective: (values: readonly SweepValue[]) => SweepValue[]): SweepPoint[] {
  if (axes.length === 0 || axes.some((a) => a.items.length === 0)) return [];
  const out: SweepPoint[] = [];
  const seen = new Set<string>();
  const index = axes.map(() => 0);
  for (;;) {
    const values = effective(axes.map((axis, i) => ({ axis, item: axis.items[index[i]], label: axis.labels[index[i]] })));
    const runName = sweepRunName(name, values);
    if (!seen.has(runName)) {
      seen.add(runName);
      out.push({ name: runName, values });
    }
    // odometer: the last axis varies fastest
    let k = axes.length - 1;
    while (k >= 0 && ++index[k] === axes[k].items.length) index[k--] = 0;
    if (k < 0) return out;
  }
}

/** `methods@loss=cyborg,alpha=0.1,seed=1` (`methods@` alone when no swept key has an effect). */
export function sweepRunName(name: string, values: readonly SweepValue[]): string {
  return `${name}${RUN_NAME_SEPARATOR}${values.map((v) => `${v.axis.short}=${v.label}`).join(',')}`;
}

/**
 * Name parts of a list of values, safe in file names and shells (run directories are
 * named after runs): `0.1`, `cyborg`, `10pct` for `10%`, `50-30` for `[50, 30]`,
 * `adam-lr-0.01` for `adam { lr = 0.01 }`. When two values of a list would read the
 * same, or a part would be empty or longer than 32 characters, the list's parts are
 * `v1`, `v2`, … (position in the list) instead.
 */
export function valueLabels(items: readonly Value[]): string[] {
  const labels = items.map((v) =>
    printValue(v)
      .replace(/%/g, 'pct')
      .replace(/[^A-Za-z0-9._+-]+/g, '-')
      .replace(/^-+|-+$/g, ''),
  );
  const distinct = new Set(labels).size === labels.length && labels.every((l) => l.length > 0 && l.length <= 32);
  return distinct ? labels : items.map((_, i) => `v${i + 1}`);
}

/** The minimal shape of a model this module lists runs of (validate.ts ExperimentModel). */
export interface RunListing<M> {
  name: string;
  /** The runs a sweep expands into (absent for an experiment without a sweep). */
  runs?: M[];
}

/** The runs a written experiment stands for: itself, or its sweep's runs (none when the sweep is broken). */
export function runsOf<M extends RunListing<M>>(model: M): M[] {
  return model.runs ?? [model];
}

/** Every run of a file, in file order, a sweep's runs where the sweep is written. */
export function allRuns<M extends RunListing<M>>(experiments: ReadonlyMap<string, M>): M[] {
  return [...experiments.values()].flatMap((m) => runsOf(m));
}

/**
 * The runs a name given by a user stands for (`sgt train -e NAME`): an experiment
 * (a sweep's name giving all its runs) or one run of a sweep; undefined when nothing
 * has that name.
 */
export function runsNamed<M extends RunListing<M>>(experiments: ReadonlyMap<string, M>, name: string): M[] | undefined {
  const m = experiments.get(name);
  if (m) return runsOf(m);
  if (!name.includes(RUN_NAME_SEPARATOR)) return undefined;
  const base = experiments.get(name.slice(0, name.indexOf(RUN_NAME_SEPARATOR)));
  const run = base?.runs?.find((r) => r.name === name);
  return run ? [run] : undefined;
}
