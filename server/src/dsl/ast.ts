/**
 * The syntax tree of a `.sgt` file.
 *
 * Every node carries its source range as character offsets (`start` inclusive,
 * `end` exclusive). Offsets, not line/column pairs, because they are cheap to
 * compute while parsing and every consumer (diagnostics, LSP, CLI) converts them
 * with one shared line index (see `text.ts`).
 */

export interface Span {
  start: number;
  end: number;
}

export interface Identifier extends Span {
  kind: 'identifier';
  name: string;
}

/** The whole file: zero or more experiments. */
export interface SgtFile extends Span {
  kind: 'file';
  experiments: Experiment[];
}

/** `experiment NAME [extends BASE] { … }` */
export interface Experiment extends Span {
  kind: 'experiment';
  /** Missing when the user has typed only `experiment`. */
  name?: Identifier;
  extends?: Identifier;
  body: Block;
}

/** `{ entry* }` — the body of an experiment, a nested block, or a call's options. */
export interface Block extends Span {
  kind: 'block';
  entries: Entry[];
  /** False when the closing brace is missing (the block ran to end of file). */
  closed: boolean;
}

/** `key = value` */
export interface Assignment extends Span {
  kind: 'assignment';
  key: Identifier;
  /** Missing when the user typed `key =` and nothing (yet). */
  value?: Value;
}

/** `key { … }` — a nested block such as `data { … }`. */
export interface BlockEntry extends Span {
  kind: 'blockEntry';
  key: Identifier;
  block: Block;
}

export type Entry = Assignment | BlockEntry;

export interface StringValue extends Span {
  kind: 'string';
  value: string;
}

/** A number with an optional unit: `0.5`, `100%`, `50 steps`, `2 epochs`, `224 px`. */
export interface NumberValue extends Span {
  kind: 'number';
  value: number;
  /** The literal as written, so formatting never changes `1e-3` into `0.001`. */
  raw: string;
  unit?: Identifier | { kind: 'percent'; start: number; end: number };
}

/** A bare word: an enum value (`cyborg`, `small_cnn`) or `true` / `false`. */
export interface WordValue extends Span {
  kind: 'word';
  name: string;
}

/** `name(args…)`, `name { … }` or `name(args…) { … }`, e.g. `builtin("decoy-mnist")`, `adam { lr = 0.001 }`. */
export interface CallValue extends Span {
  kind: 'call';
  callee: Identifier;
  /** Present when written with parentheses, even `name()`. */
  args?: Value[];
  options?: Block;
}

/** `[a, b, c]` (commas optional). */
export interface ListValue extends Span {
  kind: 'list';
  items: Value[];
  closed: boolean;
}

export type Value = StringValue | NumberValue | WordValue | CallValue | ListValue;

export type Node = SgtFile | Experiment | Block | Entry | Value | Identifier;

export function unitName(n: NumberValue): string | undefined {
  if (!n.unit) return undefined;
  return n.unit.kind === 'percent' ? '%' : n.unit.name;
}
