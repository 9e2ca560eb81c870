/**
 * Saliency previews in hovers, through the real language server over in-memory LSP streams:
 * thumbnails of a data folder with its human maps, the built-in Decoy MNIST, the latest
 * run's CAM overlays on an experiment's name, the disk cache, and text that survives
 * broken images.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { Hover, MarkupContent } from 'vscode-languageserver/node';
import { renderOverlay } from '../../server/src/engines/tfjs/overlay';
import { URI } from 'vscode-uri';
import { clearPreviewMemory, DATA_URI_MAX_CHARS, PREVIEW_CACHE_DIR } from '../../server/src/language-server/saliency-preview';
import { WorkspaceTrustGrantedNotification } from '../../server/src/protocol';
import { createRunDir, RunWriter } from '../../server/src/runs/run-dir';
import { LspClient, cursor, fileUri, makeWorkspace } from './lsp-client';

/** A size×size grey PNG whose pixel (x, y) is f(x, y) in 0..255. */
function png(size: number, f: (x: number, y: number) => number): Buffer {
  const p = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 4;
      p.data[o] = p.data[o + 1] = p.data[o + 2] = f(x, y);
      p.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(p);
}

/** The images embedded in hover markdown, decoded. */
function images(md: string): { alt: string; png: PNG }[] {
  return [...md.matchAll(/!\[([^\]]*)\]\(data:image\/png;base64,([A-Za-z0-9+/=]+)\)/g)].map((m) => ({ alt: m[1], png: PNG.sync.read(Buffer.from(m[2], 'base64')) }));
}

