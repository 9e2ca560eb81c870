import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Location, Range, WorkspaceEdit } from 'vscode-languageserver/node';
import { ResponseError } from 'vscode-jsonrpc/node';
import { LspClient, fileUri, makeWorkspace } from './lsp-client';

/** base (line 0), mid extends base (line 1), two children of mid (lines 2, 3). */
const TEXT = [
  'experiment base { data { source = builtin("mnist") } }',
  'experiment mid extends base { }',
  'experiment c1 extends mid { }',
  'experiment c2 extends mid { seed = 2 }',
  '',
].join('\n');

const range = (line: number, from: number, to: number): Range => ({ start: { line, character: from }, end: { line, character: to } });

describe('language server: definition, references, rename', () => {
  let ws: string;
  let client: LspClient;
  const uri = () => fileUri(ws, 'nav.sgt');

  before(async () => {
    ws = makeWorkspace();
    client = await LspClient.start(ws);
    await client.open(uri(), TEXT);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  const at = (line: number, character: number) => ({ textDocument: { uri: uri() }, position: { line, character } });

  it('goes from `extends X` to the definition of X', async () => {
    const locs = await client.request<Location[]>('textDocument/definition', at(2, 24));
    assert.deepEqual(locs, [{ uri: uri(), range: range(1, 11, 14) }]);
  });

  it('has no definition away from experiment names', async () => {
    assert.deepEqual(await client.request<Location[]>('textDocument/definition', at(0, 20)), []);
  });

  it('finds the references of an experiment, with or without its declaration', async () => {
    const withDecl = await client.request<Location[]>('textDocument/references', { ...at(1, 12), context: { includeDeclaration: true } });
    assert.deepEqual(
      withDecl.map((l) => l.range),
      [range(1, 11, 14), range(2, 22, 25), range(3, 22, 25)],
    );
    const usesOnly = await client.request<Location[]>('textDocument/references', { ...at(3, 23), context: { includeDeclaration: false } });
    assert.deepEqual(
      usesOnly.map((l) => l.range),
      [range(2, 22, 25), range(3, 22, 25)],
    );
  });

  it('prepares a rename on an experiment name only', async () => {
    const ok = await client.request<{ range: Range; placeholder: string }>('textDocument/prepareRename', at(2, 23));
    assert.deepEqual(ok, { range: range(2, 22, 25), placeholder: 'mid' });
    assert.equal(await client.request('textDocument/prepareRename', at(0, 20)), null);
  });

  it('renames the definition and every `extends`', async () => {
    const edit = await client.request<WorkspaceEdit>('textDocument/rename', { ...at(1, 12), newName: 'middle' });
    const edits = edit.changes?.[uri()] ?? [];
    assert.deepEqual(
      edits.map((e) => [e.range, e.newText]),
      [
        [range(1, 11, 14), 'middle'],
        [range(2, 22, 25), 'middle'],
        [range(3, 22, 25), 'middle'],
      ],
    );
  });

  it('rejects invalid and taken names', async () => {
    for (const bad of ['9lives', 'two words', 'a-b', 'extends', '']) {
      await assert.rejects(client.request('textDocument/rename', { ...at(1, 12), newName: bad }), (e: unknown) => e instanceof ResponseError && /not a valid experiment name/.test(e.message), bad);
    }
    await assert.rejects(client.request('textDocument/rename', { ...at(1, 12), newName: 'c1' }), /already exists/);
  });
});
