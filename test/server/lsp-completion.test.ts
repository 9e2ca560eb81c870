import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CompletionItemKind, CompletionTriggerKind, InsertTextFormat, type CompletionItem, type MarkupContent, type TextEdit } from 'vscode-languageserver/node';
import { LspClient, cursor, fileUri, makeWorkspace } from './lsp-client';

describe('language server: completion', () => {
  let ws: string;
  let client: LspClient;
  let n = 0;

  before(async () => {
    ws = makeWorkspace({ 'data/images/': '', 'data/saliency/': '', 'data/labels.csv': 'file,label\n', 'data2/': '', 'notes.txt': '', '.hidden/': '' });
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  /** Completion items at the `|` of `marked`, in a fresh document. */
  async function complete(marked: string, trigger?: string): Promise<CompletionItem[]> {
    const { text, position } = cursor(marked);
    const uri = fileUri(ws, `c${n++}.sgt`);
    await client.open(uri, text);
    const context = trigger ? { triggerKind: CompletionTriggerKind.TriggerCharacter, triggerCharacter: trigger } : { triggerKind: CompletionTriggerKind.Invoked };
    const items = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position, context });
    return items ?? [];
  }
  const labels = (items: CompletionItem[]) => items.map((i) => i.label);
  const find = (items: CompletionItem[], label: string) => {
    const item = items.find((i) => i.label === label);
    assert.ok(item, `no '${label}' in ${labels(items).join(', ')}`);
    return item;
  };
  const newText = (item: CompletionItem) => (item.textEdit as TextEdit).newText;

  it('offers the keys of the block that are not set yet, as snippets with documentation', async () => {
    const items = await complete('experiment a {\n  train {\n    epochs = 5\n    |\n  }\n}');
    assert.ok(!labels(items).includes('epochs'));
    const batch = find(items, 'batch');
    assert.equal(batch.kind, CompletionItemKind.Property);
    assert.equal(batch.insertTextFormat, InsertTextFormat.Snippet);
    assert.equal(newText(batch), 'batch = ${1:64}');
    assert.match((batch.documentation as MarkupContent).value, /Images per step/);
    assert.equal(newText(find(items, 'engine')), 'engine = ${1|auto,tfjs,torch|}');
    assert.equal(newText(find(items, 'optimizer')), 'optimizer = ${1|adam,sgd|} { lr = ${2:0.001} }');
  });

  it('offers blocks at the experiment level as `name { }` snippets', async () => {
    const items = await complete('experiment a {\n  data { source = builtin("mnist") }\n  |\n}');
    assert.ok(!labels(items).includes('data'));
    const model = find(items, 'model');
    assert.equal(model.kind, CompletionItemKind.Module);
    assert.equal(newText(model), 'model {\n\t$0\n}');
    assert.ok(labels(items).includes('seed'));
  });

  it('replaces only the name of an existing key', async () => {
    const items = await complete('experiment a { guidance { lo|ss = none } }');
    assert.equal(newText(find(items, 'loss')), 'loss');
    assert.ok(!labels(items).includes('data'), 'no blocks where a value follows');
  });

  it('offers the keys of call options', async () => {
    const items = await complete('experiment a { train { optimizer = sgd { lr = 0.1 | } } }');
    assert.deepEqual(labels(items).sort(), ['momentum', 'weight_decay']);
  });

  it('offers enum values with their documentation', async () => {
    const items = await complete('experiment a { guidance { loss = | } }');
    const cyborg = find(items, 'cyborg');
    assert.equal(cyborg.kind, CompletionItemKind.EnumMember);
    assert.match((cyborg.documentation as MarkupContent).value, /CYBORG/);
    assert.equal(items.length, 7);
  });

  it('inserts a space after a bare `=`', async () => {
    const items = await complete('experiment a { guidance { loss =| } }', '=');
    assert.equal(newText(find(items, 'energy')), ' energy');
  });

  it('offers call variants as snippets', async () => {
    const opt = await complete('experiment a { train { optimizer = | } }');
    assert.equal(newText(find(opt, 'adam')), 'adam { lr = ${1:0.001} }');
    assert.equal(find(opt, 'sgd').kind, CompletionItemKind.Function);
    const source = await complete('experiment a { data { source = | } }');
    assert.equal(newText(find(source, 'builtin')), 'builtin("${1|decoy-mnist,mnist|}")');
    assert.equal(newText(find(source, 'folder')), 'folder("${1}")');
    const schedule = await complete('experiment a { train { schedule = | } }');
    assert.equal(newText(find(schedule, 'cosine')), 'cosine');
  });

  it('offers booleans', async () => {
    const items = await complete('experiment a { allow_outside_workspace = | }');
    assert.deepEqual(labels(items), ['true', 'false']);
  });

  it('offers list items not yet in a unique list', async () => {
    const items = await complete('experiment a { evaluate { metrics = [accuracy, |] } }');
    assert.ok(!labels(items).includes('accuracy'));
    assert.ok(labels(items).includes('saliency_mse'));
  });

  it('offers units after a number', async () => {
    const items = await complete('experiment a { preview { every = 50 | } }', ' ');
    assert.deepEqual(labels(items), ['steps', 'epochs']);
    const px = await complete('experiment a { data { image_size = 28 p| } }');
    assert.deepEqual(labels(px), ['px']);
    const withNumber = await complete('experiment a { preview { every = 50| } }');
    assert.deepEqual(labels(withNumber), ['50 steps', '50 epochs']);
  });

  it('typing a space in a key position opens nothing', async () => {
    assert.deepEqual(await complete('experiment a { train { epochs = 5 | } }', ' '), []);
    assert.deepEqual(await complete('experiment a {\n  | \n}', ' '), []);
  });

  it('offers experiment names after `extends`, never itself', async () => {
    const items = await complete('experiment base { }\nexperiment other { }\nexperiment b extends | { }');
    assert.deepEqual(labels(items).sort(), ['base', 'other']);
    assert.equal(find(items, 'base').kind, CompletionItemKind.Class);
  });

  it('offers the `extends` keyword after an experiment name, and `experiment` at top level', async () => {
    assert.deepEqual(labels(await complete('experiment a { }\nexperiment b ext| { }')), ['extends']);
    const top = await complete('experiment a { }\n|');
    assert.deepEqual(labels(top), ['experiment', 'experiment … extends']);
  });

  it('lists folders inside folder("…"), relative to the file', async () => {
    const items = await complete('experiment a { data { source = folder("|") } }', '"');
    assert.deepEqual(labels(items).sort(), ['data/', 'data2/']);
    assert.equal(find(items, 'data/').kind, CompletionItemKind.Folder);
    const inner = await complete('experiment a { data { source = folder("data/|") } }', '/');
    assert.deepEqual(labels(inner).sort(), ['images/', 'saliency/']);
  });

  it('lists files for file paths, relative to the data folder inside `data`', async () => {
    const items = await complete('experiment a { data {\n  source = folder("data")\n  labels = "|"\n} }');
    assert.ok(labels(items).includes('labels.csv'), labels(items).join(','));
    assert.ok(labels(items).includes('images/'));
  });

  it('offers built-in data set names inside builtin("…")', async () => {
    const items = await complete('experiment a { data { source = builtin("|") } }');
    assert.deepEqual(labels(items), ['decoy-mnist', 'mnist']);
  });

  it('offers nothing in comments', async () => {
    assert.deepEqual(await complete('experiment a {\n  # train |\n}'), []);
  });
});