describe('language server: saliency previews in hovers', function () {
  this.timeout(60_000);
  let ws: string;
  let client: LspClient;
  let n = 0;

  before(async () => {
    ws = makeWorkspace({ 'data/labels.csv': 'file,label\na.png,x\nb.png,y\nc.png,x\nd.png,y\ne.png,x\n' });
    fs.mkdirSync(path.join(ws, 'data/images'));
    for (const name of ['a', 'b', 'c', 'd', 'e']) fs.writeFileSync(path.join(ws, 'data/images', `${name}.png`), png(32, (x) => 8 * x));
    // c, d, e have maps: 3 of 5 annotated
    fs.mkdirSync(path.join(ws, 'data/saliency'));
    for (const name of ['c', 'd', 'e']) fs.writeFileSync(path.join(ws, 'data/saliency', `${name}.png`), png(32, (x, y) => (x > 16 && y > 16 ? 255 : 0)));
    client = await LspClient.start(ws);
  });
  after(() => {
    client?.dispose();
    fs.rmSync(ws, { recursive: true, force: true });
  });
  afterEach(() => assert.deepEqual(client.errors(), []));

  async function hoverAt(marked: string, name = `p${n++}.sgt`): Promise<string> {
    const { text, position } = cursor(marked);
    const uri = fileUri(ws, name);
    await client.open(uri, text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
    assert.ok(h, 'a hover');
    return (h.contents as MarkupContent).value;
  }

  const FOLDER = 'experiment f {\n  data { source = fol|der("data")  image_size = 32  annotated = 60% }\n  guidance { loss = cyborg }\n}\n';

  it('on a folder data source: thumbnails of the annotated images over their human maps, and how many are annotated', async () => {
    const md = await hoverAt(FOLDER);
    assert.match(md, /\*\*Data:\*\* 5 images, 3 annotated \(60%\)/);
    const [img, ...more] = images(md);
    assert.equal(more.length, 0);
    assert.match(img.alt, /Human saliency: 4 images, 3 of them with a saliency map/);
    assert.match(md, /3 of 5 images annotated \(60%\)/);
    // 4 columns of 64 px (32 px images ×2) with 2 px gaps; two rows
    assert.deepEqual([img.png.width, img.png.height], [4 * 64 + 3 * 2, 2 * 64 + 2]);
    // annotated images come first: column 0 is c.png; its map is salient bottom-right only
    const px = (x: number, y: number) => [...img.png.data.subarray((y * img.png.width + x) * 4, (y * img.png.width + x) * 4 + 3)];
    const [r1, , b1] = px(60, 66 + 60); // salient: red dominates
    const [r0, , b0] = px(4, 66 + 4); // not salient: blue dominates
    assert.ok(r1 > b1 && b0 > r0, `salient ${px(60, 126)} vs not ${px(4, 70)}`);
    // column 3 is an image without a map: dimmed, no colour
    const [r, g, b] = px(3 * 66 + 40, 66 + 10);
    assert.ok(r === g && g === b, 'no colour where there is no map');
    // cached on disk in the workspace
    assert.equal(fs.readdirSync(path.join(ws, PREVIEW_CACHE_DIR)).filter((f) => f.endsWith('.png')).length, 1);
  });

  it('on the saliency folder path and the data block too', async () => {
    const onPath = await hoverAt('experiment f {\n  data { source = folder("data")  saliency = "sal|iency"  image_size = 32 }\n}\n');
    assert.equal(images(onPath).length, 1);
    assert.match(onPath, /3 of 5 images annotated/);
    const onBlock = await hoverAt('experiment f {\n  da|ta { source = folder("data")  image_size = 32 }\n}\n');
    assert.equal(images(onBlock).length, 1);
  });

  it('uses the cache until an input changes: a changed map makes a new picture', async () => {
    const dir = path.join(ws, PREVIEW_CACHE_DIR);
    const before = fs.readdirSync(dir).length;
    clearPreviewMemory();
    await hoverAt(FOLDER);
    assert.equal(fs.readdirSync(dir).length, before, 'served from disk');
    const map = path.join(ws, 'data/saliency/c.png');
    fs.writeFileSync(map, png(32, (x) => (x < 8 ? 255 : 0)));
    fs.utimesSync(map, new Date(), new Date(Date.now() + 5000));
    await hoverAt(FOLDER);
    assert.equal(fs.readdirSync(dir).length, before + 1);
  });

  it('on builtin("decoy-mnist"): the first training digits with their stroke maps', async () => {
    const md = await hoverAt('experiment d {\n  seed = 3\n  data { source = builtin("decoy-m|nist") }\n}\n');
    assert.match(md, /10000 annotated \(100%\)/);
    const [img] = images(md);
    assert.match(img.alt, /first 4 training images of decoy-mnist \(seed 3\)/);
    assert.deepEqual([img.png.width, img.png.height], [4 * 56 + 3 * 2, 2 * 56 + 2]);
  });

  it('on an experiment name that has run: the latest run\'s CAM overlays next to the human maps', async () => {
    const runs = path.join(ws, '.sgt/runs');
    const size = 28;
    const sample = (v: number) => renderOverlay({ image: new Float32Array(size * size).fill(v), channels: 1, size, human: Float32Array.from({ length: size * size }, (_, i) => i), cam: new Float32Array(49).fill(v), camSize: 7 });
    // an older run, and a newer one with two overlay steps: the newest step of the newest run is shown
    fs.mkdirSync(runs, { recursive: true });
    for (const [stamp, value] of [['20260101-100000', 0.1], ['20260102-100000', 0.9]] as const) {
      const dir = createRunDir(runs, 'exp', 'experiment exp {}', { name: 'exp' });
      const named = path.join(runs, `exp-${stamp}-abcd`);
      fs.renameSync(dir, named);
      const w = new RunWriter(named);
      w.event({ type: 'started', time: 't', run: path.basename(named), experiment: 'exp', engine: 'tfjs', backend: 'cpu', backendReason: '', seed: 1, epochs: 1, stepsPerEpoch: 2 });
      w.overlay(1, 1, [sample(0), sample(0)]);
      w.overlay(1, 2, [sample(value), sample(value), sample(value)]);
      w.event({ type: 'epoch', time: 't', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.875, saliency_corr: 0.5 } });
      w.event({ type: 'finished', time: 't', summary: 'ok' });
      w.close();
    }
    const md = await hoverAt('experiment e|xp {\n  data { source = builtin("mnist") }\n}\n');
    assert.match(md, /\*\*experiment exp\*\*/, 'the text is still there');
    assert.match(md, /\*\*Latest run\*\* `exp-20260102-100000-abcd` \(finished\) — step 2, epoch 1 · val accuracy 0\.875 · saliency_corr 0\.500/);
    assert.match(md, /Each sample: image · human saliency map · the model's CAM over the image \(3 of 3 preview samples\)/);
    const [img] = images(md);
    // three image | human | CAM triplets, two per row
    assert.deepEqual([img.png.width, img.png.height], [2 * (3 * 56 + 2 * 2) + 6, 2 * 56 + 2]);
    assert.ok(md.indexOf('Latest run') < md.indexOf('- data.source'), 'the run preview comes right after the header');
    // the image panel of the newest step is light grey (0.9), not black (step 1) or dark (older run)
    assert.equal(img.png.data[0], Math.round(255 * Math.fround(0.9)));
    // an experiment without runs: no preview, the text only
    const other = await hoverAt('experiment ne|ver {\n  data { source = builtin("mnist") }\n}\n');
    assert.equal(images(other).length, 0);
    assert.doesNotMatch(other, /Latest run/);
  });

  it('renders the data thumbnails soon after a file opens, before any hover', async () => {
    fs.mkdirSync(path.join(ws, 'warm/images/k'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'warm/images/k/w.png'), png(16, (x, y) => 16 * y));
    const dir = path.join(ws, PREVIEW_CACHE_DIR);
    const before = new Set(fs.readdirSync(dir));
    await client.open(fileUri(ws, `p${n++}.sgt`), 'experiment w {\n  data { source = folder("warm")  image_size = 16 }\n}\n');
    // warm/ has one image: its picture is one column wide (other tests' prewarms of four-image
    // data sets may still be landing in the same folder on a loaded machine)
    const oneColumn = () => fs.readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.png') && PNG.sync.read(fs.readFileSync(path.join(dir, f))).width < 100);
    for (let i = 0; i < 50 && oneColumn().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(oneColumn().length, 1);
  });

  it('links a picture too big to inline (noisy photos) as a file: URI of its cache file, keeping the hover under VS Code\'s 100,000 characters', async () => {
    fs.mkdirSync(path.join(ws, 'photos/images'), { recursive: true });
    fs.mkdirSync(path.join(ws, 'photos/saliency'), { recursive: true });
    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) % 256);
    for (const name of ['p1', 'p2', 'p3', 'p4']) {
      const p = new PNG({ width: 96, height: 96 });
      for (let i = 0; i < p.data.length; i++) p.data[i] = i % 4 === 3 ? 255 : noise();
      fs.writeFileSync(path.join(ws, 'photos/images', `${name}.png`), PNG.sync.write(p));
      fs.writeFileSync(path.join(ws, 'photos/saliency', `${name}.png`), png(96, () => noise()));
    }
    const md = await hoverAt('experiment ph {\n  data { source = fol|der("photos")  image_size = 96 }\n}\n');
    assert.equal(images(md).length, 0, 'not inline');
    const link = /!\[Human saliency: 4 images, 4 of them with a saliency map\]\((file:\/\/[^)]+\.png)\)/.exec(md);
    assert.ok(link, md.slice(0, 500));
    const file = URI.parse(link[1]).fsPath;
    assert.equal(path.dirname(file), path.join(ws, PREVIEW_CACHE_DIR));
    const pic = PNG.sync.read(fs.readFileSync(file));
    assert.deepEqual([pic.width, pic.height], [4 * 72 + 3 * 2, 2 * 72 + 2]);
    assert.ok(Buffer.from(fs.readFileSync(file)).toString('base64').length > DATA_URI_MAX_CHARS);
    assert.ok(md.length < 100_000);
  });

  it('keeps the hover text when the images cannot be read', async () => {
    fs.mkdirSync(path.join(ws, 'bad/images'), { recursive: true });
    fs.mkdirSync(path.join(ws, 'bad/saliency'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'bad/labels.csv'), 'file,label\nz.png,x\ny.png,y\n');
    fs.writeFileSync(path.join(ws, 'bad/images/z.png'), 'not a png');
    fs.writeFileSync(path.join(ws, 'bad/images/y.png'), 'not a png either');
    fs.writeFileSync(path.join(ws, 'bad/saliency/z.png'), 'nope');
    const md = await hoverAt('experiment b {\n  data { source = fol|der("bad") }\n}\n');
    assert.match(md, /\*\*folder\(path\)\*\*/);
    assert.match(md, /\*\*Data:\*\* 2 images, 1 annotated/);
    assert.equal(images(md).length, 0);
    assert.match(md, /saliency preview unavailable/);
  });
});

