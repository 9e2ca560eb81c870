/** Folding: multi-line blocks and lists, and runs of comment lines. */
import { FoldingRangeKind, type FoldingRange } from 'vscode-languageserver/node';
import type { Block, Value } from '../dsl/ast';
import type { AnalyzedDocument } from './documents';

export function foldingRanges(doc: AnalyzedDocument): FoldingRange[] {
  const { lines, analysis } = doc;
  const out: FoldingRange[] = [];
  /** Folds from the line of the opening bracket to the line before the closing one, so `}` stays visible. */
  const fold = (start: number, end: number, closed: boolean) => {
    const startLine = lines.positionAt(start).line;
    const endPos = lines.positionAt(end);
    const endLine = closed ? endPos.line - 1 : endPos.line;
    if (endLine > startLine) out.push({ startLine, endLine });
  };
  const value = (v: Value | undefined) => {
    if (!v) return;
    if (v.kind === 'list') {
      fold(v.start, v.end, v.closed);
      v.items.forEach(value);
    } else if (v.kind === 'call') {
      v.args?.forEach(value);
      if (v.options) block(v.options);
    }
  };
  const block = (b: Block) => {
    fold(b.start, b.end, b.closed);
    for (const e of b.entries) {
      if (e.kind === 'blockEntry') block(e.block);
      else value(e.value);
    }
  };
  for (const e of analysis.file.experiments) {
    if (analysis.text[e.body.start] === '{') block(e.body);
  }
  // runs of two or more lines holding only a comment
  let runStart = -1;
  let runEnd = -1;
  const flush = () => {
    if (runStart >= 0 && runEnd > runStart) out.push({ startLine: runStart, endLine: runEnd, kind: FoldingRangeKind.Comment });
    runStart = -1;
  };
  for (const c of analysis.parse.comments) {
    const pos = lines.positionAt(c.start);
    const ownLine = analysis.text.slice(lines.lineStart(pos.line), c.start).trim() === '';
    if (!ownLine) {
      flush();
      continue;
    }
    if (runStart >= 0 && pos.line === runEnd + 1) runEnd = pos.line;
    else {
      flush();
      runStart = runEnd = pos.line;
    }
  }
  flush();
  return out.sort((a, b) => a.startLine - b.startLine);
}
