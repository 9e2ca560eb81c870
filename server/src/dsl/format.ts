/**
 * The `.sgt` formatter: one canonical style, idempotent, meaning-preserving,
 * and it never loses a comment.
 *
 * How it works:
 *  1. The AST is laid out as lines of "atoms" — printed pieces that each map to
 *     a source range containing no comment (a key, `= value`, `[`, `}` …).
 *     A construct with a comment inside is broken into several atoms / lines,
 *     so every comment falls between two atoms.
 *  2. Each comment is attached to an atom: an end-of-line comment to the atom
 *     before it, an own-line comment to the atom after it.
 *  3. Rendering puts own-line comments above their atom's line and an
 *     end-of-line comment at the end of its line. A comment attached anywhere
 *     else in a line (e.g. between `=` and the value) moves above the line, so
 *     the comments keep their order.
 *
 * Layout decisions depend only on the AST and on where comments are relative to
 * tokens, never on the input's whitespace — that is what makes it idempotent.
 * As a last safety net the output is re-parsed and compared with the input;
 * a formatter bug then means "no formatting", never a changed experiment.
 */
import type { Block, CallValue, Entry, Experiment, SgtFile, Value } from './ast';
import type { Comment } from './lexer';
import { parse } from './parser';
import { printInlineBlock, printValue } from './values';

export interface FormatOptions {
  /** One level of indentation; two spaces by default. */
  indent?: string;
}

/** Call options stay inline (`adam { lr = 0.001 }`) only while the line fits in this width. */
export const MAX_INLINE_WIDTH = 100;

/** Formats `.sgt` text; undefined when it has syntax errors (broken text is never reformatted). */
export function format(text: string, options: FormatOptions = {}): string | undefined {
  const parsed = parse(text);
  if (parsed.diagnostics.length > 0) return undefined;
  const out = new Layout(text, parsed.comments, options.indent ?? '  ').file(parsed.file).render(lineEnding(text));
  const result = (text.charCodeAt(0) === 0xfeff ? '\ufeff' : '') + out;
  const check = parse(result);
  if (check.diagnostics.length > 0 || !sameMeaning(parsed.file, parsed.comments, check.file, check.comments)) return undefined;
  return result;
}

// ---- layout -----------------------------------------------------------------------------

interface Atom {
  /** Printed text, including the separator before it (` = `, ` {`). */
  text: string;
  start: number;
  end: number;
  leading: Comment[];
  trailing?: Comment;
}

interface Line {
  depth: number;
  atoms: Atom[];
  /** An experiment, entry or list item starts here: a blank line the user left before it is kept. */
  item: boolean;
  /** A closing `}` / `]` / `)` starts here: comments above it are indented like the entries. */
  closer: boolean;
  /** The line ends with `{`, `[` or `(`: no blank line after it. */
  opener: boolean;
  /** For a single-line assignment, the block it is in (`=` is aligned within runs of those). */
  alignGroup?: number;
  /** Always a blank line before it (between experiments). */
  forceBlank?: boolean;
}

interface RenderedComment {
  text: string;
  blank: boolean;
}

class Layout {
  private readonly lines: Line[] = [];
  private line!: Line;
  private groups = 0;
  private readonly commentStarts: number[];

  constructor(
    private readonly text: string,
    private readonly comments: Comment[],
    private readonly indent: string,
  ) {
    this.commentStarts = comments.map((c) => c.start);
  }

  // ---- building lines --------------------------------------------------------------------

  private startLine(depth: number, kind: 'item' | 'closer'): Line {
    this.line = { depth, atoms: [], item: kind === 'item', closer: kind === 'closer', opener: false };
    this.lines.push(this.line);
    return this.line;
  }

  private add(text: string, start: number, end: number, opener = false): void {
    this.line.atoms.push({ text, start, end, leading: [] });
    this.line.opener = opener;
  }

  /** Appends text (a list item's comma) to the last atom printed. */
  private appendToLast(text: string): void {
    const atoms = this.line.atoms;
    atoms[atoms.length - 1].text += text;
    this.line.opener = false;
  }

  private currentWidth(): number {
    return this.line.depth * this.indent.length + this.line.atoms.reduce((n, a) => n + a.text.length, 0);
  }

  file(f: SgtFile): this {
    f.experiments.forEach((e, i) => this.experiment(e, i > 0));
    return this;
  }

  private experiment(e: Experiment, notFirst: boolean): void {
    const line = this.startLine(0, 'item');
    line.forceBlank = notFirst;
    this.add('experiment', e.start, e.start + 'experiment'.length);
    if (e.name) this.add(' ' + e.name.name, e.name.start, e.name.end);
    if (e.extends) {
      const kw = this.nextSignificant(e.name ? e.name.end : e.start + 'experiment'.length);
      this.add(' extends', kw, kw + 'extends'.length);
      this.add(' ' + e.extends.name, e.extends.start, e.extends.end);
    }
    this.block(e.body, 0);
  }

