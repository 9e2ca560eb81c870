/**
 * Semantic analysis of a parsed `.sgt` file against the schema: structure,
 * value types and ranges, `extends`, cross-key rules and data files.
 *
 * Everything it knows about keys comes from `schema.ts`. It returns, besides
 * the diagnostics, a model of the file (experiments, their `extends` chains and
 * effective settings) that the resolver and the language features reuse.
 */
import * as path from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import type { Assignment, Block, CallValue, Experiment, Identifier, NumberValue, SgtFile, Span, Value } from './ast';
import { unitName } from './ast';
import type { Diagnostic, DiagnosticCode, Fix, Severity } from './diagnostics';
import { torchOnlyGuidance } from './engine-support';
import { DataScanner, baseName, isInside } from './files';
import { parse, type ParseResult } from './parser';
import {
  ARCHITECTURES,
  ATTRIBUTION_LOSSES,
  BUILTIN_DATASETS,
  IRRELEVANT_LOSSES,
  EXPERIMENT_SCHEMA,
  allKeyPaths,
  blocksDefining,
  describeType,
  keySchemaAt,
  lookupOwn,
  type Applicability,
  type BlockSchema,
  type KeySchema,
  type ValueType,
} from './schema';
import { MAX_RUN_NAME_LENGTH, SWEEP_PREFIX, expandSweep, sweepAxes, sweepSize, type SweepOrigin, type SweepValue } from './sweep';
import { LineIndex } from './text';
import { parseValueText, printValue } from './values';

export interface AnalyzeOptions {
  /** Absolute path of the `.sgt` file. Without it (an untitled document) file checks are skipped. */
  filePath?: string;
  /** The workspace folder. Paths must stay inside it unless the experiment sets `allow_outside_workspace = true`. */
  workspaceRoot?: string;
  /** Shared scan cache; a fresh one is used when absent. */
  scanner?: DataScanner;
  /**
   * Whether the torch engine can run here (engines/torch/python.ts, a cached probe), asked
   * only for experiments that train on it; absent, or undefined while a probe is still
   * running: not checked. Injected to keep this module pure.
   */
  torch?: () => { available: boolean; detail: string } | undefined;
}

/** Where an effective setting comes from. */
export interface Setting {
  entry: Assignment;
  /** The experiment whose body sets it (this one or an ancestor). */
  from: Experiment;
}

export interface DataSummary {
  kind: 'builtin' | 'folder';
  /** Absolute folder of a `folder(…)` source. */
  root?: string;
  images: number;
  annotatedImages: number;
  classes?: number;
  imagesDir?: string;
  saliencyDir?: string;
  /** With `annotation = boxes`: the boxes file (the hover preview draws its masks). */
  boxesFile?: string;
}

export interface ExperimentModel {
  node: Experiment;
  name: string;
  /** This experiment first, then what it extends, and so on (stops at unknown or cyclic names). */
  chain: Experiment[];
  /** Effective settings by dotted path (`guidance.alpha`), after `extends`. */
  settings: Map<string, Setting>;
  /** Effective value of a key in DSL notation: the setting, or the schema default. */
  lookup(path: string): string | undefined;
  data?: DataSummary;
  /**
   * The runs of an experiment with a `sweep` block (dsl/sweep.ts), each a model of its
   * own with the swept values set; empty when the sweep has errors; absent without a sweep.
   */
  runs?: ExperimentModel[];
  /** Set on a run of a sweep: the experiment it comes from and its swept values. */
  sweep?: SweepOrigin;
}

export interface Analysis {
  text: string;
  parse: ParseResult;
  file: SgtFile;
  diagnostics: Diagnostic[];
  experiments: Map<string, ExperimentModel>;
}

export function analyze(text: string, options: AnalyzeOptions = {}): Analysis {
  const parsed = parse(text);
  const v = new Validator(text, parsed, options);
  v.run();
  return { text, parse: parsed, file: parsed.file, diagnostics: v.sorted(), experiments: v.models };
}

// ---- suggestions ---------------------------------------------------------------------

/** The closest candidate within a small edit distance, for "did you mean". */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word.toLowerCase(), candidates as string[]);
  const d = distance(word.toLowerCase(), best);
  return d <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

// ---- the validator -------------------------------------------------------------------

class Validator {
  readonly diagnostics: Diagnostic[] = [];
  readonly models = new Map<string, ExperimentModel>();
  private readonly scanner: DataScanner;
  /** Sweep list items that are not valid values of their key: left out of the expansion. */
  private readonly invalidSweepItems = new Set<Value>();

  constructor(
    private readonly text: string,
    private readonly parsed: ParseResult,
    private readonly options: AnalyzeOptions,
  ) {
    this.scanner = options.scanner ?? new DataScanner();
    this.diagnostics.push(...parsed.diagnostics);
  }

  sorted(): Diagnostic[] {
    // one diagnostic per range and code; at one range an error hides a warning about the same thing
    const byKey = new Map<string, Diagnostic>();
    for (const d of this.diagnostics) {
      const k = `${d.start}:${d.end}:${d.message}`;
      if (!byKey.has(k)) byKey.set(k, d);
    }
    const all = [...byKey.values()];
    const errorRanges = new Set(all.filter((d) => d.severity === 'error').map((d) => `${d.start}:${d.end}`));
    return all
      .filter((d) => d.severity === 'error' || d.code !== 'not-applicable' || !errorRanges.has(`${d.start}:${d.end}`))
      .sort((a, b) => a.start - b.start || a.end - b.end);
  }

  private report(span: Span, severity: Severity, code: DiagnosticCode, message: string, fixes?: Fix[]): void {
    this.diagnostics.push({ start: span.start, end: span.end, severity, code, message, ...(fixes && fixes.length ? { fixes } : {}) });
  }

  run(): void {
    const exps = this.parsed.file.experiments;
    const byName = new Map<string, Experiment>();
    for (const e of exps) {
      if (!e.name) continue;
      if (byName.has(e.name.name)) {
        this.report(e.name, 'error', 'duplicate-experiment', `Experiment '${e.name.name}' is already defined on line ${this.line(byName.get(e.name.name)!.start)}: rename one of them.`);
        continue;
      }
      byName.set(e.name.name, e);
    }
    for (const e of exps) this.checkExtends(e, byName);
    for (const e of exps) {
      this.checkBlock(e.body, EXPERIMENT_SCHEMA, []);
      if (!e.name || byName.get(e.name.name) !== e) continue;
      const model = this.buildModel(e, byName);
      this.models.set(e.name.name, model);
      this.checkRequired(model);
      if (![...model.settings.keys()].some((p) => p.startsWith(SWEEP_PREFIX))) {
        this.checkRules(model);
        this.checkData(model);
      } else {
        this.checkSweepRuns(model);
      }
    }
  }

  private lineIndex?: LineIndex;

  /** One-based line of an offset, for messages that point at another place. */
  private line(offset: number): number {
    this.lineIndex ??= new LineIndex(this.text);
    return this.lineIndex.positionAt(offset).line + 1;
  }

