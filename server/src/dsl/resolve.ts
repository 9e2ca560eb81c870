/**
 * Turns an analysed experiment into plain JSON with every default filled in —
 * what a run directory stores as `resolved.json` and what engines consume, so
 * no engine ever needs to know the DSL or its defaults.
 */
import type { Block, Value } from './ast';
import { unitName } from './ast';
import { applicabilityOf, keyApplies, type Analysis, type ExperimentModel } from './validate';
import { EXPERIMENT_SCHEMA, keySchemaAt, lookupOwn, type BlockSchema, type KeySchema, type ValueType } from './schema';
import { runsNamed } from './sweep';
import { parseValueText, type Json } from './values';

export interface ResolvedExperiment {
  name: string;
  /** The experiments it extends, nearest first. */
  extends: string[];
  /*
   * A run of a sweep also has `sweep: {of, point}`: the experiment with the sweep block
   * and the swept values of this run by key path (`{"guidance.alpha": 0.1, "seed": 1}`,
   * values as in the rest of this JSON), which reports group runs by (report/seed-groups.ts).
   */
  [key: string]: Json;
}

/** `resolved.json`'s `sweep` of a run of a sweep. */
export interface ResolvedSweep {
  [key: string]: Json;
  of: string;
  point: { [path: string]: Json };
}

/**
 * Resolves one run of an analysis: a plain experiment, or one run of a sweep by its
 * run name (`methods@alpha=0.1,seed=1`; dsl/sweep.ts). Returns undefined when the file
 * has errors in that experiment's chain, and for the name of a sweep itself, which
 * stands for several runs (`runsNamed` lists them).
 */
export function resolveExperiment(analysis: Analysis, name: string): ResolvedExperiment | undefined {
  const model = runsNamed(analysis.experiments, name)?.find((m) => m.name === name);
  if (!model || hasErrors(analysis, model)) return undefined;
  const body = resolveBlock(EXPERIMENT_SCHEMA, [], model, applicabilityOf(model));
  const resolved: ResolvedExperiment = { name, extends: model.chain.slice(1).map((e) => e.name?.name ?? ''), ...body };
  if (model.sweep) {
    const point: { [path: string]: Json } = {};
    for (const v of model.sweep.values) {
      const ks = keySchemaAt(v.axis.path);
      if (ks) point[v.axis.path] = toJson(v.item, ks.type);
    }
    resolved.sweep = { of: model.sweep.of, point } satisfies ResolvedSweep;
  }
  return resolved;
}

/** Whether an error lies in the experiment or in one it extends: then it does not run. */
export function hasErrors(analysis: Analysis, model: ExperimentModel): boolean {
  const chainSpans = model.chain.map((e) => [e.start, e.end]);
  return analysis.diagnostics.some((d) => d.severity === 'error' && chainSpans.some(([s, e]) => d.start >= s && d.start <= e));
}

/** Keys that do not apply (e.g. `lambda` with `loss = cyborg`) are left out, so engines never see them. */
function resolveBlock(schema: BlockSchema, prefix: string[], model: ExperimentModel, current: ReturnType<typeof applicabilityOf>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [key, ks] of Object.entries(schema.keys)) {
    if (!keyApplies(ks, current)) continue;
    const p = [...prefix, key].join('.');
    const set = model.settings.get(p)?.entry.value;
    const v = set ?? defaultValue(ks, model);
    if (v) out[key] = toJson(v, ks.type);
  }
  // a sweep block is not a setting: a run records its swept values as `sweep` (above)
  for (const [name, sub] of Object.entries(schema.blocks ?? {})) if (!sub.sweep) out[name] = resolveBlock(sub, [...prefix, name], model, current);
  return out;
}

function defaultValue(ks: KeySchema, model: ExperimentModel): Value | undefined {
  const d = typeof ks.default === 'function' ? ks.default(model.lookup) : ks.default;
  return d === undefined ? undefined : parseValueText(d);
}

/** Converts a (validated) value to JSON: percentages become fractions, durations `{value, unit}`, calls `{type, …args, …options}`. */
export function toJson(v: Value, t: ValueType): Json {
  switch (t.type) {
    case 'int':
    case 'number':
      return v.kind === 'number' ? v.value : null;
    case 'percent':
      return v.kind === 'number' ? v.value / 100 : null;
    case 'duration': {
      if (v.kind !== 'number') return null;
      const u = unitName(v) ?? t.units[0];
      return { value: v.value, unit: t.units.find((x) => x === u || x === u + 's') ?? u };
    }
    case 'bool':
      return v.kind === 'word' && v.name === 'true';
    case 'string':
    case 'path':
      return v.kind === 'string' ? v.value : null;
    case 'enum':
      return v.kind === 'word' ? v.name : v.kind === 'string' ? v.value : null;
    case 'list':
      return v.kind === 'list' ? v.items.map((i) => toJson(i, t.item)) : null;
    case 'call': {
      const name = v.kind === 'word' ? v.name : v.kind === 'call' ? v.callee.name : undefined;
      const variant = name ? lookupOwn(t.variants, name) : undefined;
      if (!name || !variant) return null;
      const out: { [k: string]: Json } = { type: name };
      const args = v.kind === 'call' ? (v.args ?? []) : [];
      (variant.args ?? []).forEach((a, i) => {
        if (args[i]) out[a.name] = toJson(args[i], a.type);
      });
      if (variant.options) Object.assign(out, resolveOptions(variant.options, v.kind === 'call' ? v.options : undefined));
      return out;
    }
  }
}

function resolveOptions(schema: BlockSchema, block: Block | undefined): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [key, ks] of Object.entries(schema.keys)) {
    const e = block?.entries.find((x) => x.kind === 'assignment' && x.key.name === key);
    const v = (e?.kind === 'assignment' ? e.value : undefined) ?? (typeof ks.default === 'string' ? parseValueText(ks.default) : undefined);
    if (v) out[key] = toJson(v, ks.type);
  }
  return out;
}