  /** Prints ` { … }` after what the current line holds; entries go one level deeper. */
  private block(b: Block, depth: number): void {
    if (b.entries.length === 0 && !this.hasCommentIn(b.start, b.end)) {
      this.add(' {}', b.start, b.end);
      return;
    }
    this.add(' {', b.start, b.start + 1, true);
    const group = ++this.groups;
    for (const entry of b.entries) this.entry(entry, depth + 1, group);
    this.startLine(depth, 'closer');
    this.add('}', b.end - 1, b.end);
  }

  private entry(e: Entry, depth: number, group: number): void {
    const line = this.startLine(depth, 'item');
    this.add(e.key.name, e.key.start, e.key.end);
    if (e.kind === 'blockEntry') {
      this.block(e.block, depth);
      return;
    }
    if (e.value) this.value(e.value, depth, ' = ');
    if (this.line === line) line.alignGroup = group;
  }

  /** Prints a value after `sep`; values with comments inside are spread over several lines. */
  private value(v: Value, depth: number, sep: string): void {
    switch (v.kind) {
      case 'list':
        if (!this.hasCommentIn(v.start, v.end)) {
          this.add(sep + printValue(v), v.start, v.end);
          return;
        }
        this.add(sep + '[', v.start, v.start + 1, true);
        this.items(v.items, depth);
        this.startLine(depth, 'closer');
        this.add(']', v.end - 1, v.end);
        return;
      case 'call':
        this.call(v, depth, sep);
        return;
      default:
        // strings, words and numbers (a unit is always on the number's line) hold no comments
        this.add(sep + printValue(v), v.start, v.end);
    }
  }

  private items(items: Value[], depth: number): void {
    for (const item of items) {
      this.startLine(depth + 1, 'item');
      this.value(item, depth + 1, '');
      this.appendToLast(',');
    }
  }

  private call(c: CallValue, depth: number, sep: string): void {
    this.add(sep + c.callee.name, c.callee.start, c.callee.end);
    if (c.args) {
      const open = this.nextSignificant(c.callee.end);
      const close = this.closingParen(c.args.length ? c.args[c.args.length - 1].end : open + 1);
      if (!this.hasCommentIn(open, close + 1)) {
        this.add(`(${c.args.map(printValue).join(', ')})`, open, close + 1);
      } else {
        this.add('(', open, open + 1, true);
        this.items(c.args, depth);
        this.startLine(depth, 'closer');
        this.add(')', close, close + 1);
      }
    }
    const o = c.options;
    if (!o) return;
    const inline = ' ' + printInlineBlock(o);
    // the width is measured before `=` alignment, so the decision never depends on the neighbours
    if (!this.hasCommentIn(o.start, o.end) && !o.entries.some(hasNestedBlock) && this.currentWidth() + inline.length <= MAX_INLINE_WIDTH) {
      this.add(inline, o.start, o.end);
    } else {
      this.block(o, depth);
    }
  }

  // ---- source scanning -------------------------------------------------------------------

  private hasCommentIn(start: number, end: number): boolean {
    const i = lowerBound(this.commentStarts, start);
    return i < this.commentStarts.length && this.commentStarts[i] < end;
  }