  // ---- extends -----------------------------------------------------------------------

  private checkExtends(e: Experiment, byName: Map<string, Experiment>): void {
    if (!e.extends) return;
    const target = e.extends.name;
    if (!byName.has(target)) {
      const names = [...byName.keys()].filter((n) => n !== e.name?.name);
      const guess = didYouMean(target, names);
      this.report(
        e.extends,
        'error',
        'unknown-extends',
        `No experiment named '${target}' in this file${guess ? `: did you mean '${guess}'?` : names.length ? `. Experiments here: ${names.join(', ')}.` : '.'}`,
        guess ? [replaceFix(e.extends, guess, `Change to '${guess}'`)] : undefined,
      );
      return;
    }
    // cycle: follow the chain from e; if it comes back to e, e is on a cycle
    const seen = new Set<string>();
    let cur: Experiment | undefined = e;
    const cycle: string[] = [];
    while (cur?.extends && cur.name && !seen.has(cur.name.name)) {
      seen.add(cur.name.name);
      cycle.push(cur.name.name);
      cur = byName.get(cur.extends.name);
      if (cur === e) {
        this.report(e.extends, 'error', 'cyclic-extends', `Cyclic 'extends': ${[...cycle, e.name!.name].join(' → ')}. Remove one 'extends' to break the cycle.`);
        return;
      }
    }
  }

  private buildModel(e: Experiment, byName: Map<string, Experiment>): ExperimentModel {
    const chain: Experiment[] = [];
    const seen = new Set<Experiment>();
    for (let cur: Experiment | undefined = e; cur && !seen.has(cur); cur = cur.extends ? byName.get(cur.extends.name) : undefined) {
      seen.add(cur);
      chain.push(cur);
    }
    const settings = new Map<string, Setting>();
    for (let i = chain.length - 1; i >= 0; i--) collectSettings(chain[i].body, '', chain[i], settings);
    const model: ExperimentModel = { node: e, name: e.name!.name, chain, settings, lookup: () => undefined };
    model.lookup = makeLookup(settings);
    return model;
  }

  // ---- structure and values ------------------------------------------------------------

  private checkBlock(block: Block, schema: BlockSchema, blockPath: string[]): void {
    const seen = new Map<string, Identifier>();
    for (const entry of block.entries) {
      const name = entry.key.name;
      const prev = seen.get(name);
      if (prev) {
        this.report(entry.key, 'error', 'duplicate-key', `'${name}' is already set on line ${this.line(prev.start)} in this block; remove one.`, [removeEntryFix(this.text, entry, `Remove this '${name}'`)]);
      } else {
        seen.set(name, entry.key);
      }
      const keySchema = lookupOwn(schema.keys, name);
      const subBlock = lookupOwn(schema.blocks, name);
      if (entry.kind === 'blockEntry') {
        if (subBlock?.sweep) this.checkSweepBlock(entry.block, subBlock.sweep.maxRuns, entry.key);
        else if (subBlock) this.checkBlock(entry.block, subBlock, [...blockPath, name]);
        else if (keySchema) this.report(entry.key, 'error', 'not-a-block', `'${name}' takes a value, not a block: write \`${name} = …\` (${describeType(keySchema.type)}).`);
        else this.unknownKey(entry.key, schema, blockPath, 'unknown-block');
        continue;
      }
      if (subBlock) {
        this.report(entry.key, 'error', 'not-a-block', `'${name}' is a block: write \`${name} { … }\`.`);
        continue;
      }
      if (!keySchema) {
        this.unknownKey(entry.key, schema, blockPath, 'unknown-key');
        continue;
      }
      if (entry.value) this.checkValue(entry.value, keySchema.type, name, [...blockPath, name]);
    }
  }

  private unknownKey(key: Identifier, schema: BlockSchema, blockPath: string[], code: DiagnosticCode): void {
    const candidates = [...Object.keys(schema.keys), ...Object.keys(schema.blocks ?? {})];
    const guess = didYouMean(key.name, candidates);
    const where = blockPath.length ? `'${blockPath.join('.')}'` : 'an experiment';
    const elsewhere = blocksDefining(key.name);
    let message = `Unknown ${code === 'unknown-block' ? 'block' : 'key'} '${key.name}' in ${where}.`;
    if (guess) message += ` Did you mean '${guess}'?`;
    else if (elsewhere.length) message += ` '${key.name}' belongs in ${elsewhere.map((b) => `'${b}'`).join(' or ')}.`;
    else message += ` Valid here: ${candidates.join(', ')}.`;
    this.report(key, 'error', code, message, guess ? [replaceFix(key, guess, `Change to '${guess}'`)] : undefined);
  }

