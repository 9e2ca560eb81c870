/**
 * Every feature, called directly (the LSP layer would hide a throw behind an
 * empty answer), on mangled versions of real experiment files, at every offset:
 * nothing may throw.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { CompletionTriggerKind } from 'vscode-languageserver/node';
import { contextAt } from '../../server/src/dsl/cursor';
import { LineIndex } from '../../server/src/dsl/text';
import { analyze } from '../../server/src/dsl/validate';
import { codeActions } from '../../server/src/language-server/code-actions';
import { completions } from '../../server/src/language-server/completion';
import { lspDiagnostics } from '../../server/src/language-server/diagnostics';
import type { AnalyzedDocument } from '../../server/src/language-server/documents';
import { foldingRanges } from '../../server/src/language-server/folding';
import { formatDocument } from '../../server/src/language-server/formatting';
import { hover } from '../../server/src/language-server/hover';
import { definition, prepareRename, references } from '../../server/src/language-server/navigation';
import { semanticTokens } from '../../server/src/language-server/semantic-tokens';
import { documentSymbols } from '../../server/src/language-server/symbols';

const root = path.resolve(__dirname, '..', '..');
const EXAMPLES = ['examples/decoy-mnist/cyborg.sgt', 'examples/shapes/shapes.sgt'].map((f) => ({ file: path.join(root, f), text: fs.readFileSync(path.join(root, f), 'utf8') }));

function analyzed(text: string, filePath: string): AnalyzedDocument {
  return { uri: 'file:///x.sgt', version: 1, analysis: analyze(text, { filePath, workspaceRoot: root }), lines: new LineIndex(text), filePath, workspaceRoot: root };
}

/** Runs every feature on the document; at every offset for the offset-based ones. */
function exerciseAll(doc: AnalyzedDocument, step = 1): void {
  const text = doc.analysis.text;
  const diagnostics = lspDiagnostics(doc);
  documentSymbols(doc);
  foldingRanges(doc);
  semanticTokens(doc);
  formatDocument(doc, { tabSize: 2, insertSpaces: true });
  codeActions(doc, { textDocument: { uri: doc.uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics } });
  for (let offset = 0; offset <= text.length; offset += step) {
    contextAt(doc.analysis.file, text, offset);
    completions(doc, offset, { triggerKind: CompletionTriggerKind.Invoked });
    hover(doc, offset);
    definition(doc, offset);
    references(doc, offset, true);
    prepareRename(doc, offset);
  }
}

describe('language features never throw', () => {
  for (const { file, text } of EXAMPLES) {
    it(`on every prefix of ${path.basename(file)}`, () => {
      for (let cut = 0; cut <= text.length; cut += 29) exerciseAll(analyzed(text.slice(0, cut), file), 4);
    });
  }

  it('on examples with random characters deleted or inserted', () => {
    const { file, text } = EXAMPLES[1];
    const edit = fc.record({
      at: fc.nat({ max: text.length }),
      remove: fc.nat({ max: 12 }),
      insert: fc.constantFrom('', '{', '}', '"', '=', '[', '(', ')', ']', '#', 'experiment ', 'extends ', ' x', '%', '\n', '1e9', 'constructor', '__proto__'),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let t = text;
        for (const e of edits) t = t.slice(0, Math.min(e.at, t.length)) + e.insert + t.slice(Math.min(e.at, t.length) + e.remove);
        exerciseAll(analyzed(t, file), 6);
        return true;
      }),
      { numRuns: 25, seed: 42 },
    );
  });
});
