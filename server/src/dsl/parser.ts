/**
 * Error-tolerant recursive-descent parser for `.sgt` files.
 *
 * Design goals (issue #2): one typo gives one diagnostic and the rest of the
 * file is still parsed; every node has a position; linear time; no stack
 * overflow on deep nesting (depth is capped, deeper input is skipped
 * iteratively); never throws, whatever the input.
 *
 * Recovery strategy: inside a block, an entry that cannot be parsed is skipped
 * up to the next token that starts a line, a `}` or end of file. A block whose
 * `}` is missing ends where the next `experiment NAME` starts, so a forgotten
 * brace does not swallow the experiments after it.
 */
import type {
  Block,
  CallValue,
  Entry,
  Experiment,
  Identifier,
  ListValue,
  NumberValue,
  SgtFile,
  Value,
} from './ast';
import type { Diagnostic } from './diagnostics';
import { lex, type Comment, type Token, type TokenKind } from './lexer';

export interface ParseResult {
  file: SgtFile;
  diagnostics: Diagnostic[];
  comments: Comment[];
}

/** Deeper nesting than this is reported and skipped (a real experiment nests 3 levels). */
export const MAX_DEPTH = 64;

export function parse(text: string): ParseResult {
  return new Parser(text).parseFile();
}

class Parser {
  private readonly tokens: Token[];
  private readonly comments: Comment[];
  private pos = 0;
  private depth = 0;
  /** Set when skipping a broken region ran to end of file: the brackets left open around it are that same error. */
  private skippedToEof = false;
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly text: string) {
    const lexed = lex(text);
    this.tokens = lexed.tokens;
    this.comments = lexed.comments;
    for (const t of this.tokens) {
      if (t.kind === 'error') {
        this.error(t.start, t.end, `Unexpected character${t.end - t.start > 1 ? 's' : ''} '${printable(t.text)}'.`, 'unexpected-character');
      } else if (t.kind === 'string' && !t.terminated) {
        this.error(t.start, t.end, 'This string has no closing quote: add `"` at its end.', 'unterminated-string');
      }
    }
    // error tokens are reported once, above; the grammar never sees them
    const kept: Token[] = [];
    let dropped = false;
    for (const t of this.tokens) {
      if (t.kind === 'error') {
        dropped = true;
        continue;
      }
      kept.push(dropped ? { ...t, afterError: true } : t);
      dropped = false;
    }
    this.tokens = kept;
  }

  // ---- token helpers -------------------------------------------------------

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private at(kind: TokenKind): boolean {
    return this.peek().kind === kind;
  }

  private atWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'identifier' && t.text === word;
  }

  private error(start: number, end: number, message: string, code: Diagnostic['code'] = 'syntax'): void {
    // never two syntax errors at the same spot: the second is a consequence of the first
    const last = this.diagnostics[this.diagnostics.length - 1];
    if (last && last.start === start && code === 'syntax' && last.code === 'syntax') return;
    this.diagnostics.push({ start, end: Math.max(end, start), severity: 'error', message, code });
  }

  private errorAtToken(t: Token, expected: string): void {
    const found = t.kind === 'eof' ? 'end of file' : `'${printable(this.text.slice(t.start, t.end))}'`;
    this.error(t.start, t.end, `Expected ${expected}, found ${found}.`);
  }

  private ident(t: Token): Identifier {
    return { kind: 'identifier', name: t.text, start: t.start, end: t.end };
  }

  /** `experiment NAME` or `experiment NAME extends` or `experiment NAME {` starts a new experiment. */
  private atExperimentStart(): boolean {
    return this.atWord('experiment') && this.peek().newlineBefore && this.peek(1).kind === 'identifier';
  }

  // ---- grammar -------------------------------------------------------------

  parseFile(): ParseResult {
    const experiments: Experiment[] = [];
    while (!this.at('eof')) {
      if (this.atWord('experiment')) {
        experiments.push(this.parseExperiment());
      } else {
        const t = this.peek();
        this.errorAtToken(t, '`experiment NAME { … }`');
        this.skipTopLevel();
      }
    }
    const file: SgtFile = { kind: 'file', experiments, start: 0, end: this.text.length };
    return { file, diagnostics: this.diagnostics, comments: this.comments };
  }

  /** Skip to the next `experiment` keyword at top level, stepping over balanced braces. */
  private skipTopLevel(): void {
    let depth = 0;
    this.next();
    while (!this.at('eof')) {
      const t = this.peek();
      if (depth === 0 && this.atWord('experiment')) return;
      if (t.kind === '{') depth++;
      else if (t.kind === '}') depth = Math.max(0, depth - 1);
      this.next();
    }
  }

  private parseExperiment(): Experiment {
    const kw = this.next();
    const exp: Experiment = {
      kind: 'experiment',
      start: kw.start,
      end: kw.end,
      body: { kind: 'block', entries: [], closed: true, start: kw.end, end: kw.end },
    };
    if (this.at('identifier') && !this.atWord('extends')) {
      exp.name = this.ident(this.next());
    } else {
      this.errorAtToken(this.peek(), 'an experiment name after `experiment`');
    }
    if (this.atWord('extends')) {
      const ext = this.next();
      if (this.at('identifier')) exp.extends = this.ident(this.next());
      else this.errorAtToken(this.peek(), 'the name of the experiment to extend');
      exp.end = ext.end;
    }
    if (this.at('{')) {
      exp.body = this.parseBlock();
    } else {
      this.errorAtToken(this.peek(), '`{` to start the experiment body');
      // recover: skip anything until a `{` on this line, or give up on the body
      while (!this.at('eof') && !this.at('{') && !this.peek().newlineBefore) this.next();
      if (this.at('{')) exp.body = this.parseBlock();
    }
    exp.end = Math.max(exp.end, exp.body.end, exp.name?.end ?? 0, exp.extends?.end ?? 0);
    return exp;
  }

  private parseBlock(): Block {
    const open = this.next(); // '{'
    const block: Block = { kind: 'block', entries: [], closed: false, start: open.start, end: open.end };
    if (this.depth >= MAX_DEPTH) {
      this.error(open.start, open.end, `Blocks nested deeper than ${MAX_DEPTH} levels are not supported.`);
      this.pos--; // skip from the `{` itself, so its own `}` is skipped with it
      block.end = this.skipBalanced('{', '}');
      block.closed = true;
      return block;
    }
    this.depth++;
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        this.next();
        block.closed = true;
        block.end = t.end;
        break;
      }
      if (t.kind === 'eof' || this.atExperimentStart()) {
        if (!(t.kind === 'eof' && this.skippedToEof)) this.error(open.start, open.end, 'This `{` is never closed: add `}` at the end of the block.', 'unclosed-block');
        block.end = this.lastEnd();
        break;
      }
      const entry = this.parseEntry();
      if (entry) block.entries.push(entry);
    }
    this.depth--;
    return block;
  }

  /** End offset of the last consumed token. */
  private lastEnd(): number {
    return this.pos > 0 ? this.tokens[this.pos - 1].end : 0;
  }

  private parseEntry(): Entry | undefined {
    const t = this.peek();
    if (t.kind !== 'identifier') {
      this.errorAtToken(t, 'a key (`name = value` or `name { … }`)');
      this.skipEntry();
      return undefined;
    }
    const key = this.ident(this.next());
    if (this.at('=')) {
      const eq = this.next();
      const value = this.parseValueAfterEquals();
      if (!value && !this.peek().afterError) {
        this.error(key.start, eq.end, `\`${key.name} =\` needs a value.`);
      }
      return { kind: 'assignment', key, value, start: key.start, end: value ? value.end : eq.end };
    }
    if (this.at('{')) {
      const block = this.parseBlock();
      return { kind: 'blockEntry', key, block, start: key.start, end: block.end };
    }
    this.errorAtToken(this.peek(), `\`=\` or \`{\` after '${key.name}'`);
    // keep the key so completion and "unknown key" still work on half-typed entries
    if (!this.peek().newlineBefore && !this.at('}')) this.skipEntry();
    return { kind: 'assignment', key, start: key.start, end: key.end };
  }

  /** Skip the rest of a broken entry: up to the next line, `}` or end of file, over balanced brackets. */
  private skipEntry(): void {
    const first = this.next();
    if (first.kind === '{' || first.kind === '[' || first.kind === '(') {
      this.pos--;
      this.skipBalanced(first.kind, first.kind === '{' ? '}' : first.kind === '[' ? ']' : ')');
    }
    while (!this.at('eof') && !this.at('}') && !this.peek().newlineBefore) {
      const t = this.peek();
      if (t.kind === '{' || t.kind === '[' || t.kind === '(') this.skipBalanced(t.kind, t.kind === '{' ? '}' : t.kind === '[' ? ']' : ')');
      else this.next();
    }
  }

  /** Skip a balanced region iteratively (no recursion, whatever the depth); returns its end. */
  private skipBalanced(open: TokenKind, close: TokenKind): number {
    let depth = 0;
    while (!this.at('eof')) {
      const t = this.next();
      if (t.kind === open) depth++;
      else if (t.kind === close) {
        depth--;
        if (depth === 0) return t.end;
      }
    }
    this.skippedToEof = true;
    return this.lastEnd();
  }

  private parseValueAfterEquals(): Value | undefined {
    const t = this.peek();
    // `key =` followed by the next entry on a new line: the value is missing, don't eat the next key
    if (t.newlineBefore && t.kind === 'identifier' && (this.peek(1).kind === '=' || this.atExperimentStart())) return undefined;
    if (t.kind === '}' || t.kind === 'eof') return undefined;
    return this.parseValue();
  }

  private parseValue(): Value | undefined {
    const t = this.peek();
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'string', value: t.text, start: t.start, end: t.end };
      case 'number':
        return this.parseNumber();
      case 'identifier':
        return this.parseWordOrCall();
      case '[':
        return this.parseList();
      default:
        this.errorAtToken(t, 'a value (a number, a string, a word, a list or a call)');
        this.skipEntry();
        return undefined;
    }
  }

  private parseNumber(): NumberValue {
    const t = this.next();
    const num: NumberValue = { kind: 'number', value: Number(t.text), raw: t.text, start: t.start, end: t.end };
    const u = this.peek();
    if (u.kind === '%' && !u.newlineBefore) {
      this.next();
      num.unit = { kind: 'percent', start: u.start, end: u.end };
      num.end = u.end;
    } else if (u.kind === 'identifier' && !u.newlineBefore) {
      // `50 steps` — but not `5 batch = 64` (next key on the same line) nor `1 data { … }`
      const after = this.peek(1).kind;
      if (after !== '=' && after !== '{') {
        this.next();
        num.unit = this.ident(u);
        num.end = u.end;
      }
    }
    return num;
  }

  private parseWordOrCall(): Value {
    const t = this.next();
    const callee = this.ident(t);
    const hasArgs = this.at('(');
    const hasOptions = () => this.at('{');
    if (!hasArgs && !hasOptions()) {
      return { kind: 'word', name: t.text, start: t.start, end: t.end };
    }
    const call: CallValue = { kind: 'call', callee, start: t.start, end: t.end };
    if (hasArgs) {
      const open = this.next();
      call.args = [];
      call.end = open.end;
      if (this.depth >= MAX_DEPTH) {
        this.pos--;
        this.error(open.start, open.end, `Values nested deeper than ${MAX_DEPTH} levels are not supported.`);
        call.end = this.skipBalanced('(', ')');
        return call;
      }
      this.depth++;
      while (!this.at(')')) {
        if (this.at('eof') || this.at('}') || (this.peek().newlineBefore && this.peek(1).kind === '=')) {
          if (!(this.at('eof') && this.skippedToEof)) this.error(open.start, open.end, 'This `(` is never closed: add `)`.');
          break;
        }
        if (this.at(',')) {
          this.next();
          continue;
        }
        const v = this.parseValue();
        if (v) {
          call.args.push(v);
          call.end = v.end;
        }
      }
      this.depth--;
      if (this.at(')')) call.end = this.next().end;
    }
    if (hasOptions()) {
      call.options = this.parseBlock();
      call.end = call.options.end;
    }
    return call;
  }

  private parseList(): ListValue {
    const open = this.next();
    const list: ListValue = { kind: 'list', items: [], closed: false, start: open.start, end: open.end };
    if (this.depth >= MAX_DEPTH) {
      this.pos--;
      this.error(open.start, open.end, `Values nested deeper than ${MAX_DEPTH} levels are not supported.`);
      list.end = this.skipBalanced('[', ']');
      list.closed = true;
      return list;
    }
    this.depth++;
    for (;;) {
      const t = this.peek();
      if (t.kind === ']') {
        this.next();
        list.closed = true;
        list.end = t.end;
        break;
      }
      if (t.kind === 'eof' || t.kind === '}' || (t.newlineBefore && t.kind === 'identifier' && this.peek(1).kind === '=')) {
        if (!(t.kind === 'eof' && this.skippedToEof)) this.error(open.start, open.end, 'This `[` is never closed: add `]` after the last item.');
        break;
      }
      if (t.kind === ',') {
        this.next();
        continue;
      }
      const v = this.parseValue();
      if (v) {
        list.items.push(v);
        list.end = v.end;
      }
    }
    this.depth--;
    return list;
  }
}

function printable(s: string): string {
  const shown = s.length > 20 ? s.slice(0, 20) + '…' : s;
  // control characters and binary bytes are shown as code points, never raw
  // eslint-disable-next-line no-control-regex
  return shown.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
