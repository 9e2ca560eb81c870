import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CodeActionKind,
  FoldingRangeKind,
  SymbolKind,
  type CodeAction,
  type Diagnostic,
  type DocumentSymbol,
  type FoldingRange,
  type SemanticTokens,
  type SemanticTokensLegend,
  type TextEdit,
} from 'vscode-languageserver/node';
import { format } from '../../server/src/dsl/format';
import { LspClient, fileUri, makeWorkspace } from './lsp-client';

const EXAMPLE = [
  '# Decoy MNIST',
  '# two comment lines fold',
  'experiment decoy_ce {',
  '  seed = 1',
  '  data {',
  '    source     = builtin("decoy-mnist")',
  '    annotated  = 100%',
  '  }',
  '  train    { epochs = 5  optimizer = adam { lr = 0.001 } }',
  '  preview  { every = 50 steps }',
  '  evaluate {',
  '    metrics = [',
  '      accuracy,',
  '      saliency_mse',
  '    ]',
  '  }',
  '}',
  '',
  'experiment decoy_cyborg extends decoy_ce {',
  '  guidance { loss = cyborg  alpha = 0.5 }',
  '}',
  '',
].join('\n');

describe('language server: symbols, folding, formatting, quick fixes, semantic tokens', () => {
  let ws: string;
  let client: LspClient;
  let n = 0;
  const doc = (uri: string) => ({ textDocument: { uri } });

  before(async () => {
    ws = makeWorkspace();
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  async function openNew(text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
    const uri = fileUri(ws, `e${n++}.sgt`);
    return { uri, diagnostics: await client.open(uri, text) };
  }

  it('outlines experiments > blocks > keys', async () => {
    const { uri } = await openNew(EXAMPLE);
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', doc(uri));
    assert.deepEqual(
      symbols.map((s) => [s.name, s.kind, s.detail]),
      [
        ['decoy_ce', SymbolKind.Class, undefined],
        ['decoy_cyborg', SymbolKind.Class, 'extends decoy_ce'],
      ],
    );
    const [ce] = symbols;
    assert.deepEqual(ce.children?.map((c) => c.name), ['seed', 'data', 'train', 'preview', 'evaluate']);
    const data = ce.children![1];
    assert.equal(data.kind, SymbolKind.Namespace);
    assert.deepEqual(data.children?.map((c) => [c.name, c.detail]), [
      ['source', 'builtin("decoy-mnist")'],
      ['annotated', '100%'],
    ]);
    const optimizer = ce.children![2].children!.find((c) => c.name === 'optimizer');
    assert.deepEqual(optimizer?.children?.map((c) => c.name), ['lr']);
    assert.deepEqual(ce.selectionRange, { start: { line: 2, character: 11 }, end: { line: 2, character: 19 } });
  });

  it('folds multi-line blocks and lists, and comment runs', async () => {
    const { uri } = await openNew(EXAMPLE);
    const ranges = await client.request<FoldingRange[]>('textDocument/foldingRange', doc(uri));
    const simple = ranges.map((r) => [r.startLine, r.endLine, r.kind ?? null]);
    assert.deepEqual(simple, [
      [0, 1, FoldingRangeKind.Comment],
      [2, 15, null],
      [4, 6, null],
      [10, 14, null],
      [11, 13, null],
      [18, 19, null],
    ]);
  });

  it('formats the whole document with the canonical formatter and the editor\'s indentation', async () => {
    const messy = 'experiment a {\nseed=1\n      data{source=builtin("mnist")}\n}\n';
    const { uri } = await openNew(messy);
    const edits = await client.request<TextEdit[]>('textDocument/formatting', { ...doc(uri), options: { tabSize: 4, insertSpaces: true } });
    assert.equal(edits.length, 1);
    const expected = format(messy, { indent: '    ' });
    assert.ok(expected && expected !== messy);
    assert.equal(TextDocument.applyEdits(TextDocument.create(uri, 'sgt', 1, messy), edits), expected);
    // formatted text and broken text: no edit
    const { uri: clean } = await openNew(expected);
    assert.deepEqual(await client.request('textDocument/formatting', { ...doc(clean), options: { tabSize: 4, insertSpaces: true } }), []);
    const { uri: broken } = await openNew('experiment a { seed = }}');
    assert.deepEqual(await client.request('textDocument/formatting', { ...doc(broken), options: { tabSize: 2, insertSpaces: true } }), []);
  });

  it('offers the validator\'s fixes as quick fixes; applying one removes the diagnostic', async () => {
    const text = 'experiment a {\n  data { source = builtin("mnist") }\n  guidance { lss = cyborg }\n}\n';
    const { uri, diagnostics } = await openNew(text);
    assert.deepEqual(diagnostics.map((d) => d.code), ['unknown-key']);
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      ...doc(uri),
      range: diagnostics[0].range,
      context: { diagnostics },
    });
    assert.equal(actions.length, 1);
    const [fix] = actions;
    assert.equal(fix.title, "Change to 'loss'");
    assert.equal(fix.kind, CodeActionKind.QuickFix);
    assert.equal(fix.isPreferred, true);
    assert.deepEqual(fix.diagnostics, diagnostics);
    const fixed = TextDocument.applyEdits(TextDocument.create(uri, 'sgt', 1, text), fix.edit!.changes![uri]);
    assert.match(fixed, /guidance \{ loss = cyborg \}/);
    assert.deepEqual(await client.change(uri, fixed), []);
  });

  it('offers no quick fixes for other kinds or other sources', async () => {
    const { uri, diagnostics } = await openNew('experiment a {\n  data { source = builtin("mnist") }\n  guidance { lss = cyborg }\n}\n');
    const base = { ...doc(uri), range: diagnostics[0].range };
    assert.deepEqual(await client.request('textDocument/codeAction', { ...base, context: { diagnostics, only: [CodeActionKind.Refactor] } }), []);
    const foreign = diagnostics.map((d) => ({ ...d, source: 'other' }));
    assert.deepEqual(await client.request('textDocument/codeAction', { ...base, context: { diagnostics: foreign } }), []);
  });

  it('colours keywords, names, keys, values, units and comments', async () => {
    const text = '# c\nexperiment b extends a {\n  data { source = builtin("mnist") }\n  preview { every = 50 steps }\n  allow_outside_workspace = true\n  model { arch = mlp }\n}\nexperiment a { }\n';
    const { uri } = await openNew(text);
    const legend = (client.initializeResult.capabilities.semanticTokensProvider as { legend: SemanticTokensLegend }).legend;
    const tokens = await client.request<SemanticTokens>('textDocument/semanticTokens/full', doc(uri));
    // decode the relative encoding into [text, type, modifiers]
    const lines = text.split('\n');
    const decoded: [string, string, string[]][] = [];
    let line = 0;
    let char = 0;
    for (let i = 0; i < tokens.data.length; i += 5) {
      const [dl, dc, len, type, mods] = tokens.data.slice(i, i + 5);
      line += dl;
      char = dl === 0 ? char + dc : dc;
      decoded.push([lines[line].slice(char, char + len), legend.tokenTypes[type], legend.tokenModifiers.filter((_, b) => mods & (1 << b))]);
    }
    assert.deepEqual(decoded, [
      ['# c', 'comment', []],
      ['experiment', 'keyword', []],
      ['b', 'class', ['declaration']],
      ['extends', 'keyword', []],
      ['a', 'class', []],
      ['data', 'namespace', []],
      ['source', 'property', []],
      ['builtin', 'function', []],
      ['"mnist"', 'string', []],
      ['preview', 'namespace', []],
      ['every', 'property', []],
      ['50', 'number', []],
      ['steps', 'type', []],
      ['allow_outside_workspace', 'property', []],
      ['true', 'keyword', []],
      ['model', 'namespace', []],
      ['arch', 'property', []],
      ['mlp', 'enumMember', []],
      ['experiment', 'keyword', []],
      ['a', 'class', ['declaration']],
    ]);
  });

  it('answers empty results for documents it does not know', async () => {
    const uri = fileUri(ws, 'never-opened.sgt');
    assert.deepEqual(await client.request('textDocument/documentSymbol', doc(uri)), []);
    assert.equal(await client.request('textDocument/hover', { ...doc(uri), position: { line: 0, character: 0 } }), null);
    assert.deepEqual(await client.request('textDocument/completion', { ...doc(uri), position: { line: 0, character: 0 } }), []);
  });
});
