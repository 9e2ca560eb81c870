/**
 * What is at the cursor in a `.sgt` file: the experiment, the block path, and
 * whether the cursor sits where a key, a value, a unit, a string, an
 * experiment name or an `extends` target goes.
 *
 * Pure and syntax-only (no schema): completion, hover and navigation in the
 * language server all start from this one answer, so they agree on what the
 * cursor is on. Works on half-typed text because the parser keeps partial
 * entries (`sou`, `loss =`) in the tree.
 */
import type { Assignment, Block, CallValue, Entry, Experiment, Identifier, ListValue, NumberValue, SgtFile, Span, StringValue, Value } from './ast';

/** One step from an assignment's value down to the part under the cursor. */
export type ValueStep =
  /** Argument `index` of the call `callee(…)`. */
  | { kind: 'arg'; callee: string; index: number }
  /** An item of a list. */
  | { kind: 'item'; list: ListValue };

/** Inside a block of an experiment. */
export interface InBlock {
  experiment: Experiment;
  /** Block names from the experiment body down, e.g. `['train']`; call options add the key and the variant: `['train', 'optimizer', 'adam']`. */
  blockPath: string[];
  block: Block;
}

/** Somewhere in the value of `key = …`. */
export interface AtValue extends InBlock {
  key: string;
  /** `blockPath` and `key`, dotted: `guidance.alpha`, `train.optimizer.adam.lr`. */
  keyPath: string;
  entry: Assignment;
  /** From the assignment's value down to the cursor; empty at the value itself. */
  trail: ValueStep[];
}

/** Where a key (or a nested block) can be written; `entry` is set when the cursor is on an existing key. */
export interface KeyContext extends InBlock {
  kind: 'key';
  entry?: Entry;
  /** The part of the word before the cursor. */
  prefix: string;
  /** The word a completion replaces (empty at the cursor when there is none). */
  range: Span;
}

/** On a word, number, call name or empty value slot; `node` is what is under the cursor, absent at an empty slot. */
export interface ValueContext extends AtValue {
  kind: 'value';
  node?: Value;
  /** True when the cursor is on the name of a call (`adam` in `adam { … }`). */
  onCallee: boolean;
  prefix: string;
  range: Span;
}

/** Inside the quotes of a string value or argument. */
export interface StringContext extends AtValue {
  kind: 'string';
  node: StringValue;
  /** Raw text between the opening quote and the cursor. */
  prefix: string;
  /** The string's contents, without the quotes. */
  range: Span;
}

/** On the unit of a number, or after a number and a space. */
export interface UnitContext extends AtValue {
  kind: 'unit';
  number: NumberValue;
  prefix: string;
  range: Span;
}

export type CursorContext =
  /** Nothing to offer (between a key and its `=`, after a closed list …). */
  | { kind: 'none' }
  | { kind: 'comment' }
  /** Outside every experiment, where `experiment NAME { … }` can start. */
  | { kind: 'topLevel'; prefix: string; range: Span }
  /** On (or typing) the name after `experiment`. */
  | { kind: 'experimentName'; experiment: Experiment; name?: Identifier; prefix: string; range: Span }
  /** After the experiment name, where `extends` can go. */
  | { kind: 'afterName'; experiment: Experiment; prefix: string; range: Span }
  /** On (or typing) the experiment named after `extends`. */
  | { kind: 'extends'; experiment: Experiment; target?: Identifier; prefix: string; range: Span }
  | KeyContext
  | ValueContext
  | StringContext
  | UnitContext;

export function contextAt(file: SgtFile, text: string, offset: number): CursorContext {
  offset = Math.max(0, Math.min(offset, text.length));
  if (inComment(text, offset)) return { kind: 'comment' };
  const exps = file.experiments;
  for (let i = 0; i < exps.length; i++) {
    const e = exps[i];
    if (offset < e.start) break;
    const limit = i + 1 < exps.length ? exps[i + 1].start : text.length + 1;
    if (offset >= limit) continue;
    const ctx = inExperiment(e, text, offset);
    if (ctx) return ctx;
    break;
  }
  const word = wordBefore(text, offset);
  return { kind: 'topLevel', prefix: word.prefix, range: word.range };
}

