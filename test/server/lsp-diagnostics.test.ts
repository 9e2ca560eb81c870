import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DiagnosticSeverity, DiagnosticTag } from 'vscode-languageserver/node';
import { LspClient, fileUri, makeWorkspace, writeFiles } from './lsp-client';

describe('language server: diagnostics', () => {
  let ws: string;
  let client: LspClient;

  before(async () => {
    ws = makeWorkspace();
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  it('announces its features in initialize', () => {
    const caps = client.initializeResult.capabilities;
    assert.ok(caps.completionProvider && caps.hoverProvider && caps.documentSymbolProvider && caps.foldingRangeProvider);
    assert.ok(caps.documentFormattingProvider && caps.definitionProvider && caps.referencesProvider && caps.codeActionProvider);
    assert.deepEqual(caps.renameProvider, { prepareProvider: true });
    assert.ok(caps.semanticTokensProvider?.full);
  });

  it('publishes diagnostics on open with range, severity, code and source', async () => {
    const uri = fileUri(ws, 'open.sgt');
    const diags = await client.open(uri, 'experiment a {\n  data { source = builtin("decoy-mnist") }\n  train { epochz = 5 }\n}\n');
    assert.equal(diags.length, 1);
    const [d] = diags;
    assert.equal(d.code, 'unknown-key');
    assert.equal(d.source, 'sgt');
    assert.equal(d.severity, DiagnosticSeverity.Error);
    assert.deepEqual(d.range, { start: { line: 2, character: 10 }, end: { line: 2, character: 16 } });
    assert.match(d.message, /did you mean 'epochs'/i);
  });

  it('re-validates on change, and clears on a clean file', async () => {
    const uri = fileUri(ws, 'change.sgt');
    const first = await client.open(uri, 'experiment a {\n  seed = -1\n}\n');
    assert.deepEqual(first.map((d) => d.code).sort(), ['missing-key', 'out-of-range']);
    const second = await client.change(uri, 'experiment a {\n  data { source = builtin("mnist") }\n}\n');
    assert.deepEqual(second, []);
  });

  it('shows keys without effect as warnings, faded', async () => {
    const uri = fileUri(ws, 'faded.sgt');
    const diags = await client.open(uri, 'experiment a {\n  data { source = builtin("mnist") }\n  guidance { loss = none  alpha = 0.5 }\n}\n');
    const d = diags.find((x) => x.code === 'not-applicable');
    assert.ok(d);
    assert.equal(d.severity, DiagnosticSeverity.Warning);
    assert.deepEqual(d.tags, [DiagnosticTag.Unnecessary]);
  });

  it('skips file checks in untitled documents', async () => {
    const diags = await client.open('untitled:Untitled-1', 'experiment a {\n  data { source = folder("nowhere") }\n}\n');
    assert.deepEqual(diags, []);
  });

  it('clears the diagnostics of a closed document', async () => {
    const uri = fileUri(ws, 'closed.sgt');
    await client.open(uri, 'experiment a { }');
    const cleared = client.nextDiagnostics(uri);
    await client.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
    assert.deepEqual(await cleared, []);
  });

  it('re-validates open documents when watched files change', async () => {
    const uri = fileUri(ws, 'watched.sgt');
    const before = await client.open(uri, 'experiment a {\n  data { source = folder("shapes") }\n  guidance { loss = cyborg }\n}\n');
    assert.deepEqual(before.map((d) => d.code), ['path-not-found']);
    writeFiles(ws, {
      'shapes/images/a.png': '',
      'shapes/images/b.png': '',
      'shapes/labels.csv': 'file,label\na.png,circle\nb.png,square\n',
      'shapes/saliency/a.png': '',
      'shapes/saliency/b.png': '',
    });
    const after = client.nextDiagnostics(uri);
    await client.rpc.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: fileUri(ws, 'shapes', 'labels.csv'), type: 1 }] });
    assert.deepEqual(await after, []);
  });

  it('ignores file events from run directories (.sgt/runs)', async () => {
    const uri = fileUri(ws, 'runs-ignored.sgt');
    await client.open(uri, 'experiment a {\n  data { source = folder("missing") }\n}\n');
    let republished = false;
    void client.nextDiagnostics(uri).then(
      () => (republished = true),
      () => undefined, // the expected outcome: no diagnostics before the wait times out
    );
    await client.rpc.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: fileUri(ws, '.sgt', 'runs', 'r1', 'overlays', '0.png'), type: 1 }] });
    // a round trip: the server handles messages in order, so the notification has been processed
    await client.rpc.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(republished, false);
  });

  it('reports data outside the workspace folder', async () => {
    const uri = fileUri(ws, 'outside.sgt');
    const diags = await client.open(uri, 'experiment a {\n  data { source = folder("..") }\n}\n');
    assert.deepEqual(diags.map((d) => d.code), ['path-outside-workspace']);
  });
});
