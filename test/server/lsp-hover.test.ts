import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Hover, MarkupContent } from 'vscode-languageserver/node';
import { LspClient, cursor, fileUri, makeWorkspace } from './lsp-client';

describe('language server: hover', () => {
  let ws: string;
  let client: LspClient;
  let n = 0;

  before(async () => {
    ws = makeWorkspace({
      'faces/images/a.png': '',
      'faces/images/b.png': '',
      'faces/images/c.png': '',
      'faces/images/d.png': '',
      'faces/labels.csv': 'file,label\na.png,x\nb.png,y\nc.png,x\nd.png,y\n',
      'faces/saliency/a.png': '',
      'faces/saliency/b.png': '',
    });
    client = await LspClient.start(ws);
  });
  after(() => {
    client.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  const BASE = 'experiment base {\n  data { source = builtin("decoy-mnist") }\n  guidance { loss = cyborg  alpha = 0.3 }\n}\n';

  /** The hover markdown at the `|` of `marked` (null when there is none). */
  async function hoverAt(marked: string): Promise<string | null> {
    const { text, position } = cursor(marked);
    const uri = fileUri(ws, `h${n++}.sgt`);
    await client.open(uri, text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    return h ? (h.contents as MarkupContent).value : null;
  }

  it('on a key: doc, type, default, unit and the value in this experiment', async () => {
    const md = await hoverAt(BASE + 'experiment b extends base {\n  data { ima|ge_size = 32 }\n}\n');
    assert.ok(md);
    assert.match(md, /\*\*data\.image_size\*\* — an integer in \[1, 2048\] \(px\)/);
    assert.match(md, /resized to this side length/);
    assert.match(md, /Default: `28` \(28 for built-in data sets, 224 for folders\)/);
    assert.match(md, /Unit: px/);
    assert.match(md, /In `b`: `32` \(set here\)/);
  });

  it('on a key that does not apply: which losses it applies to, and a warning', async () => {
    const md = await hoverAt('experiment a {\n  data { source = builtin("mnist") }\n  guidance { loss = cyborg  lam|bda = 2 }\n}\n');
    assert.ok(md);
    assert.match(md, /Applies to: loss `energy` \| `l1` \| `ppce` \| `rrr_star` \| `rrr`/);
    assert.match(md, /no effect/i);
  });

  it('on a block: the effective values, with the experiment they are inherited from', async () => {
    const md = await hoverAt(BASE + 'experiment b extends base {\n  guid|ance { attribution = cam }\n}\n');
    assert.ok(md);
    assert.match(md, /- loss = `cyborg` \*\(from `base`\)\*/);
    assert.match(md, /- alpha = `0\.3` \*\(from `base`\)\*/);
    assert.match(md, /- attribution = `cam`(?! \*)/);
    assert.match(md, /- layer = `final` \*\(default\)\*/);
    assert.doesNotMatch(md, /- lambda/, 'keys that do not apply are left out');
  });

  it('on an enum value: its documentation', async () => {
    const md = await hoverAt('experiment a { guidance { loss = ener|gy } }');
    assert.ok(md);
    assert.match(md, /\*\*energy\*\*/);
    assert.match(md, /Energy loss \(Rao et al/);
  });

  it('on a call name: its signature and documentation', async () => {
    const md = await hoverAt('experiment a { train { optimizer = s|gd { lr = 0.1 } } }');
    assert.ok(md);
    assert.ok(md.includes('sgd { lr = …  momentum = …  weight_decay = … }'));
    assert.match(md, /Stochastic gradient descent/);
  });

  it('on an experiment name and on `extends`: the chain and a summary', async () => {
    const onExtends = await hoverAt(BASE + 'experiment mid extends base { }\nexperiment b extends m|id { train { epochs = 9 } }\n');
    assert.ok(onExtends);
    assert.match(onExtends, /\*\*experiment mid\*\* extends `base`/);
    assert.match(onExtends, /Chain: `mid` → `base`/);
    assert.match(onExtends, /guidance\.loss = `cyborg` \*\(from base\)\*/);
    const onName = await hoverAt(BASE + 'experiment mid extends base { }\nexperiment |b extends mid { train { epochs = 9 } }\n');
    assert.ok(onName);
    assert.match(onName, /Chain: `b` → `mid` → `base`/);
    assert.match(onName, /train\.epochs = `9`\n/);
  });

  it('on a folder data source: image count, annotated share and classes', async () => {
    const md = await hoverAt('experiment a {\n  data { source = fol|der("faces") }\n  guidance { loss = cyborg }\n}\n');
    assert.ok(md);
    assert.match(md, /4 images, 2 annotated \(50%\), 2 classes/);
    const onKey = await hoverAt('experiment a {\n  data { sou|rce = folder("faces") }\n}\n');
    assert.match(onKey ?? '', /4 images/);
  });

  it('on a built-in data set name', async () => {
    const md = await hoverAt('experiment a { data { source = builtin("decoy-m|nist") } }');
    assert.ok(md);
    assert.match(md, /Decoy MNIST \(Ross et al\. 2017\)/);
    assert.match(md, /10000 images/);
  });

  it('nothing on punctuation, comments and unknown keys', async () => {
    assert.equal(await hoverAt('experiment a {| }'), null);
    assert.equal(await hoverAt('# a com|ment\nexperiment a { }'), null);
    assert.equal(await hoverAt('experiment a { constr|uctor = 1 }'), null);
  });
});