/** The span of the `extends` keyword of an experiment, if written. */
export function extendsKeywordSpan(text: string, e: Experiment): Span | undefined {
  const from = e.name?.end ?? e.start + 'experiment'.length;
  const to = e.extends?.start ?? (hasBody(text, e) ? e.body.start : e.end);
  const m = /(^|[^\w.])extends(?![\w.])/.exec(text.slice(from, Math.max(from, to)));
  if (!m) return undefined;
  const start = from + m.index + m[1].length;
  return { start, end: start + 'extends'.length };
}

// ---- experiments ----------------------------------------------------------------------

function hasBody(text: string, e: Experiment): boolean {
  return e.body.start >= e.start && text[e.body.start] === '{';
}

/** Undefined when the cursor is after the experiment's closing brace. */
function inExperiment(e: Experiment, text: string, offset: number): CursorContext | undefined {
  const body = e.body;
  if (hasBody(text, e) && offset > body.start) {
    if (body.closed && offset >= body.end) return undefined;
    return inBlock({ experiment: e, blockPath: [], block: body }, text, offset);
  }
  if (offset === e.start) return undefined; // before the `experiment` keyword
  if (e.name && offset >= e.name.start && offset <= e.name.end) {
    return { kind: 'experimentName', experiment: e, name: e.name, prefix: text.slice(e.name.start, offset), range: span(e.name) };
  }
  if (e.extends && offset >= e.extends.start && offset <= e.extends.end) {
    return { kind: 'extends', experiment: e, target: e.extends, prefix: text.slice(e.extends.start, offset), range: span(e.extends) };
  }
  // half-typed header: look at the words before the cursor
  const words = [...text.slice(e.start, offset).matchAll(/[A-Za-z_][\w.]*/g)];
  const last = words[words.length - 1];
  const partial = last && e.start + last.index + last[0].length === offset ? last : undefined;
  const before = (partial ? words.slice(0, -1) : words).map((m) => m[0]);
  const word = wordBefore(text, offset);
  if (before.length === 1 && before[0] === 'experiment') return { kind: 'experimentName', experiment: e, prefix: word.prefix, range: word.range };
  if (before[before.length - 1] === 'extends') return { kind: 'extends', experiment: e, prefix: word.prefix, range: word.range };
  if (before.length === 2 && before[0] === 'experiment') return { kind: 'afterName', experiment: e, prefix: word.prefix, range: word.range };
  return { kind: 'none' };
}

// ---- blocks and entries -------------------------------------------------------------

function inBlock(where: InBlock, text: string, offset: number): CursorContext {
  let entry: Entry | undefined;
  for (const x of where.block.entries) {
    if (x.start <= offset) entry = x;
    else break;
  }
  const emptyKey = (): KeyContext => ({ kind: 'key', ...where, prefix: '', range: { start: offset, end: offset } });
  if (!entry) return emptyKey();
  if (offset <= entry.key.end) {
    return { kind: 'key', ...where, entry, prefix: text.slice(entry.key.start, offset), range: span(entry.key) };
  }
  if (entry.kind === 'blockEntry') {
    const b = entry.block;
    if (offset <= b.start) return newlineBetween(text, entry.key.end, offset) ? emptyKey() : { kind: 'none' };
    if (!b.closed || offset < b.end) return inBlock({ ...where, blockPath: [...where.blockPath, entry.key.name], block: b }, text, offset);
    return emptyKey();
  }
  const eq = skipSpaces(text, entry.key.end);
  if (text[eq] !== '=') return newlineBetween(text, entry.key.end, offset) ? emptyKey() : { kind: 'none' };
  if (offset <= eq) return { kind: 'none' };
  const at: AtValue = { ...where, key: entry.key.name, keyPath: [...where.blockPath, entry.key.name].join('.'), entry, trail: [] };
  const value = entry.value;
  if (!value || offset < value.start) {
    return newlineBetween(text, eq, offset) ? emptyKey() : emptySlot(at, offset);
  }
  if (offset <= value.end) return inValue(value, at, text, offset);
  // after the value: a unit may follow a bare number on the same line; anything else starts a new entry
  if (value.kind === 'number' && !value.unit && /^[ \t]+$/.test(text.slice(value.end, offset))) {
    return { kind: 'unit', ...at, number: value, prefix: '', range: { start: offset, end: offset } };
  }
  return emptyKey();
}