  /** The next offset at or after `i` that is neither whitespace nor inside a comment. */
  private nextSignificant(i: number): number {
    const t = this.text;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (isSpace(c) || c === 10 || c === 13) i++;
      else if (c === 35 /* # */) {
        while (i < t.length && t.charCodeAt(i) !== 10 && t.charCodeAt(i) !== 13) i++;
      } else break;
    }
    return i;
  }

  /** Offset of the `)` closing a call's arguments, searched from after the last argument. */
  private closingParen(from: number): number {
    let i = this.nextSignificant(from);
    while (this.text[i] === ',') i = this.nextSignificant(i + 1);
    return i;
  }

  /** True when a line break (two or more) separates `offset` from what precedes it: the user left a blank line. */
  private blankBefore(offset: number): boolean {
    let breaks = 0;
    for (let i = offset - 1; i >= 0; i--) {
      const c = this.text.charCodeAt(i);
      if (c === 10) breaks++;
      else if (c === 13) {
        if (this.text.charCodeAt(i + 1) !== 10) breaks++;
      } else if (!isSpace(c)) return breaks >= 2;
    }
    return false; // nothing before: the start of the file
  }

  /** True when the comment follows code on its line (an end-of-line comment). */
  private isEndOfLine(c: Comment): boolean {
    for (let i = c.start - 1; i >= 0; i--) {
      const ch = this.text.charCodeAt(i);
      if (ch === 10 || ch === 13) return false;
      if (!isSpace(ch)) return true;
    }
    return false;
  }

  // ---- comments and rendering ------------------------------------------------------------------

  render(eol: string): string {
    const indent = this.indent;
    const atoms = this.lines.flatMap((l) => l.atoms);
    const ends = atoms.map((a) => a.end);
    const starts = atoms.map((a) => a.start);
    const atEnd: Comment[] = [];
    let previousEnd = -1;
    for (const c of this.comments) {
      const after = previousEnd;
      previousEnd = c.end;
      if (this.isEndOfLine(c)) {
        const k = upperBound(ends, c.start) - 1;
        // only the first comment after an atom can trail it: one between them is already attached to the next atom
        if (k >= 0 && after <= atoms[k].end) {
          atoms[k].trailing = c;
          continue;
        }
      }
      const k = lowerBound(starts, c.end);
      if (k < atoms.length) atoms[k].leading.push(c);
      else atEnd.push(c);
    }

    // comments above each line, the end-of-line comment, and where blank lines go
    const out: { line?: Line; pre: RenderedComment[]; eol?: string; blank: boolean }[] = [];
    for (const line of this.lines) {
      const pre: RenderedComment[] = [];
      const moved: Comment[] = [];
      line.atoms.forEach((a, i) => {
        if (i === 0) for (const c of a.leading) pre.push({ text: commentText(c), blank: this.blankBefore(c.start) });
        else moved.push(...a.leading);
        if (a.trailing && i < line.atoms.length - 1) moved.push(a.trailing);
      });
      let blank = line.item && this.blankBefore(line.atoms[0].start);
      // comments moved out of the line stay right above it, after the line's blank line
      if (moved.length) {
        pre.push(...moved.map((c, i) => ({ text: commentText(c), blank: i === 0 && blank })));
        blank = false;
      }
      if (line.forceBlank) {
        if (pre.length) pre[0].blank = true;
        else blank = true;
      }
      const last = line.atoms[line.atoms.length - 1];
      out.push({ line, pre, eol: last.trailing ? commentText(last.trailing) : undefined, blank });
    }
    if (atEnd.length) out.push({ pre: atEnd.map((c) => ({ text: commentText(c), blank: this.blankBefore(c.start) })), blank: false });

    // no blank line at the top, after an opening bracket, or before a closing one
    let blankAllowed = false;
    for (const o of out) {
      for (const c of o.pre) {
        c.blank &&= blankAllowed;
        blankAllowed = true;
      }
      if (o.line) {
        o.blank &&= blankAllowed && !o.line.closer;
        blankAllowed = !o.line.opener;
      }
    }

    // align `=` in runs of single-line assignments of one block, broken by blank and comment lines
    for (let i = 0; i < out.length; ) {
      const group = out[i].line?.alignGroup;
      let j = i + 1;
      if (group !== undefined) {
        while (j < out.length && out[j].line?.alignGroup === group && out[j].pre.length === 0 && !out[j].blank) j++;
        const width = Math.max(...out.slice(i, j).map((o) => o.line!.atoms[0].text.length));
        for (let k = i; k < j; k++) out[k].line!.atoms[0].text = out[k].line!.atoms[0].text.padEnd(width);
      }
      i = j;
    }

    const text: string[] = [];
    for (const o of out) {
      const depth = o.line ? o.line.depth : 0;
      const commentIndent = indent.repeat(o.line?.closer ? depth + 1 : depth);
      for (const c of o.pre) {
        if (c.blank) text.push('');
        text.push(commentIndent + c.text);
      }
      if (!o.line) continue;
      if (o.blank) text.push('');
      text.push(indent.repeat(depth) + o.line.atoms.map((a) => a.text).join('') + (o.eol ? '  ' + o.eol : ''));
    }
    return text.length ? text.join(eol) + eol : '';
  }
}

function hasNestedBlock(e: Entry): boolean {
  return e.kind === 'blockEntry' || (e.value !== undefined && hasOptions(e.value));
}

function hasOptions(v: Value): boolean {
  if (v.kind === 'call') return v.options !== undefined || (v.args ?? []).some(hasOptions);
  if (v.kind === 'list') return v.items.some(hasOptions);
  return false;
}

/** Whitespace the lexer skips within a line. */
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 0xfeff;
}

function commentText(c: Comment): string {
  return c.text.trimEnd();
}

/** The input's most frequent line ending (`\n` when it has none). */
function lineEnding(text: string): string {
  let lf = 0;
  let crlf = 0;
  let cr = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) lf++;
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) {
        crlf++;
        i++;
      } else cr++;
    }
  }
  if (crlf > lf && crlf >= cr) return '\r\n';
  if (cr > lf && cr > crlf) return '\r';
  return '\n';
}

/** First index whose value is >= x (values ascending). */
function lowerBound(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (values ascending). */
function upperBound(values: number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- the safety net -------------------------------------------------------------------------

/** Deep equality of two syntax trees, ignoring positions: what "the same meaning" compares. */
function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = (r: Record<string, unknown>) => Object.keys(r).filter((k) => k !== 'start' && k !== 'end' && r[k] !== undefined);
  const ka = keys(ra);
  if (ka.length !== keys(rb).length) return false;
  return ka.every((k) => sameTree(ra[k], rb[k]));
}

function sameMeaning(a: SgtFile, ac: Comment[], b: SgtFile, bc: Comment[]): boolean {
  if (ac.length !== bc.length || ac.some((c, i) => commentText(c) !== commentText(bc[i]))) return false;
  return sameTree(a, b);
}
