/**
 * Value helpers shared by the validator, the resolver and the formatter:
 * canonical printing, parsing a value written in DSL notation (schema defaults
 * are written that way), and conversion to plain JSON for `resolved.json`.
 */
import type { Block, Value } from './ast';
import { unitName } from './ast';
import { parse } from './parser';

/** Canonical one-line text of a value (the formatter's inline form). */
export function printValue(v: Value): string {
  switch (v.kind) {
    case 'string':
      return quoteString(v.value);
    case 'number': {
      const u = unitName(v);
      return u === undefined ? v.raw : u === '%' ? `${v.raw}%` : `${v.raw} ${u}`;
    }
    case 'word':
      return v.name;
    case 'list':
      return `[${v.items.map(printValue).join(', ')}]`;
    case 'call': {
      let s = v.callee.name;
      if (v.args) s += `(${v.args.map(printValue).join(', ')})`;
      if (v.options) s += ' ' + printInlineBlock(v.options);
      return s;
    }
  }
}

/**
 * A string literal for `s`: JSON.stringify's escapes for the characters the
 * lexer decodes (`\"`, `\\`, `\n`, `\t`), every other character as is. JSON's
 * other escapes (`\b`, `\u0001`, lone surrogates) would read back as other
 * text: the lexer turns `\b` into `b`.
 */
export function quoteString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    // a carriage return can only be kept as backslash + CR (there is no `\r` escape)
    out += c === '"' ? '\\"' : c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\\r' : c;
  }
  return out + '"';
}

export function printInlineBlock(b: Block): string {
  if (b.entries.length === 0) return '{}';
  const parts = b.entries.map((e) => (e.kind === 'assignment' ? `${e.key.name} = ${e.value ? printValue(e.value) : ''}` : `${e.key.name} ${printInlineBlock(e.block)}`));
  return `{ ${parts.join('  ')} }`;
}

const valueCache = new Map<string, Value | undefined>();

/** Parse a value written in DSL notation (e.g. a schema default such as `adam` or `[val, test]`). */
export function parseValueText(text: string): Value | undefined {
  if (valueCache.has(text)) return valueCache.get(text);
  const r = parse(`experiment _ {\n v = ${text}\n}`);
  const e = r.file.experiments[0]?.body.entries[0];
  const v = r.diagnostics.length === 0 && e?.kind === 'assignment' ? e.value : undefined;
  valueCache.set(text, v);
  return v;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