describe('language server: hover previews in an untrusted workspace', function () {
  this.timeout(60_000);

  it('writes nothing into the workspace until trust is granted, and shows the pictures all the same', async () => {
    const ws = makeWorkspace({ 'data/labels.csv': 'file,label\na.png,x\nb.png,y\n' });
    fs.mkdirSync(path.join(ws, 'data/images'));
    fs.mkdirSync(path.join(ws, 'data/saliency'));
    for (const name of ['a', 'b']) {
      fs.writeFileSync(path.join(ws, 'data/images', `${name}.png`), png(16, (x) => 16 * x));
      fs.writeFileSync(path.join(ws, 'data/saliency', `${name}.png`), png(16, (x) => (x > 8 ? 255 : 0)));
    }
    clearPreviewMemory();
    const client = await LspClient.start(ws, { workspaceTrusted: false });
    try {
      const hoverOn = async (name: string) => {
        const { text, position } = cursor('experiment u {\n  data { source = fol|der("data")  image_size = 16 }\n}\n');
        const uri = fileUri(ws, name);
        await client.open(uri, text);
        const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
        return (h!.contents as MarkupContent).value;
      };
      assert.equal(images(await hoverOn('u1.sgt')).length, 1, 'a picture from memory');
      // the prewarm on open runs 250 ms later: give it the chance to (wrongly) write
      await new Promise((r) => setTimeout(r, 600));
      assert.ok(!fs.existsSync(path.join(ws, '.sgt')), 'no .sgt/ in an untrusted workspace');

      await client.notify(WorkspaceTrustGrantedNotification.method, {});
      clearPreviewMemory();
      assert.equal(images(await hoverOn('u2.sgt')).length, 1);
      assert.ok(fs.readdirSync(path.join(ws, PREVIEW_CACHE_DIR)).some((f) => f.endsWith('.png')), 'cached on disk once trusted');
      assert.deepEqual(client.errors(), []);
    } finally {
      client.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