  /** Checks a value against a type; returns true when it is valid. */
  private checkValue(v: Value, t: ValueType, key: string, keyPath: string[]): boolean {
    const wrong = (expected: string) => {
      this.report(v, 'error', 'wrong-type', `'${key}' must be ${expected}, found \`${shorten(printValue(v))}\`.`);
      return false;
    };
    switch (t.type) {
      case 'int':
      case 'number': {
        if (v.kind !== 'number') return wrong(describeType(t));
        const unit = unitName(v);
        if (unit !== undefined && !(t.type === 'int' && t.unit === unit)) {
          this.report(v.unit!, 'error', 'bad-unit', `'${key}' takes a plain ${t.type === 'int' ? 'integer' : 'number'}${t.type === 'int' && t.unit ? ` (optionally in ${t.unit})` : ''}, not '${unit}'.`, [
            { title: `Remove '${unit}'`, edits: [{ start: numberEnd(v), end: v.end, newText: '' }], preferred: true },
          ]);
          return false;
        }
        if (!Number.isFinite(v.value)) return wrong(describeType(t));
        if (t.type === 'int' && !Number.isInteger(v.value)) return wrong(describeType(t));
        return this.checkRange(v, key, t.min, t.max, t.type === 'number' && t.exclusiveMin === true, t.type === 'int');
      }
      case 'percent': {
        if (v.kind !== 'number') return wrong(describeType(t));
        const unit = unitName(v);
        if (unit !== '%') {
          const fixes: Fix[] = [];
          if (unit === undefined && v.value >= 0 && v.value <= 1) {
            const pct = +(v.value * 100).toPrecision(12);
            fixes.push({ title: `Write ${pct}%`, edits: [{ start: v.start, end: v.end, newText: `${pct}%` }], preferred: true });
          }
          this.report(v, 'error', unit === undefined ? 'wrong-type' : 'bad-unit', `'${key}' is a percentage: write it with '%' (e.g. \`${key} = 10%\`).`, fixes);
          return false;
        }
        return this.checkRange(v, key, 0, 100, false, false, '%');
      }
      case 'duration': {
        if (v.kind !== 'number') return wrong(describeType(t));
        const unit = unitName(v);
        const canonical = unit && t.units.find((u) => u === unit || u === unit + 's');
        if (!canonical) {
          const guess = unit && unit !== '%' ? didYouMean(unit, t.units) : undefined;
          const fixes: Fix[] = guess && v.unit ? [replaceFix(v.unit, guess, `Change to '${guess}'`)] : unit === undefined ? [{ title: `Add '${t.units[0]}'`, edits: [{ start: v.end, end: v.end, newText: ` ${t.units[0]}` }], preferred: true }] : [];
          this.report(unit && v.unit ? v.unit : v, 'error', 'bad-unit', `'${key}' needs a unit: ${t.units.map((u) => `\`${v.raw} ${u}\``).join(' or ')}${unit ? `, not '${unit}'` : ''}.`, fixes);
          return false;
        }
        if (!Number.isInteger(v.value)) return wrong(describeType(t));
        return this.checkRange(v, key, 1, undefined, false, true);
      }
      case 'bool':
        if (v.kind === 'word' && (v.name === 'true' || v.name === 'false')) return true;
        return wrong('`true` or `false`');
      case 'string':
        return v.kind === 'string' ? true : wrong('a string in double quotes');
      case 'path':
        if (v.kind !== 'string') {
          const fixes: Fix[] = v.kind === 'word' ? [{ title: `Quote it: "${v.name}"`, edits: [{ start: v.start, end: v.end, newText: JSON.stringify(v.name) }], preferred: true }] : [];
          this.report(v, 'error', 'wrong-type', `'${key}' must be a ${t.pathKind === 'dir' ? 'folder' : 'file'} path in double quotes, found \`${shorten(printValue(v))}\`.`, fixes);
          return false;
        }
        if (v.value.trim() === '') return wrong(`a non-empty ${t.pathKind === 'dir' ? 'folder' : 'file'} path`);
        return true;
      case 'enum': {
        const name = v.kind === 'word' ? v.name : v.kind === 'string' ? v.value : undefined;
        if (name === undefined) return wrong(describeType(t));
        if (lookupOwn(t.values, name) !== undefined) return true;
        const allowed = Object.keys(t.values);
        const guess = didYouMean(name, allowed);
        const newText = (g: string) => (v.kind === 'string' ? JSON.stringify(g) : g);
        const fixes = guess ? [{ title: `Change to '${guess}'`, edits: [{ start: v.start, end: v.end, newText: newText(guess) }], preferred: true }] : undefined;
        if (keyPath.join('.') === 'data.source.builtin.name') {
          this.report(v, 'error', 'unknown-builtin', `There is no built-in data set '${name}'${guess ? `: did you mean '${guess}'?` : '.'} Built-in: ${allowed.join(', ')}.`, fixes);
          return false;
        }
        this.report(v, 'error', 'unknown-value', `'${name}' is not a valid ${key}${guess ? `: did you mean '${guess}'?` : '.'} Allowed: ${allowed.join(', ')}.`, fixes);
        return false;
      }
      case 'list': {
        if (v.kind !== 'list') {
          const fixes: Fix[] = [{ title: `Make it a list: [${printValue(v)}]`, edits: [{ start: v.start, end: v.end, newText: `[${printValue(v)}]` }], preferred: true }];
          this.report(v, 'error', 'wrong-type', `'${key}' must be a ${describeType(t)}, found \`${shorten(printValue(v))}\`.`, fixes);
          return false;
        }
        let ok = true;
        const seen = new Set<string>();
        for (const item of v.items) {
          ok = this.checkValue(item, t.item, key, keyPath) && ok;
          const text = printValue(item);
          if (t.unique && seen.has(text)) {
            this.report(item, 'warning', 'duplicate-item', `\`${text}\` is listed twice in '${key}'.`);
          }
          seen.add(text);
        }
        if (t.minItems && v.items.length < t.minItems) {
          this.report(v, 'error', 'wrong-type', `'${key}' needs at least ${t.minItems} item${t.minItems > 1 ? 's' : ''}.`);
          ok = false;
        }
        return ok;
      }
      case 'call':
        return this.checkCall(v, t, key, keyPath);
    }
  }

  private checkCall(v: Value, t: Extract<ValueType, { type: 'call' }>, key: string, keyPath: string[]): boolean {
    const variants = Object.keys(t.variants);
    const callee = v.kind === 'word' ? { name: v.name, start: v.start, end: v.end } : v.kind === 'call' ? v.callee : undefined;
    if (!callee) {
      this.report(v, 'error', 'wrong-type', `'${key}' must be ${describeType(t)}, found \`${shorten(printValue(v))}\`.`);
      return false;
    }
    const variant = lookupOwn(t.variants, callee.name);
    if (!variant) {
      const guess = didYouMean(callee.name, variants);
      this.report(callee, 'error', 'unknown-value', `'${callee.name}' is not a valid ${key}${guess ? `: did you mean '${guess}'?` : '.'} Allowed: ${variants.join(', ')}.`, guess ? [replaceFix(callee, guess, `Change to '${guess}'`)] : undefined);
      return false;
    }
    const call: CallValue | undefined = v.kind === 'call' ? v : undefined;
    const expectedArgs = variant.args ?? [];
    const args = call?.args ?? [];
    if (expectedArgs.length > 0 && !call?.args) {
      const example = `${callee.name}(${expectedArgs.map((a) => (a.type.type === 'path' || a.type.type === 'string' ? '"…"' : a.name)).join(', ')})`;
      this.report(v, 'error', 'bad-arguments', `'${callee.name}' needs ${expectedArgs.map((a) => a.name).join(', ')}: write \`${example}\`.`);
      return false;
    }
    if (call?.args && expectedArgs.length === 0) {
      this.report(call, 'error', 'bad-arguments', `'${callee.name}' takes no arguments in parentheses${variant.options ? `; options go in braces: \`${callee.name} { … }\`` : ''}.`);
      return false;
    }
    let ok = true;
    if (args.length !== expectedArgs.length && call) {
      this.report(call, 'error', 'bad-arguments', `'${callee.name}' takes ${expectedArgs.length} argument${expectedArgs.length === 1 ? '' : 's'} (${expectedArgs.map((a) => a.name).join(', ')}), found ${args.length}.`);
      ok = false;
    }
    for (let i = 0; i < Math.min(args.length, expectedArgs.length); i++) {
      ok = this.checkValue(args[i], expectedArgs[i].type, expectedArgs[i].name, [...keyPath, callee.name, expectedArgs[i].name]) && ok;
    }
    if (call?.options) {
      if (!variant.options) {
        this.report(call.options, 'error', 'bad-arguments', `'${callee.name}' takes no options.`);
        return false;
      }
      this.checkBlock(call.options, variant.options, [...keyPath, callee.name]);
    }
    return ok;
  }

  private checkRange(v: NumberValue, key: string, min: number | undefined, max: number | undefined, exclusiveMin: boolean, integer: boolean, suffix = ''): boolean {
    const tooLow = min !== undefined && (exclusiveMin ? v.value <= min : v.value < min);
    const tooHigh = max !== undefined && v.value > max;
    if (!tooLow && !tooHigh) return true;
    const range = max === undefined ? `${exclusiveMin ? '>' : '≥'} ${min}${suffix}` : min === undefined ? `≤ ${max}${suffix}` : `between ${min}${suffix} and ${max}${suffix}${exclusiveMin ? ` (${min}${suffix} excluded)` : ''}`;
    let clampTo: number | undefined = tooHigh ? max : exclusiveMin ? undefined : min;
    if (clampTo !== undefined && integer) clampTo = tooHigh ? Math.floor(clampTo) : Math.ceil(clampTo);
    const fixes: Fix[] =
      clampTo !== undefined ? [{ title: `Clamp to ${clampTo}${suffix}`, edits: [{ start: v.start, end: numberEnd(v), newText: String(clampTo) }], preferred: true }] : [];
    this.report(v, 'error', 'out-of-range', `'${key}' must be ${range}, found ${v.raw}${suffix}.`, fixes);
    return false;
  }

  // ---- required keys ----------------------------------------------------------------

  private checkRequired(m: ExperimentModel): void {
    const walk = (b: BlockSchema, prefix: string[]) => {
      for (const [k, s] of Object.entries(b.keys)) {
        const p = [...prefix, k].join('.');
        if (s.required && !m.settings.has(p)) this.missingKey(m, prefix, k, s);
      }
      for (const [n, sub] of Object.entries(b.blocks ?? {})) walk(sub, [...prefix, n]);
    };
    walk(EXPERIMENT_SCHEMA, []);
  }

  private missingKey(m: ExperimentModel, blockPath: string[], key: string, s: KeySchema): void {
    const e = m.node;
    const example = s.example ?? (typeof s.default === 'string' ? s.default : '…');
    // insert into the innermost existing block on the path, creating the missing ones
    let block = e.body;
    let i = 0;
    for (; i < blockPath.length; i++) {
      const sub = block.entries.find((x) => x.kind === 'blockEntry' && x.key.name === blockPath[i]);
      if (!sub || sub.kind !== 'blockEntry') break;
      block = sub.block;
    }
    const indentUnit = '  ';
    const baseIndent = indentOf(this.text, block.start) + indentUnit.repeat(block === e.body ? 1 : 1);
    let insert = `${key} = ${example}`;
    for (let j = blockPath.length - 1; j >= i; j--) insert = `${blockPath[j]} { ${insert} }`;
    const fixes: Fix[] = block.closed
      ? [{ title: `Add \`${insert}\``, edits: [{ start: block.start + 1, end: block.start + 1, newText: `\n${baseIndent}${insert}` }], preferred: true }]
      : [];
    const inherited = m.chain.length > 1 ? ` (nor in '${m.chain.slice(1).map((c) => c.name?.name).join("', '")}')` : '';
    this.report(e.name ?? e, 'error', 'missing-key', `Experiment '${m.name}' does not set '${[...blockPath, key].join('.')}'${inherited}: add \`${[...blockPath, key].join('.')} = ${example}\` (${describeType(s.type)}).`, fixes);
  }

  // ---- cross-key rules --------------------------------------------------------------

  /** A setting made in this experiment's own body, for locating a diagnostic. */
  private own(m: ExperimentModel, p: string): Setting | undefined {
    const s = m.settings.get(p);
    return s && s.from === m.node ? s : undefined;
  }

  /**
   * Reports a rule at the first of the involved keys set in this experiment; ancestors
   * report their own. In a run of a sweep, a swept value among the keys comes first:
   * the combination is what breaks the rule.
   */
  private rule(m: ExperimentModel, keys: string[], severity: Severity, code: DiagnosticCode, message: string, fixes?: (at: Setting) => Fix[]): void {
    for (const k of keys) {
      const swept = m.sweep?.values.find((v) => v.axis.path === k);
      if (swept) {
        this.report(swept.item, severity, code, message);
        return;
      }
    }
    for (const k of keys) {
      const s = this.own(m, k);
      if (s) {
        this.report(s.entry.value ?? s.entry.key, severity, code, message, fixes?.(s));
        return;
      }
    }
  }

  private checkRules(m: ExperimentModel): void {
    const get = m.lookup;
    const current = applicabilityOf(m);
    const { loss = 'none', attribution = 'cam', engine = 'auto', arch = 'small_cnn', source: sourceKind } = current;
    const layer = get('guidance.layer') ?? 'final';
    const archInfo = lookupOwn(ARCHITECTURES, arch);
    const source = m.settings.get('data.source')?.entry.value;
    const guided = (ATTRIBUTION_LOSSES as readonly string[]).includes(loss);

    // keys that have no effect with the other settings
    for (const [p, s] of m.settings) {
      if (s.from !== m.node) continue;
      const schema = keySchemaAt(p);
      if (!schema?.appliesTo) continue;
      for (const [dim, allowed] of Object.entries(schema.appliesTo) as [keyof Applicability, readonly string[]][]) {
        const value = current[dim];
        // an invalid controlling value is reported on its own; don't pile warnings on top
        if (value === undefined || !isKnown(dim, value)) continue;
        if (!allowed.includes(value)) {
          const key = p.split('.').pop()!;
          const dimPath = DIMENSION_KEYS[dim];
          this.report(s.entry.key, 'warning', 'not-applicable', `'${key}' has no effect with ${dimPath} = ${value}; it applies to ${dim} ${allowed.join(' | ')}.`, [removeEntryFix(this.text, s.entry, `Remove '${key}'`)]);
          break;
        }
      }
    }

    if (archInfo) {
      // CAM needs a global-average-pool + linear head
      if (guided && attribution === 'cam' && !archInfo.gapLinearHead) {
        this.rule(m, ['guidance.attribution', 'guidance.loss', 'model.arch'], 'error', 'incompatible', `CAM needs a global-average-pool + linear head, which '${arch}' does not have: use a convolutional arch or \`attribution = ixg\` / \`gradcam\`.`);
      }
      if (!archInfo.engines.includes('tfjs') && engine === 'tfjs') {
        this.rule(m, ['train.engine', 'model.arch'], 'error', 'incompatible', `'${arch}' is only available in the torch engine: set \`engine = torch\` (or \`auto\`) or use ${Object.keys(ARCHITECTURES).filter((a) => ARCHITECTURES[a].engines.includes('tfjs')).join(' / ')}.`);
      }
      const size = Number(get('data.image_size'));
      if (Number.isFinite(size) && size < archInfo.minImageSize) {
        this.rule(m, ['data.image_size', 'model.arch'], 'error', 'incompatible', `'${arch}' needs images of at least ${archInfo.minImageSize} px, but image_size is ${size}.`, (at) =>
          at.entry.key.name === 'image_size' && at.entry.value ? [{ title: `Set image_size = ${archInfo.minImageSize}`, edits: [{ start: at.entry.value.start, end: at.entry.value.end, newText: String(archInfo.minImageSize) }], preferred: true }] : [],
        );
      }
      const metrics = parseList(get('evaluate.metrics'));
      const camMetrics = metrics.filter((x) => ['saliency_mse', 'saliency_corr', 'epg', 'iou'].includes(x));
      if (!archInfo.gapLinearHead && camMetrics.length && m.settings.has('evaluate.metrics')) {
        this.rule(m, ['evaluate.metrics', 'model.arch'], 'warning', 'incompatible', `Saliency metrics (${camMetrics.join(', ')}) use the model's CAM, which '${arch}' does not have; they will be reported with input×gradient instead.`);
      }
      // consistency compares CAM files, which the engines write only for a model with a CAM
      if (!archInfo.gapLinearHead && metrics.includes('consistency')) {
        this.rule(m, ['evaluate.metrics', 'model.arch'], 'warning', 'incompatible', `\`consistency\` compares the CAMs of runs, and '${arch}' has no CAM: no CAM file is written, so there will be no consistency to report.`);
      }
    }
    if (guided && attribution === 'cam' && layer !== 'final') {
      this.rule(m, ['guidance.layer', 'guidance.attribution'], 'error', 'incompatible', `CAM is defined at the final conv block only: use \`layer = final\`, or \`attribution = gradcam\` / \`ixg\` at layer '${layer}'.`);
    }
    if (guided && attribution !== 'cam' && layer !== 'input' && arch === 'mlp') {
      this.rule(m, ['guidance.layer', 'guidance.attribution', 'model.arch'], 'error', 'incompatible', `The mlp's hidden layers have no spatial layout, so an attribution at layer '${layer}' cannot be compared with a human map: use \`attribution = ixg\` at \`layer = input\`.`);
    }
    if (guided && attribution === 'gradcam' && layer === 'input') {
      this.rule(m, ['guidance.layer', 'guidance.attribution'], 'error', 'incompatible', 'GradCAM at the input has no channels to weight: use `attribution = ixg` at the input, or `layer = mid` / `final`.');
    }
    for (const k of ['train.devices', 'train.nodes']) {
      const n = Number(get(k));
      if (engine === 'tfjs' && n > 1) {
        this.rule(m, [k, 'train.engine'], 'error', 'incompatible', `Distributed training (${k.split('.')[1]} = ${n}) needs the torch engine: set \`engine = torch\`.`);
      }
    }
    // guidance only the torch engine trains (dsl/engine-support.ts: nothing today): refused on
    // tfjs, and `auto` picks torch for it (runs/start-run.ts chooseEngine asks the same function)
    const torchOnly = torchOnlyGuidance({ loss, attribution: get('guidance.attribution'), layer: get('guidance.layer'), irrelevant: get('guidance.irrelevant') });
    if (torchOnly && engine === 'tfjs') {
      this.rule(m, [torchOnly.key, 'guidance.loss', 'train.engine'], 'error', 'incompatible', `The tfjs engine cannot train \`${torchOnly.setting}\`: set \`engine = torch\` (or \`auto\`).`);
    }
    const autoNeedsTorch = engine === 'auto' && ((archInfo && !archInfo.engines.includes('tfjs')) || Number(get('train.devices')) > 1 || Number(get('train.nodes')) > 1 || torchOnly !== undefined);
    if ((engine === 'torch' || autoNeedsTorch) && this.options.torch) {
      const torch = this.options.torch();
      if (torch && !torch.available) this.rule(m, ['train.engine', 'model.arch', 'train.devices', 'train.nodes', 'guidance.loss', 'guidance.attribution'], 'warning', 'engine-unavailable', `This experiment trains on the torch engine, which cannot run here: ${torch.detail}`);
    }
    // annotation source
    const annotation = get('data.annotation');
    if (annotation === 'boxes') {
      if (sourceKind === 'builtin') {
        this.rule(m, ['data.annotation', 'data.source'], 'error', 'incompatible', `Built-in data sets come with saliency maps, not boxes: use \`annotation = saliency\`.`);
      } else if (sourceKind === 'folder' && !m.settings.has('data.boxes')) {
        this.rule(m, ['data.annotation'], 'error', 'missing-key', "`annotation = boxes` needs `boxes = \"boxes.json\"` in the data block.");
      }
    }
    // what the schema knows of a built-in data set (classes, channels)
    const builtinName = sourceKind === 'builtin' && source?.kind === 'call' && source.args?.[0]?.kind === 'string' ? source.args[0].value : undefined;
    const builtin = builtinName ? lookupOwn(BUILTIN_DATASETS, builtinName) : undefined;
    // ROC AUC on a multi-class built-in set
    const metrics = parseList(get('evaluate.metrics'));
    if (metrics.includes('auc') && builtin && builtin.classes > 2) {
      this.rule(m, ['evaluate.metrics'], 'warning', 'incompatible', `ROC AUC is defined for binary tasks; '${builtinName}' has ${builtin.classes} classes.`);
    }
    // ImageNet statistics on grayscale data (folders are checked by the engine once decoded)
    if (get('data.normalize') === 'imagenet' && builtin?.channels === 1) {
      this.rule(m, ['data.normalize', 'data.source'], 'error', 'incompatible', `\`normalize = imagenet\` uses RGB statistics, but '${builtinName}' is grayscale: use \`normalize = dataset\`.`);
    }
    // a shortcut region exists only where the data set knows its shortcut (Decoy MNIST's swatch);
    // folders have no such annotation, so `irrelevant = shortcut` is refused rather than empty
    if (get('guidance.irrelevant') === 'shortcut' && (IRRELEVANT_LOSSES as readonly string[]).includes(loss) && !builtin?.shortcut) {
      const what = builtinName ? `'${builtinName}' has no known shortcut region` : sourceKind === 'folder' ? 'folder data sets have no shortcut masks' : 'this data source has no known shortcut region';
      const which = Object.keys(BUILTIN_DATASETS).filter((k) => BUILTIN_DATASETS[k].shortcut).map((k) => `builtin("${k}")`).join(', ');
      this.rule(m, ['guidance.irrelevant', 'data.source'], 'error', 'incompatible', `\`irrelevant = shortcut\` needs a data set that knows where its shortcut is (${which}), but ${what}: use \`irrelevant = unannotated\` (where the human map is 0).`);
    }
    // a step schedule that never steps
    const schedule = m.settings.get('train.schedule')?.entry.value;
    if (schedule?.kind === 'call' && schedule.callee.name === 'step') {
      const every = schedule.options?.entries.find((x) => x.key.name === 'every');
      const epochs = Number(get('train.epochs'));
      const n = every?.kind === 'assignment' && every.value?.kind === 'number' ? every.value.value : 10;
      if (n >= epochs) this.rule(m, ['train.schedule', 'train.epochs'], 'warning', 'incompatible', `The step schedule steps every ${n} epochs but training lasts ${epochs}: the learning rate never changes.`);
    }
  }

  // ---- sweeps ----------------------------------------------------------------------------

  /** `sweep { path = [v1, v2] … }`: each key a schema key path, each value a list of valid values of that key. */
  private checkSweepBlock(block: Block, maxRuns: number, at: Identifier): void {
    const seen = new Map<string, Identifier>();
    let total = 1;
    for (const entry of block.entries) {
      const name = entry.key.name;
      const prev = seen.get(name);
      if (prev) this.report(entry.key, 'error', 'duplicate-key', `'${name}' is already swept on line ${this.line(prev.start)}; list all its values once.`, [removeEntryFix(this.text, entry, `Remove this '${name}'`)]);
      else seen.set(name, entry.key);
      if (entry.kind === 'blockEntry') {
        this.report(entry.key, 'error', 'not-a-block', `A sweep lists values per key, by the key's dotted path: write \`${name}.KEY = [a, b]\`, not a block.`);
        continue;
      }
      const invalidate = () => {
        if (entry.value?.kind === 'list') for (const item of entry.value.items) this.invalidSweepItems.add(item);
      };
      const ks = keySchemaAt(name);
      if (!ks || name.startsWith(SWEEP_PREFIX)) {
        const paths = allKeyPaths();
        const byLeaf = paths.filter((p) => p.split('.').pop() === name);
        const guess = byLeaf.length === 1 ? byLeaf[0] : didYouMean(name, paths);
        this.report(entry.key, 'error', 'unknown-key', `'${name}' is not a key that can be swept${guess ? `: did you mean '${guess}'?` : '.'} A sweep takes the dotted path of an experiment key (\`seed\`, \`guidance.alpha\`, \`train.optimizer\`).`, guess ? [replaceFix(entry.key, guess, `Change to '${guess}'`)] : undefined);
        invalidate();
        continue;
      }
      const v = entry.value;
      if (!v) continue; // the parser reported the missing value
      if (v.kind !== 'list') {
        this.report(v, 'error', 'wrong-type', `A swept key takes a list of values: \`${name} = [${shorten(printValue(v))}, …]\`.`, [{ title: `Make it a list: [${printValue(v)}]`, edits: [{ start: v.start, end: v.end, newText: `[${printValue(v)}]` }], preferred: true }]);
        continue;
      }
      if (v.items.length === 0) {
        this.report(v, 'error', 'wrong-type', `'${name}' is swept over no values: list at least one (${describeType(ks.type)}).`);
        continue;
      }
      const texts = new Map<string, Value>();
      for (const item of v.items) {
        if (!this.checkValue(item, ks.type, name.split('.').pop()!, name.split('.'))) {
          this.invalidSweepItems.add(item);
          continue;
        }
        const text = printValue(item);
        if (texts.has(text)) {
          this.report(item, 'error', 'duplicate-item', `\`${text}\` is listed twice in the sweep of '${name}' (it would be the same runs twice).`);
          this.invalidSweepItems.add(item);
        } else texts.set(text, item);
      }
      total *= Math.max(1, texts.size);
    }
    if (total > maxRuns) this.report(at, 'error', 'out-of-range', `This sweep has ${total} combinations; at most ${maxRuns} are allowed. Sweep fewer values, or split it into several experiments.`);
  }

  /**
   * The runs of a sweep experiment: expands it (dsl/sweep.ts), builds each run's model
   * and checks the cross-key rules and data of each run. A problem that every run has
   * is reported once, as for a plain experiment; one that only some runs have names
   * them; a key of the experiment's own body that has no effect in some runs only is
   * not reported (it has an effect in the others).
   */
  private checkSweepRuns(m: ExperimentModel): void {
    const axes = sweepAxes(m.settings, (item) => !this.invalidSweepItems.has(item)).filter((a) => a.items.length > 0);
    const total = sweepSize(axes);
    m.runs = [];
    const maxRuns = EXPERIMENT_SCHEMA.blocks?.sweep?.sweep?.maxRuns ?? 0;
    if (total > maxRuns) {
      // a sweep block that is too big by itself was reported where it is written; here when extends merged sweeps
      if (new Set(axes.map((a) => a.from)).size > 1) this.report(m.node.name ?? m.node, 'error', 'out-of-range', `'${m.name}' sweeps ${total} combinations with the sweeps it extends; at most ${maxRuns} are allowed.`);
      else if (axes[0]?.from !== m.node) this.report(m.node.name ?? m.node, 'error', 'out-of-range', `'${m.name}' extends a sweep of ${total} combinations; at most ${maxRuns} are allowed.`);
      return;
    }
    const base = new Map([...m.settings].filter(([p]) => !p.startsWith(SWEEP_PREFIX)));
    const runModel = (values: readonly SweepValue[], name: string): ExperimentModel => {
      const settings = new Map(base);
      // a swept value counts as this experiment's own setting, written where the list item is
      for (const v of values) settings.set(v.axis.path, { entry: { kind: 'assignment', key: v.axis.entry.key, value: v.item, start: v.item.start, end: v.item.end }, from: m.node });
      return { node: m.node, name, chain: m.chain, settings, lookup: makeLookup(settings), sweep: { of: m.name, values: [...values] } };
    };
    const points = expandSweep(m.name, axes, (values) => {
      const current = applicabilityOf(runModel(values, m.name));
      return values.filter((v) => keyApplies(keySchemaAt(v.axis.path)!, current));
    });
    // run directories are named after runs, and file names have a length limit
    const longest = points.reduce((a, p) => (p.name.length > a.length ? p.name : a), '');
    if (longest.length > MAX_RUN_NAME_LENGTH) {
      const own = m.node.body.entries.find((x) => x.kind === 'blockEntry' && x.key.name === 'sweep');
      this.report(own?.key ?? m.node.name ?? m.node, 'error', 'out-of-range', `Run names of this sweep are up to ${longest.length} characters long (\`${shorten(longest)}\`); run directories are named after them, so at most ${MAX_RUN_NAME_LENGTH}: sweep fewer keys, or shorter values.`);
      return;
    }
    // a value this experiment sets for a key its parent sweeps is replaced by the sweep's values
    for (const a of axes) {
      const own = base.get(a.path);
      if (a.from !== m.node && own?.from === m.node) {
        this.report(own.entry.key, 'warning', 'not-applicable', `'${a.path}' is swept by '${a.from.name?.name ?? '?'}' (line ${this.line(a.entry.start)}), so this value is not used: to change the values, write \`sweep { ${a.path} = [${shorten(printValue(own.entry.value!))}] }\` here.`, [removeEntryFix(this.text, own.entry, `Remove '${a.path.split('.').pop()}'`)]);
      }
    }
    // a swept key that has an effect in no run is a mistake worth a warning
    for (const a of axes) {
      if (a.from === m.node && !points.some((p) => p.values.some((v) => v.axis === a))) {
        this.report(a.entry.key, 'warning', 'not-applicable', `'${a.path}' has no effect in any run of this sweep (see its "Only applies when" in the key reference), so its values make no difference.`, [removeEntryFix(this.text, a.entry, `Remove '${a.path}'`)]);
      }
    }
    const outer = this.diagnostics.splice(0);
    const found = new Map<string, { d: Diagnostic; runs: string[] }>();
    const sweptSpans = new Set(axes.flatMap((a) => a.items.map((i) => `${i.start}:${i.end}`)));
    for (const p of points) {
      const run = runModel(p.values, p.name);
      m.runs.push(run);
      this.checkRules(run);
      this.checkData(run);
      for (const d of this.diagnostics.splice(0)) {
        const k = `${d.start}:${d.end}:${d.code}:${d.message}`;
        const f = found.get(k) ?? { d, runs: [] };
        f.runs.push(p.name);
        found.set(k, f);
      }
    }
    m.data = m.runs[0]?.data;
    this.diagnostics.push(...outer);
    for (const { d, runs } of found.values()) {
      if (runs.length === points.length) this.diagnostics.push(d);
      else if (d.code !== 'not-applicable' || sweptSpans.has(`${d.start}:${d.end}`)) this.diagnostics.push({ ...d, message: `${d.message} (${runsText(runs, points.length)})` });
    }
  }

  // ---- data files ---------------------------------------------------------------------

  private checkData(m: ExperimentModel): void {
    const sourceSetting = m.settings.get('data.source');
    const source = sourceSetting?.entry.value;
    if (!source || source.kind !== 'call' || !source.args?.[0] || source.args[0].kind !== 'string') return;
    const arg = source.args[0];
    const own = sourceSetting!.from === m.node;
    if (source.callee.name === 'builtin') {
      const info = lookupOwn(BUILTIN_DATASETS, arg.value);
      if (info) m.data = { kind: 'builtin', images: 10000, annotatedImages: 10000, classes: info.classes };
      return;
    }
    if (source.callee.name !== 'folder' || !this.options.filePath) return;
    // all experiments of a file share its folder, so inherited paths resolve the same way
    const baseDir = path.dirname(this.options.filePath);
    const allowOutside = m.lookup('allow_outside_workspace') === 'true';
    const root = path.resolve(baseDir, arg.value);
    // only the experiment that writes a path reports on it; children inherit the same files
    const report = (span: Span, sev: Severity, code: DiagnosticCode, msg: string) => {
      if (own || span !== arg) this.report(span, sev, code, msg);
    };
    if (!this.checkInsideWorkspace(root, arg, allowOutside, report)) return;
    const kind = this.scanner.kind(root);
    if (kind !== 'dir') {
      report(arg, 'error', 'path-not-found', kind === 'file' ? `'${arg.value}' is a file; folder(…) needs a folder.` : `Folder '${arg.value}' not found (looked in ${root}). Paths are relative to this .sgt file.`);
      return;
    }
    const sub = (key: string): { abs: string; span: Span; set: boolean } | undefined => {
      const s = m.settings.get(`data.${key}`);
      const v = s?.entry.value;
      const rel = v?.kind === 'string' ? v.value : (parseValueText(String(keySchemaAt(`data.${key}`)?.default ?? '""')) as { value?: string } | undefined)?.value;
      if (rel === undefined) return undefined;
      return { abs: path.resolve(root, rel), span: v && s!.from === m.node ? v : arg, set: !!v };
    };
    const images = sub('images')!;
    const labels = sub('labels')!;
    const saliency = sub('saliency')!;
    for (const p of [images, labels, saliency]) if (!this.checkInsideWorkspace(p.abs, p.span, allowOutside, report)) return;

    const summary: DataSummary = { kind: 'folder', root, images: 0, annotatedImages: 0, imagesDir: images.abs, saliencyDir: saliency.abs };
    m.data = summary;
    if (this.scanner.kind(images.abs) !== 'dir') {
      report(images.span, 'error', 'path-not-found', `No images folder: expected '${path.relative(baseDir, images.abs) || '.'}' (set \`images = "…"\` in the data block if it is elsewhere).`);
      return;
    }
    const scan = this.scanner.scanImages(images.abs);
    summary.images = scan.images.length;
    if (scan.images.length === 0) {
      report(images.span, 'error', 'no-images', `No PNG or JPEG images in '${path.relative(baseDir, images.abs)}' (nor in its sub-folders).`);
      return;
    }
    // labels: a CSV, or one sub-folder per class
    const csv = this.scanner.kind(labels.abs) === 'file' ? this.scanner.csvLabels(labels.abs) : undefined;
    if (csv) summary.classes = csv.labels.size;
    else if (scan.classFolders.length >= 2) summary.classes = scan.classFolders.length;
    else report(labels.span, 'error', 'no-labels', `No labels: expected '${path.relative(baseDir, labels.abs)}' (columns file,label) or one sub-folder per class in '${path.relative(baseDir, images.abs)}'.`);
    // multi-label labels.csv (`cat;dog`): both engines train it (data/multi-label.ts)
    if (m.lookup('data.annotation') === 'boxes') {
      this.checkBoxesFile(m, sub('boxes'), images.abs, csv ? labels.abs : undefined, baseDir, allowOutside, report, summary, own ? arg : undefined);
      return;
    }

    // human saliency coverage
    const loss = m.lookup('guidance.loss') ?? 'none';
    const needsSaliency = loss !== 'none' && m.lookup('data.annotation') !== 'boxes';
    if (this.scanner.kind(saliency.abs) !== 'dir') {
      if (needsSaliency) report(saliency.span, 'error', 'path-not-found', `No saliency folder: expected '${path.relative(baseDir, saliency.abs)}' with one grayscale PNG per image (same base name). \`loss = ${loss}\` needs human saliency.`);
      return;
    }
    const maps = this.scanner.scanSaliency(saliency.abs).baseNames;
    summary.annotatedImages = scan.images.filter((f) => maps.has(baseName(f))).length;
    const wanted = parseFloat(m.lookup('data.annotated') ?? '100');
    const have = (100 * summary.annotatedImages) / summary.images;
    if (needsSaliency && have + 1e-9 < wanted) {
      const annotatedSetting = this.own(m, 'data.annotated');
      // attach it where this experiment made the difference: its own `annotated`, data source, or guidance loss
      const span = annotatedSetting?.entry.value ?? (own ? arg : undefined) ?? this.own(m, 'guidance.loss')?.entry.value;
      if (span) {
        this.report(span, 'warning', 'annotation-coverage', `Only ${summary.annotatedImages} of ${summary.images} images (${fmtPct(have)}) have a saliency map in '${path.relative(baseDir, saliency.abs)}', but annotated = ${fmtPct(wanted)}: the rest train on classification only. Lower 'annotated' or add maps.`);
      }
    }
  }

  /** `boxes = "…"` with `annotation = boxes`: the file exists, and its problems (data/boxes.ts) by line; coverage as for saliency maps. */
  private checkBoxesFile(
    m: ExperimentModel,
    boxes: { abs: string; span: Span } | undefined,
    imagesDir: string,
    labelsFile: string | undefined,
    baseDir: string,
    allowOutside: boolean,
    report: (span: Span, sev: Severity, code: DiagnosticCode, msg: string) => void,
    summary: DataSummary,
    sourceSpan: Span | undefined,
  ): void {
    if (!boxes || !this.checkInsideWorkspace(boxes.abs, boxes.span, allowOutside, report)) return;
    const name = path.relative(baseDir, boxes.abs);
    if (this.scanner.kind(boxes.abs) !== 'file') {
      report(boxes.span, 'error', 'path-not-found', `Boxes file '${name}' not found (looked in ${boxes.abs}; the path is relative to the data folder).`);
      return;
    }
    const scan = this.scanner.scanBoxes(boxes.abs, imagesDir, labelsFile);
    if (!scan) return;
    const shown = scan.problems.slice(0, 5);
    for (const p of shown) report(boxes.span, 'error', 'bad-boxes', `${name}:${p.line}:${p.column}: ${p.message}`);
    if (scan.problemCount > shown.length) report(boxes.span, 'error', 'bad-boxes', `${name}: ${scan.problemCount - shown.length} more problems (run \`sgt check\` after fixing these).`);
    summary.annotatedImages = scan.boxedImages;
    summary.boxesFile = boxes.abs;
    const wanted = parseFloat(m.lookup('data.annotated') ?? '100');
    const have = summary.images ? (100 * scan.boxedImages) / summary.images : 0;
    const span = this.own(m, 'data.annotated')?.entry.value ?? sourceSpan ?? this.own(m, 'guidance.loss')?.entry.value;
    if ((m.lookup('guidance.loss') ?? 'none') !== 'none' && have + 1e-9 < wanted && span) {
      this.report(span, 'warning', 'annotation-coverage', `Only ${scan.boxedImages} of ${summary.images} images (${fmtPct(have)}) have boxes in '${name}', but annotated = ${fmtPct(wanted)}: the rest train on classification only. Lower 'annotated' or add boxes.`);
    }
  }

  private checkInsideWorkspace(abs: string, span: Span, allowOutside: boolean, report: (span: Span, sev: Severity, code: DiagnosticCode, msg: string) => void): boolean {
    const ws = this.options.workspaceRoot;
    if (!ws || allowOutside) return true;
    const real = this.scanner.realPath(abs);
    const wsReal = this.scanner.realPath(ws);
    if (isInside(ws, abs) && isInside(wsReal, real)) return true;
    report(span, 'error', 'path-outside-workspace', `'${abs}' is outside the workspace folder ${ws}${real !== abs ? ` (it leads to ${real})` : ''}. Move the data into the workspace, or set \`allow_outside_workspace = true\` in the experiment if you trust this file.`);
    return false;
  }
}