function inValue(v: Value, at: AtValue, text: string, offset: number): CursorContext {
  switch (v.kind) {
    case 'word':
      return { kind: 'value', ...at, node: v, onCallee: false, prefix: text.slice(v.start, offset), range: span(v) };
    case 'number':
      if (v.unit && offset >= v.unit.start) {
        return { kind: 'unit', ...at, number: v, prefix: text.slice(v.unit.start, offset), range: span(v.unit) };
      }
      return { kind: 'value', ...at, node: v, onCallee: false, prefix: text.slice(v.start, offset), range: span(v) };
    case 'string': {
      const terminated = v.end - v.start >= 2 && text[v.end - 1] === '"';
      const contentEnd = terminated ? v.end - 1 : v.end;
      if (offset === v.start || (terminated && offset === v.end)) {
        return { kind: 'value', ...at, node: v, onCallee: false, prefix: '', range: { start: offset, end: offset } };
      }
      return { kind: 'string', ...at, node: v, prefix: text.slice(v.start + 1, offset), range: { start: v.start + 1, end: contentEnd } };
    }
    case 'list': {
      if (offset === v.start) return emptySlot(at, offset);
      if (v.closed && offset >= v.end) return { kind: 'none' };
      const item = v.items.find((x) => offset >= x.start && offset <= x.end);
      const inner: AtValue = { ...at, trail: [...at.trail, { kind: 'item', list: v }] };
      return item ? inValue(item, inner, text, offset) : emptySlot(inner, offset);
    }
    case 'call':
      return inCall(v, at, text, offset);
  }
}

function inCall(v: CallValue, at: AtValue, text: string, offset: number): CursorContext {
  if (offset <= v.callee.end) {
    return { kind: 'value', ...at, node: v, onCallee: true, prefix: text.slice(v.callee.start, offset), range: span(v.callee) };
  }
  if (v.options && offset > v.options.start && (!v.options.closed || offset < v.options.end)) {
    const blockPath = [...at.blockPath, at.key, v.callee.name];
    return inBlock({ experiment: at.experiment, blockPath, block: v.options }, text, offset);
  }
  if (v.args) {
    const open = skipSpaces(text, v.callee.end);
    const lastArg = v.args[v.args.length - 1];
    const afterArgs = skipSpaces(text, lastArg ? lastArg.end : open + 1);
    const close = text[afterArgs] === ')' ? afterArgs : undefined;
    const argsEnd = close ?? v.options?.start ?? v.end;
    if (offset > open && offset <= argsEnd) {
      const index = v.args.findIndex((a) => offset >= a.start && offset <= a.end);
      if (index >= 0) return inValue(v.args[index], { ...at, trail: [...at.trail, { kind: 'arg', callee: v.callee.name, index }] }, text, offset);
      const slot = v.args.filter((a) => a.end < offset).length;
      return emptySlot({ ...at, trail: [...at.trail, { kind: 'arg', callee: v.callee.name, index: slot }] }, offset);
    }
  }
  return { kind: 'none' };
}

function emptySlot(at: AtValue, offset: number): ValueContext {
  return { kind: 'value', ...at, onCallee: false, prefix: '', range: { start: offset, end: offset } };
}

// ---- text helpers -----------------------------------------------------------------------

function span(s: Span): Span {
  return { start: s.start, end: s.end };
}

function skipSpaces(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function newlineBetween(text: string, from: number, to: number): boolean {
  return /[\r\n]/.test(text.slice(from, to));
}

/** The identifier characters right before the cursor. */
function wordBefore(text: string, offset: number): { prefix: string; range: Span } {
  let start = offset;
  while (start > 0 && /[\w.]/.test(text[start - 1])) start--;
  let end = offset;
  while (end < text.length && /[\w.]/.test(text[end])) end++;
  return { prefix: text.slice(start, offset), range: { start, end } };
}

/** True when a `#` outside a string precedes the cursor on its line (strings never span lines). */
function inComment(text: string, offset: number): boolean {
  let i = offset;
  while (i > 0 && text[i - 1] !== '\n' && text[i - 1] !== '\r') i--;
  let inString = false;
  for (; i < offset; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '#') return true;
  }
  return false;
}
