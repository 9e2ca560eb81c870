/**
 * The experiment settings of several runs as rows of a table: every leaf of
 * resolved.json by dotted path (`train.optimizer.lr`), and which of them differ
 * between the runs — what a comparison is actually comparing.
 */
import { isObject } from './load';

/** Keys that describe where a run came from rather than what it trains (`sweep` repeats swept settings that are rows of their own). */
const NOT_SETTINGS = new Set(['name', 'extends', 'baseDir', 'file', 'sweep']);

export interface SettingRow {
  path: string;
  /** The value per run, in DSL-like notation; undefined where a run does not have the key. */
  values: Array<string | undefined>;
  differs: boolean;
}

export function settingRows(resolved: ReadonlyArray<Record<string, unknown> | undefined>): SettingRow[] {
  const flat = resolved.map((r) => flatten(r ?? {}));
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const f of flat) {
    for (const p of f.keys()) {
      if (!seen.has(p)) {
        seen.add(p);
        paths.push(p);
      }
    }
  }
  return paths.map((p) => {
    const values = flat.map((f) => f.get(p));
    return { path: p, values, differs: values.some((v) => v !== values[0]) };
  });
}

/** Leaves by dotted path; a call value (`{type: adam, lr: …}`) shows its type at its own path, its options below it. */
function flatten(obj: Record<string, unknown>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    if (!prefix && NOT_SETTINGS.has(k)) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (isObject(v)) {
      if (isDuration(v)) out.set(p, `${v.value} ${v.unit}`);
      else if (typeof v.type === 'string' && Object.keys(v).length > 0) {
        out.set(p, typeof v.name === 'string' ? `${v.type}("${v.name}")` : typeof v.path === 'string' ? `${v.type}("${v.path}")` : v.type);
        const rest = Object.fromEntries(Object.entries(v).filter(([key]) => key !== 'type' && !(key === 'name' || key === 'path')));
        flatten(rest, p, out);
      } else flatten(v, p, out);
    } else {
      out.set(p, formatLeaf(v));
    }
  }
  return out;
}

function isDuration(v: Record<string, unknown>): v is { value: number; unit: string } {
  return Object.keys(v).length === 2 && typeof v.value === 'number' && typeof v.unit === 'string';
}

function formatLeaf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatLeaf).join(', ')}]`;
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? String(v);
}

/** Whether two runs render the same preview images: same data, split and seed, so their overlays can sit side by side. */
export function sameSamples(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  if (!a || !b) return false;
  const pick = (r: Record<string, unknown>) => JSON.stringify([r.data, r.seed, isObject(r.preview) ? r.preview.samples : undefined, r.baseDir]);
  return pick(a) === pick(b);
}