// ---- helpers --------------------------------------------------------------------------

function collectSettings(block: Block, prefix: string, from: Experiment, out: Map<string, Setting>): void {
  for (const e of block.entries) {
    if (e.kind === 'assignment') {
      if (e.value) out.set(prefix + e.key.name, { entry: e, from });
    } else {
      collectSettings(e.block, `${prefix}${e.key.name}.`, from, out);
    }
  }
}

/** The effective value of a key in DSL notation, falling back to the schema default. */
function makeLookup(settings: Map<string, Setting>): (p: string) => string | undefined {
  const resolving = new Set<string>();
  const lookup = (p: string): string | undefined => {
    const s = settings.get(p);
    if (s?.entry.value) {
      const v = s.entry.value;
      if (v.kind === 'word') return v.name;
      if (v.kind === 'number') return String(v.value);
      if (v.kind === 'string') return v.value;
      return printValue(v);
    }
    const schema = keySchemaAt(p);
    if (!schema?.default || resolving.has(p)) return undefined;
    resolving.add(p);
    try {
      const d = typeof schema.default === 'function' ? schema.default(lookup) : schema.default;
      const v = d === undefined ? undefined : parseValueText(d);
      if (!v) return d;
      if (v.kind === 'word') return v.name;
      if (v.kind === 'number') return String(v.value);
      if (v.kind === 'string') return v.value;
      return printValue(v);
    } finally {
      resolving.delete(p);
    }
  };
  return lookup;
}

