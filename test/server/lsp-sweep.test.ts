/** The language server on a sweep: diagnostics on list items, completion and hover inside the sweep block, the runs in hover and outline. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CompletionTriggerKind, type CompletionItem, type DocumentSymbol, type Hover, type MarkupContent, type TextEdit } from 'vscode-languageserver/node';
import { LspClient, cursor, fileUri, makeWorkspace } from './lsp-client';

const SWEEP = `experiment m {
  data { source = builtin("decoy-mnist") }
  guidance { loss = cyborg }
  sweep {
    guidance.alpha = [0.1, 0.5]
    seed = [1, 2, 3]
  }
}
`;

describe('language server: sweeps', () => {
  let ws: string;
  let client: LspClient;
  let n = 0;

  before(async () => {
    ws = makeWorkspace();
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  async function open(text: string): Promise<string> {
    const uri = fileUri(ws, `s${n++}.sgt`);
    await client.open(uri, text);
    return uri;
  }
  async function hoverAt(marked: string): Promise<string | null> {
    const { text, position } = cursor(marked);
    const uri = await open(text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    return h ? (h.contents as MarkupContent).value : null;
  }
  async function complete(marked: string): Promise<CompletionItem[]> {
    const { text, position } = cursor(marked);
    const uri = await open(text);
    return (await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position, context: { triggerKind: CompletionTriggerKind.Invoked } })) ?? [];
  }

  it('publishes a bad sweep value on its list item', async () => {
    const text = SWEEP.replace('[0.1, 0.5]', '[0.1, 7]');
    const uri = await open(text);
    const diags = client.latest.get(uri) ?? [];
    assert.equal(diags.length, 1, JSON.stringify(diags));
    assert.equal(diags[0].code, 'out-of-range');
    assert.deepEqual(diags[0].range.start, { line: 4, character: 27 });
  });

  it('hover on the experiment names its runs; on a swept key, the key it sweeps', async () => {
    const md = await hoverAt(SWEEP.replace('experiment m', 'experiment |m'));
    assert.ok(md);
    assert.match(md, /\*\*Sweep:\*\* 6 runs — `m@alpha=0\.1,seed=1`, `m@alpha=0\.1,seed=2`/);
    const block = await hoverAt(SWEEP.replace('  sweep {', '  swe|ep {'));
    assert.ok(block);
    assert.match(block, /^\*\*sweep\*\* \{ … \}\n\nRuns the experiment once per combination/);
    assert.ok(!block.includes('Keys:'), block);
    assert.match(block, /\*\*Sweep:\*\* 6 runs — /);
    const key = await hoverAt(SWEEP.replace('guidance.alpha =', 'guidance.al|pha ='));
    assert.ok(key);
    assert.match(key, /\*\*sweep\.guidance\.alpha\*\* — a list of number in \[0, 1\]/);
    assert.match(key, /Swept: one run per value\. CYBORG weight/);
    assert.match(key, /In `m`: `\[0\.1, 0\.5\]` \(set here\)/);
  });

  it('completes key paths in a sweep block and values in its lists', async () => {
    const keys = await complete(SWEEP.replace('    seed = [1, 2, 3]\n', '    seed = [1, 2, 3]\n    |\n'));
    const labels = keys.map((i) => i.label);
    assert.ok(labels.includes('guidance.loss') && labels.includes('train.optimizer') && labels.includes('model.arch'), labels.join(' '));
    assert.ok(!labels.includes('seed') && !labels.includes('guidance.alpha'), 'already swept');
    assert.equal((keys.find((i) => i.label === 'guidance.loss')!.textEdit as TextEdit).newText, 'guidance.loss = [$1]');
    const values = await complete(SWEEP.replace('    seed = [1, 2, 3]\n', '    seed = [1, 2, 3]\n    guidance.loss = [none, |]\n'));
    const v = values.map((i) => i.label);
    assert.ok(v.includes('cyborg') && v.includes('rrr'), v.join(' '));
  });

  it('the outline says how many runs a sweep stands for', async () => {
    const uri = await open(SWEEP);
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri } });
    assert.equal(symbols[0].name, 'm');
    assert.equal(symbols[0].detail, 'sweep of 6 runs');
  });
});
