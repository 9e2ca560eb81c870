/**
 * Semantic tokens (full document). The TextMate grammar already colours the
 * syntax; these add what only the parser knows: which words are keys, enum
 * values, calls, units or experiment names.
 */
import { SemanticTokensBuilder, type SemanticTokens, type SemanticTokensLegend } from 'vscode-languageserver/node';
import type { Block, Span, Value } from '../dsl/ast';
import { extendsKeywordSpan } from '../dsl/cursor';
import type { AnalyzedDocument } from './documents';

const TOKEN_TYPES = ['keyword', 'class', 'property', 'enumMember', 'function', 'number', 'string', 'type', 'comment', 'namespace'] as const;
const TOKEN_MODIFIERS = ['declaration'] as const;

type TokenType = (typeof TOKEN_TYPES)[number];

export const SEMANTIC_TOKENS_LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

interface Token {
  start: number;
  end: number;
  type: TokenType;
  declaration?: boolean;
}

export function semanticTokens(doc: AnalyzedDocument): SemanticTokens {
  const { analysis, lines } = doc;
  const text = analysis.text;
  const tokens: Token[] = [];
  const add = (s: Span, type: TokenType, declaration = false) => {
    if (s.end > s.start) tokens.push({ start: s.start, end: s.end, type, declaration });
  };
  const value = (v: Value | undefined) => {
    if (!v) return;
    switch (v.kind) {
      case 'string':
        return add(v, 'string');
      case 'number':
        add({ start: v.start, end: v.start + v.raw.length }, 'number');
        if (v.unit) add(v.unit, 'type');
        return;
      case 'word':
        return add(v, v.name === 'true' || v.name === 'false' ? 'keyword' : 'enumMember');
      case 'list':
        return v.items.forEach(value);
      case 'call':
        add(v.callee, 'function');
        v.args?.forEach(value);
        if (v.options) block(v.options);
        return;
    }
  };
  const block = (b: Block) => {
    for (const e of b.entries) {
      if (e.kind === 'blockEntry') {
        add(e.key, 'namespace');
        block(e.block);
      } else {
        add(e.key, 'property');
        value(e.value);
      }
    }
  };
  for (const e of analysis.file.experiments) {
    if (text.startsWith('experiment', e.start)) add({ start: e.start, end: e.start + 'experiment'.length }, 'keyword');
    if (e.name) add(e.name, 'class', true);
    const ext = extendsKeywordSpan(text, e);
    if (ext) add(ext, 'keyword');
    if (e.extends) add(e.extends, 'class');
    block(e.body);
  }
  for (const c of analysis.parse.comments) add(c, 'comment');

  tokens.sort((a, b) => a.start - b.start);
  const builder = new SemanticTokensBuilder();
  let lastEnd = 0;
  for (const t of tokens) {
    if (t.start < lastEnd) continue; // never overlap (recovered syntax can nest oddly)
    const pos = lines.positionAt(t.start);
    // LSP tokens are single-line; ours are too (strings and comments end at a line break), this is a guard
    if (lines.positionAt(t.end).line !== pos.line) continue;
    builder.push(pos.line, pos.character, t.end - t.start, TOKEN_TYPES.indexOf(t.type), t.declaration ? 1 : 0);
    lastEnd = t.end;
  }
  return builder.build();
}