/** The key that decides each applicability dimension. */
export const DIMENSION_KEYS: Record<keyof Applicability, string> = {
  loss: 'guidance.loss',
  attribution: 'guidance.attribution',
  engine: 'train.engine',
  arch: 'model.arch',
  source: 'data.source',
};

/** The effective loss, attribution, engine, arch and source kind of an experiment. */
export function applicabilityOf(m: ExperimentModel): Record<keyof Applicability, string | undefined> {
  const out = {} as Record<keyof Applicability, string | undefined>;
  for (const [dim, key] of Object.entries(DIMENSION_KEYS) as [keyof Applicability, string][]) {
    const v = m.lookup(key);
    out[dim] = dim === 'source' ? v?.match(/^[A-Za-z_]+/)?.[0] : v;
  }
  return out;
}

/** True unless the key's `appliesTo` excludes the experiment's current settings. */
export function keyApplies(k: KeySchema, current: Record<keyof Applicability, string | undefined>): boolean {
  for (const [dim, allowed] of Object.entries(k.appliesTo ?? {}) as [keyof Applicability, readonly string[]][]) {
    const v = current[dim];
    if (v !== undefined && isKnown(dim, v) && !allowed.includes(v)) return false;
  }
  return true;
}

function isKnown(dim: keyof Applicability, value: string): boolean {
  const t = keySchemaAt(DIMENSION_KEYS[dim])?.type;
  if (t?.type === 'enum') return lookupOwn(t.values, value) !== undefined;
  if (t?.type === 'call') return lookupOwn(t.variants, value) !== undefined;
  return false;
}

