/**
 * The validator on boxes.json (`annotation = boxes`) and on multi-label labels.csv: problems
 * of the boxes file reported on the `boxes = "…"` value with the file's line, box coverage,
 * and multi-label data accepted on both engines: `engine = auto` follows its usual rule for it
 * (runs/start-run.ts chooseEngine), distributed training stays torch-only.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { DataScanner, imageDimensions } from '../../server/src/dsl/files';
import { analyze, type AnalyzeOptions, type Analysis } from '../../server/src/dsl/validate';
import { dataPreviewMarkdown, previewContextFor } from '../../server/src/language-server/saliency-preview';
import { decodePng } from '../../server/src/runs/png';
import { chooseEngine } from '../../server/src/runs/start-run';
import { describe as show, expectOne, tempDir, under } from './helpers';

function png(width: number, height: number): Buffer {
  const p = new PNG({ width, height });
  p.data.fill(255);
  return PNG.sync.write(p);
}

describe('dsl validator: boxes.json and multi-label data', () => {
  let ws: ReturnType<typeof tempDir>;
  let file: string;
  const opts = (): AnalyzeOptions => ({ filePath: file, workspaceRoot: ws.dir, scanner: new DataScanner(0), torch: () => ({ available: true, detail: '' }) });
  const exp = (data: string, rest = '  guidance { loss = energy }\n  train { engine = torch }\n') => `experiment a {\n  data {\n    source = folder("data")\n${data}  }\n${rest}}\n`;
  const boxesExp = (extra = '', rest?: string) => exp(`    annotation = boxes\n    boxes = "boxes.json"\n${extra}`, rest);
  const check = (text: string): Analysis => analyze(text, opts());

  beforeEach(() => {
    ws = tempDir();
    file = path.join(ws.dir, 'exp.sgt');
    ws.write('data/images/a.png', png(20, 10));
    ws.write('data/images/b.png', png(8, 8));
    ws.write('data/labels.csv', 'file,label\na.png,cat\nb.png,dog\n');
  });
  afterEach(() => ws.cleanup());

  it('accepts a good boxes file, with no saliency folder needed', () => {
    ws.write('data/boxes.json', '{"a.png": [[0, 0, 20, 10]], "b.png": [{"box": [1, 1, 8, 8], "label": "dog"}]}');
    const a = check(boxesExp());
    assert.deepEqual(a.diagnostics, [], show(a));
    assert.equal(a.experiments.get('a')!.data!.annotatedImages, 2);
  });

  it('reports each problem on the boxes value with the file, line and column', () => {
    ws.write(
      'data/boxes.json',
      ['{', '  "a.png": [[0, 0, 21, 10]],', '  "c.png": [[0, 0, 1, 1]],', '  "b.png": [{"box": [0, 0, 1, 1], "label": "cow"}],', '  "b.png": []', '}'].join('\n'),
    );
    const a = check(boxesExp());
    const found = a.diagnostics.filter((d) => d.code === 'bad-boxes');
    assert.equal(found.length, 4, show(a));
    for (const d of found) {
      assert.equal(d.severity, 'error');
      assert.equal(under(a.text, d), '"boxes.json"');
    }
    assert.deepEqual(
      found.map((d) => d.message.split(': ')[0]),
      [path.join('data', 'boxes.json:2:1'), path.join('data', 'boxes.json:3:1'), path.join('data', 'boxes.json:4:1'), path.join('data', 'boxes.json:5:3')],
    );
    assert.match(found[0].message, /reaches outside the 20×10 image/);
    assert.match(found[1].message, /"c.png" is not an image of the data set/);
    assert.match(found[2].message, /"cow", which is not a class of the data set/);
    assert.match(found[3].message, /listed twice/);
  });

  it('reports invalid JSON at its position, and caps a long list of problems', () => {
    ws.write('data/boxes.json', '{\n  "a.png": [[0, 0, 1, 1]]\n  "b.png": []\n}');
    expectOne(check(boxesExp()), { code: 'bad-boxes', severity: 'error', text: '"boxes.json"', words: ['boxes.json:3:3: not valid JSON: expected "," or "}"'] });
    ws.write('data/boxes.json', JSON.stringify(Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x${i}.png`, [[0, 0, 1, 1]]]))));
    const a = check(boxesExp());
    const found = a.diagnostics.filter((d) => d.code === 'bad-boxes');
    assert.equal(found.length, 6, show(a));
    assert.match(found[5].message, /4 more problems/);
  });

  it('reports a missing boxes file, and boxes coverage below `annotated`', () => {
    expectOne(check(boxesExp()), { code: 'path-not-found', severity: 'error', text: '"boxes.json"', words: ["Boxes file 'data/boxes.json' not found"] });
    ws.write('data/boxes.json', '{"a.png": [[0, 0, 2, 2]]}');
    expectOne(check(boxesExp('    annotated = 100%\n')), { code: 'annotation-coverage', severity: 'warning', text: '100%', words: ['Only 1 of 2 images (50%) have boxes'] });
    assert.deepEqual(check(boxesExp('    annotated = 50%\n')).diagnostics, []);
  });

  it('accepts multi-label data with engine = tfjs, and engine = auto follows its usual rule for it', () => {
    ws.write('data/labels.csv', 'file,label\na.png,cat;dog\nb.png,dog\n');
    ws.write('data/boxes.json', '{"a.png": [{"box": [0, 0, 4, 4], "label": "cat"}], "b.png": [[1, 1, 5, 5]]}');
    for (const loss of ['none', 'cyborg', 'energy', 'rrr']) {
      const a = check(boxesExp('', `  guidance { loss = ${loss} }\n  train { engine = tfjs }\n`));
      assert.deepEqual(a.diagnostics, [], `${loss}: ${show(a)}`);
      assert.equal(a.experiments.get('a')!.data!.classes, 2);
    }
    assert.deepEqual(check(boxesExp('', '  guidance { loss = none }\n  train { engine = torch }\n')).diagnostics, []);
    const auto = (env: NodeJS.ProcessEnv) => chooseEngine({ baseDir: ws.dir, data: { source: { type: 'folder', path: 'data' } }, train: { engine: 'auto' }, guidance: { loss: 'energy' } }, env);
    assert.deepEqual(auto({ SGT_TORCH: 'off' }), { engine: 'tfjs', reason: 'train.engine = auto; PyTorch is not importable, so tfjs' });
    // several devices still need torch, whatever the labels
    const ddp = chooseEngine({ baseDir: ws.dir, data: { source: { type: 'folder', path: 'data' } }, train: { engine: 'auto', devices: 2 }, guidance: { loss: 'none' } }, { SGT_TORCH: 'off' });
    assert.equal(ddp.engine, 'torch');
  });

  it('multi-label data on several data-parallel ranks: accepted on torch, refused on tfjs as for single-label data', () => {
    ws.write('data/labels.csv', 'file,label\na.png,cat;dog\nb.png,dog\n');
    const a = check(exp('', '  guidance { loss = none }\n  train { engine = torch  devices = 2  nodes = 2 }\n'));
    assert.deepEqual(a.diagnostics.filter((d) => d.code === 'incompatible'), []);
    const t = check(exp('', '  guidance { loss = none }\n  train { engine = tfjs  devices = 2 }\n'));
    expectOne(t, { code: 'incompatible', severity: 'error', text: '2', words: ['Distributed training (devices = 2) needs the torch engine'] });
  });

  it('does not ask for PyTorch with engine = auto on multi-label data (tfjs trains it)', () => {
    ws.write('data/labels.csv', 'file,label\na.png,cat;dog\nb.png,dog\n');
    const text = exp('', '  guidance { loss = none }\n  train { engine = auto }\n');
    const noTorch = analyze(text, { ...opts(), torch: () => ({ available: false, detail: 'no Python here imports torch' }) });
    assert.deepEqual(noTorch.diagnostics, [], show(noTorch));
    assert.deepEqual(check(text).diagnostics, []);
  });

  it('hover preview: the images with boxes, their masks drawn below (the shapes-boxes example)', () => {
    const example = path.resolve(__dirname, '..', '..', 'examples', 'shapes-boxes', 'shapes-boxes.sgt');
    const a = analyze(fs.readFileSync(example, 'utf8'), { filePath: example, workspaceRoot: path.dirname(example), scanner: new DataScanner(0) });
    const model = a.experiments.get('boxes_cyborg')!;
    assert.equal(model.data?.boxesFile, path.join(path.dirname(example), 'boxes.json'));
    const md = dataPreviewMarkdown(model, previewContextFor(undefined, example, undefined, false))!;
    assert.match(md, /4 images, 4 of them with boxes.*Bottom: their boxes as masks over the image.*40 of 48 images annotated/s);
    // img_000.png: a circle with box [25, 14, 34, 23] of the 40×32 image; the centre crop starts at x = 4,
    // so at 32 px (tile 64: ×2) the box is x ∈ [21, 30), y ∈ [14, 23): its centre is red, a corner outside is not
    const png = decodePng(Buffer.from(/base64,([^)]*)/.exec(md)![1], 'base64'));
    const tile = 64;
    const below = tile + 2; // the second row starts after the image row and the gap
    const at = (x: number, y: number) => [...png.rgba.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
    const [r, , b] = at(2 * 25, below + 2 * 18);
    assert.ok(r > b, `inside the box: ${r} ${b}`);
    const [r2, , b2] = at(2 * 2, below + 2 * 2);
    assert.ok(b2 > r2, `outside the box: ${r2} ${b2}`);
  });

  it('reads image sizes from PNG and JPEG headers', () => {
    assert.deepEqual(imageDimensions(path.join(ws.dir, 'data/images/a.png')), { width: 20, height: 10 });
    // a minimal JPEG start: SOI, an APP0 segment, SOF0 with height 7 and width 9
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x07, 0x00, 0x09, 0x01, 0x01, 0x11, 0x00]);
    assert.deepEqual(imageDimensions(ws.write('data/j.jpg', jpeg)), { width: 9, height: 7 });
    assert.equal(imageDimensions(ws.write('data/x.png', 'not an image')), undefined);
  });
});
