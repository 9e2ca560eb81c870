import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import { DocumentStore, filePathOf } from '../../server/src/language-server/documents';

/** A store whose open documents are set directly (TextDocuments keeps them in a private map). */
function storeWith(docs: TextDocument[]): DocumentStore {
  const documents = new TextDocuments(TextDocument);
  const byUri = new Map(docs.map((d) => [d.uri, d]));
  documents.get = (uri: string) => byUri.get(uri);
  return new DocumentStore(documents);
}

describe('document store', () => {
  const ws = path.resolve('/tmp/sgt-ws');
  const uri = URI.file(path.join(ws, 'inner', 'a.sgt')).toString();

  it('analyses each document version once', () => {
    const doc = TextDocument.create(uri, 'sgt', 1, 'experiment a { }');
    const store = storeWith([doc]);
    const first = store.get(uri);
    assert.ok(first);
    assert.equal(store.get(uri), first, 'same version: cached');
    TextDocument.update(doc, [{ text: 'experiment b { }' }], 2);
    const second = store.get(uri);
    assert.notEqual(second, first);
    assert.ok(second?.analysis.experiments.has('b'));
    store.invalidateAll();
    assert.notEqual(store.get(uri), second, 'dropped when files on disk change');
  });

  it('uses the innermost workspace folder containing the file as the workspace root', () => {
    const store = storeWith([TextDocument.create(uri, 'sgt', 1, '')]);
    store.setWorkspaceFolders([URI.file(ws).toString(), URI.file(path.join(ws, 'inner')).toString(), URI.file(path.join(ws, 'other')).toString()]);
    assert.equal(store.get(uri)?.workspaceRoot, path.join(ws, 'inner'));
    assert.equal(store.get(uri)?.filePath, path.join(ws, 'inner', 'a.sgt'));
    store.setWorkspaceFolders([URI.file(path.join(ws, 'other')).toString()]);
    assert.equal(store.get(uri)?.workspaceRoot, undefined);
  });

  it('has no file path for untitled documents', () => {
    assert.equal(filePathOf('untitled:Untitled-1'), undefined);
    const store = storeWith([TextDocument.create('untitled:Untitled-1', 'sgt', 1, '')]);
    assert.equal(store.get('untitled:Untitled-1')?.filePath, undefined);
    assert.equal(store.get('file:///not/open.sgt'), undefined);
  });
});