function parseList(text: string | undefined): string[] {
  if (!text) return [];
  const v = parseValueText(text);
  return v?.kind === 'list' ? v.items.map((i) => (i.kind === 'word' ? i.name : printValue(i))) : [];
}

function replaceFix(span: Span, newText: string, title: string): Fix {
  return { title, edits: [{ start: span.start, end: span.end, newText }], preferred: true };
}

/** Removes an entry together with its line when it is alone on it. */
export function removeEntryFix(text: string, entry: Span, title: string): Fix {
  let start = entry.start;
  let end = entry.end;
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = text.indexOf('\n', end);
  if (lineEnd < 0) lineEnd = text.length;
  if (text.slice(lineStart, start).trim() === '' && text.slice(end, lineEnd).trim() === '') {
    start = lineStart;
    end = Math.min(text.length, lineEnd + 1);
  } else {
    while (end < text.length && (text[end] === ' ' || text[end] === '\t')) end++;
  }
  return { title, edits: [{ start, end, newText: '' }] };
}

function numberEnd(v: NumberValue): number {
  return v.start + v.raw.length;
}

function indentOf(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const m = /^[ \t]*/.exec(text.slice(lineStart, offset));
  return m ? m[0] : '';
}

function shorten(s: string): string {
  return s.length > 40 ? s.slice(0, 39) + '…' : s;
}

/** `in run a@seed=1`, `in 2 of 6 runs: a@seed=1, a@seed=2`, `in 5 of 6 runs: a@…, a@…, a@…, …` */
function runsText(runs: readonly string[], total: number): string {
  if (runs.length === 1) return `in run ${runs[0]}`;
  return `in ${runs.length} of ${total} runs: ${runs.slice(0, 3).join(', ')}${runs.length > 3 ? ', …' : ''}`;
}

function fmtPct(x: number): string {
  return `${+x.toFixed(1)}%`;
}
