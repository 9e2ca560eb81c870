import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResolveExperimentRequest, type ResolveExperimentResult } from '../../server/src/protocol';
import { LspClient, fileUri, makeWorkspace } from './lsp-client';

const TEXT = [
  'experiment base {',
  '  data { source = builtin("decoy-mnist") }',
  '  train { epochs = 3  optimizer = sgd { lr = 0.005 } }',
  '}',
  'experiment guided extends base {',
  '  guidance { loss = cyborg  alpha = 0.7 }',
  '}',
  '',
].join('\n');

describe('language server: saliencyStudio/resolveExperiment', () => {
  let ws: string;
  let client: LspClient;

  before(async () => {
    ws = makeWorkspace({ 'disk.sgt': TEXT });
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  it('uses the method name the client sends', () => {
    assert.equal(ResolveExperimentRequest.method, 'saliencyStudio/resolveExperiment');
  });

  it('resolves an open document\'s experiment with every default filled in', async () => {
    const uri = fileUri(ws, 'open.sgt');
    await client.open(uri, TEXT);
    const r = await client.rpc.sendRequest(ResolveExperimentRequest, { uri, name: 'guided' });
    assert.equal(r.errors, 0);
    assert.equal(r.warnings, 0);
    assert.ok(r.resolved);
    assert.equal(r.resolved.name, 'guided');
    assert.deepEqual(r.resolved.extends, ['base']);
    const guidance = r.resolved.guidance as Record<string, unknown>;
    assert.equal(guidance.loss, 'cyborg');
    assert.equal(guidance.alpha, 0.7);
    assert.equal(guidance.layer, 'final', 'a default');
    const train = r.resolved.train as Record<string, unknown>;
    assert.deepEqual(train.optimizer, { type: 'sgd', lr: 0.005, momentum: 0.9, weight_decay: 0 });
  });

  it('answers null with the error count for an experiment with errors or an unknown name', async () => {
    const uri = fileUri(ws, 'broken.sgt');
    await client.open(uri, 'experiment a {\n  data { source = builtin("mnist") }\n  seed = -3\n}\n');
    const r = await client.rpc.sendRequest(ResolveExperimentRequest, { uri, name: 'a' });
    assert.deepEqual(r, { resolved: null, errors: 1, warnings: 0 });
    const missing = await client.request<ResolveExperimentResult>('saliencyStudio/resolveExperiment', { uri, name: 'nope' });
    assert.equal(missing.resolved, null);
  });

  it('reads a document that is not open from disk', async () => {
    const r = await client.rpc.sendRequest(ResolveExperimentRequest, { uri: fileUri(ws, 'disk.sgt'), name: 'base' });
    assert.equal(r.resolved?.name, 'base');
    const none = await client.rpc.sendRequest(ResolveExperimentRequest, { uri: fileUri(ws, path.join('no', 'such.sgt')), name: 'base' });
    assert.deepEqual(none, { resolved: null, errors: 0, warnings: 0 });
  });
});
