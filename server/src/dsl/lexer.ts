/**
 * Tokenizer for `.sgt` files. One pass, no backtracking, no regular expressions
 * on the hot path: linear in the input whatever it contains (binary garbage
 * included). Unknown characters become `error` tokens instead of throwing, so
 * the parser can report them and carry on.
 */

export type TokenKind =
  | 'identifier'
  | 'number'
  | 'string'
  | '{'
  | '}'
  | '['
  | ']'
  | '('
  | ')'
  | '='
  | ','
  | '%'
  | 'error'
  | 'eof';

export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  /** Identifier name, decoded string contents, or the number's literal text. */
  text: string;
  /** True when a line break (or a comment) separates this token from the previous one. */
  newlineBefore: boolean;
  /** True when unknown characters were dropped right before this token (the parser stays quiet about the gap). */
  afterError?: boolean;
  /** For strings: false when the closing quote is missing. */
  terminated?: boolean;
}

export interface Comment {
  start: number;
  end: number;
  text: string;
}

export interface LexResult {
  tokens: Token[];
  comments: Comment[];
}

const PUNCTUATION = new Set(['{', '}', '[', ']', '(', ')', '=', ',', '%']);

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // A-Z a-z _
}

function isIdentPart(c: number): boolean {
  // '.' so dotted key paths (`guidance.alpha`) read as one name
  return isIdentStart(c) || isDigit(c) || c === 46;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function lex(text: string): LexResult {
  const tokens: Token[] = [];
  const comments: Comment[] = [];
  const n = text.length;
  let i = 0;
  let newlineBefore = true;

  const push = (kind: TokenKind, start: number, end: number, value: string, extra?: Partial<Token>) => {
    tokens.push({ kind, start, end, text: value, newlineBefore, ...extra });
    newlineBefore = false;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    // whitespace
    if (c === 10 || c === 13) {
      newlineBefore = true;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 12 || c === 11 || c === 0xfeff) {
      i++;
      continue;
    }
    // comment to end of line
    if (c === 35 /* # */) {
      const start = i;
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      comments.push({ start, end: i, text: text.slice(start, i) });
      continue;
    }
    // identifier
    if (isIdentStart(c)) {
      const start = i;
      i++;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      // a trailing '.' is never part of a name (e.g. `small_cnn.`)
      while (i - 1 > start && text.charCodeAt(i - 1) === 46) i--;
      push('identifier', start, i, text.slice(start, i));
      continue;
    }
    // number: -?digits(.digits)?([eE][+-]?digits)? ; also .5 and -.5 (but not `..5`: that would be an empty number and no progress)
    const d1 = text.charCodeAt(i + 1);
    if (isDigit(c) || (c === 46 && isDigit(d1)) || ((c === 45 || c === 43) && (isDigit(d1) || (d1 === 46 && isDigit(text.charCodeAt(i + 2)))))) {
      const start = i;
      if (c === 45 || c === 43) i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      }
      const e = text.charCodeAt(i);
      if (e === 101 || e === 69) {
        let j = i + 1;
        const s = text.charCodeAt(j);
        if (s === 43 || s === 45) j++;
        if (isDigit(text.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(text.charCodeAt(i))) i++;
        }
      }
      push('number', start, i, text.slice(start, i));
      continue;
    }
    // string
    if (c === 34 /* " */) {
      const start = i;
      i++;
      let value = '';
      let terminated = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) {
          i++;
          terminated = true;
          break;
        }
        if (d === 10 || d === 13) break; // strings never span lines: stop so the rest of the file still parses
        if (d === 92 /* \ */ && i + 1 < n) {
          const e = text[i + 1];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          continue;
        }
        value += text[i];
        i++;
      }
      push('string', start, i, value, { terminated });
      continue;
    }
    const ch = text[i];
    if (PUNCTUATION.has(ch)) {
      push(ch as TokenKind, i, i + 1, ch);
      i++;
      continue;
    }
    // anything else: one error token per run of unknown characters, so garbage
    // produces one diagnostic, not thousands
    const start = i;
    i++;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 10 || d === 13 || d === 32 || d === 9 || d === 35 || d === 34 || isIdentStart(d) || isDigit(d) || PUNCTUATION.has(text[i])) break;
      i++;
    }
    push('error', start, i, text.slice(start, i));
  }
  tokens.push({ kind: 'eof', start: n, end: n, text: '', newlineBefore: true });
  return { tokens, comments };
}
