/**
 * Boxes as annotation (data/boxes.ts) and multi-label data (data/multi-label.ts): boxes.json
 * parsing with lines, Rao's box → mask rule at the training size (scaling, centre crop, union,
 * exclusive end) against hand-computed masks, the seeded target-class draw, and the folder
 * loader's boxes / multi-label paths and errors.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { fillMask, matchBoxes, parseBoxes, scaleBox, type PixelBox } from '../../server/src/data/boxes';
import { DataError, loadFolder } from '../../server/src/data/folder';
import { csvIsMultiLabel, sampleTargetClasses } from '../../server/src/data/multi-label';
import { loadRunSamples } from '../../server/src/data/run-data';
import { createRng } from '../../server/src/data/rng';

const example = path.join(__dirname, '../../examples/shapes-boxes');

/** A size×size mask as rows of 0/1 strings, for readable comparisons. */
function rows(mask: Float32Array, size: number, offset = 0): string[] {
  return Array.from({ length: size }, (_, y) => Array.from(mask.subarray(offset + y * size, offset + (y + 1) * size), (v) => String(v)).join(''));
}

function maskOf(boxes: PixelBox[], cls: number, size: number): string[] {
  const m = new Float32Array(size * size);
  fillMask(boxes, cls, size, m);
  return rows(m, size);
}

function png(width: number, height: number, value = 128): Buffer {
  const p = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) p.data.set([value, value, value, 255], i * 4);
  return PNG.sync.write(p);
}

describe('data/boxes: boxes.json', () => {
  it('reads plain and labelled boxes with the line of every entry and box', () => {
    const text = '{\n  "a.png": [[0, 0, 2, 2]],\n  "b.png": [\n    {"box": [1, 2, 3, 4], "label": "cat"},\n    [0, 0, 1.5, 1]\n  ]\n}\n';
    const { entries, problems } = parseBoxes(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(entries, [
      { file: 'a.png', line: 2, boxes: [{ x0: 0, y0: 0, x1: 2, y1: 2, line: 2 }] },
      {
        file: 'b.png',
        line: 3,
        boxes: [
          { x0: 1, y0: 2, x1: 3, y1: 4, label: 'cat', line: 4 },
          { x0: 0, y0: 0, x1: 1.5, y1: 1, line: 5 },
        ],
      },
    ]);
  });

  it('reports bad JSON and malformed boxes by line and column, never throwing', () => {
    assert.deepEqual(parseBoxes('{\n  "a.png": [[0, 0, 2, 2]],\n  "b.png" [[0, 0, 1, 1]]\n}').problems, [{ line: 3, column: 11, message: 'not valid JSON: expected ":" after the key' }]);
    assert.match(parseBoxes('[[0, 0, 1, 1]]').problems[0].message, /expected a JSON object mapping image files/);
    assert.equal(parseBoxes('').problems[0].line, 1);
    assert.equal(parseBoxes('{"a": ' + '['.repeat(200)).problems.length, 1);
    const bad = parseBoxes(
      [
        '{',
        '  "a.png": [[0, 0, 2]],',
        '  "b.png": [[5, 0, 2, 2]],',
        '  "c.png": [{"box": [0, 0, 1, 1], "colour": "red"}],',
        '  "d.png": [[-1, 0, 2, 2]],',
        '  "e.png": {"box": [0, 0, 1, 1]},',
        '  "a.png": [],',
        '  "f.png": [{"label": "cat"}],',
        '  "g.png": [{"box": [0, 0, 1, 1], "label": ""}]',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(
      bad.problems.map((p) => [p.line, p.message.replace(/:.*/, '')]),
      [
        [2, '"a.png"'],
        [3, '"b.png"'],
        [4, '"c.png"'],
        [5, '"d.png"'],
        [6, '"e.png"'],
        [7, '"a.png" is listed twice (first on line 2)'],
        [8, '"f.png"'],
        [9, '"g.png"'],
      ],
    );
    assert.match(bad.problems[1].message, /is empty: it needs x0 < x1/);
    assert.match(bad.problems[2].message, /unknown field "colour"/);
    // the well-formed parts survive: entries with their good boxes (here none)
    assert.deepEqual(
      bad.entries.map((e) => e.file),
      ['a.png', 'b.png', 'c.png', 'd.png', 'f.png', 'g.png'],
    );
  });

  it('matches entries to images by path or unique file name, and checks labels and bounds', () => {
    const { entries } = parseBoxes('{\n"cat/x.png": [[0, 0, 4, 4]],\n"y.png": [{"box": [0, 0, 9, 4], "label": "dog"}],\n"z.png": [{"box": [0, 0, 4, 4], "label": "cow"}],\n"nope.png": [[0, 0, 1, 1]]\n}');
    const { byImage, problems } = matchBoxes(entries, {
      images: ['cat/x.png', 'dog/y.png', 'dog/z.png'],
      classes: ['cat', 'dog'],
      sizeOf: () => ({ width: 8, height: 8 }),
    });
    assert.deepEqual([...byImage.keys()], ['cat/x.png', 'dog/y.png', 'dog/z.png']);
    assert.equal(byImage.get('dog/y.png')!.length, 0);
    assert.deepEqual(
      problems.map((p) => p.line),
      [3, 4, 5],
    );
    assert.match(problems[0].message, /reaches outside the 8×8 image/);
    assert.match(problems[1].message, /box labelled "cow", which is not a class of the data set \("cat", "dog"\)/);
    assert.match(problems[2].message, /"nope.png" is not an image of the data set/);
  });
});

describe("data/boxes: Rao's rule at the training size", () => {
  it('keeps a box exactly when the image is already square at the training size (end exclusive)', () => {
    const b = scaleBox({ x0: 1, y0: 2, x1: 3, y1: 4 }, 5, 5, 5, 0)!;
    assert.deepEqual(b, { cls: 0, x0: 1, y0: 2, x1: 3, y1: 4 });
    assert.deepEqual(maskOf([b], 0, 5), ['00000', '00000', '01100', '01100', '00000']);
  });

  it('takes the union of the boxes of the target class only', () => {
    const boxes = [scaleBox({ x0: 0, y0: 0, x1: 2, y1: 2 }, 4, 4, 4, 1)!, scaleBox({ x0: 1, y0: 1, x1: 3, y1: 3 }, 4, 4, 4, 1)!, scaleBox({ x0: 3, y0: 3, x1: 4, y1: 4 }, 4, 4, 4, 0)!];
    assert.deepEqual(maskOf(boxes, 1, 4), ['1100', '1110', '0110', '0000']);
    assert.deepEqual(maskOf(boxes, 0, 4), ['0000', '0000', '0000', '0001']);
    const none = new Float32Array(16);
    assert.equal(fillMask(boxes, 2, 4, none), false);
    assert.ok(none.every((v) => v === 0));
  });

  it('scales by size/side on pixel centres: [2, 6) of 8 px at 4 px is [1, 3); [3, 6) is [1, 3) (centre 1.5 ≥ 1.5), [3, 5) is [1, 2)', () => {
    assert.deepEqual(scaleBox({ x0: 2, y0: 0, x1: 6, y1: 8 }, 8, 8, 4, 0), { cls: 0, x0: 1, x1: 3, y0: 0, y1: 4 });
    // 3·½ = 1.5 → first centre ≥ 1.5 is 1.5 (pixel 1); 6·½ = 3 → centres < 3: pixels up to 2
    assert.deepEqual(scaleBox({ x0: 3, y0: 0, x1: 6, y1: 1 }, 8, 8, 4, 0), { cls: 0, x0: 1, x1: 3, y0: 0, y1: 1 });
    // [1.5, 2.5): centre 1.5 in, 2.5 out
    assert.deepEqual(scaleBox({ x0: 3, y0: 0, x1: 5, y1: 1 }, 8, 8, 4, 0), { cls: 0, x0: 1, x1: 2, y0: 0, y1: 1 });
    // up-scaling 2 → 6 px: [1, 2) becomes [3, 6)
    assert.deepEqual(scaleBox({ x0: 1, y0: 0, x1: 2, y1: 2 }, 2, 2, 6, 0), { cls: 0, x0: 3, x1: 6, y0: 0, y1: 6 });
  });

  it('keeps a box thinner than a target pixel as the pixel its middle falls in', () => {
    // 1 px of 8 at 2 px: [0.25, 0.5) holds no centre; its middle 0.375 is in pixel 0
    assert.deepEqual(scaleBox({ x0: 1, y0: 5, x1: 2, y1: 6 }, 8, 8, 2, 0), { cls: 0, x0: 0, x1: 1, y0: 1, y1: 2 });
  });

  it('follows the centre crop of a non-square image and drops boxes wholly outside it', () => {
    // 12×8: the crop keeps x ∈ [2, 10); at 4 px a pixel is 2 original pixels
    assert.deepEqual(scaleBox({ x0: 2, y0: 0, x1: 6, y1: 4 }, 12, 8, 4, 0), { cls: 0, x0: 0, x1: 2, y0: 0, y1: 2 });
    // clipped at the crop's right edge
    assert.deepEqual(scaleBox({ x0: 8, y0: 4, x1: 12, y1: 8 }, 12, 8, 4, 0), { cls: 0, x0: 3, x1: 4, y0: 2, y1: 4 });
    assert.equal(scaleBox({ x0: 0, y0: 0, x1: 2, y1: 8 }, 12, 8, 4, 0), undefined);
    assert.equal(scaleBox({ x0: 10, y0: 0, x1: 12, y1: 8 }, 12, 8, 4, 0), undefined);
    // a tall image crops y the same way: 8×12 keeps y ∈ [2, 10)
    assert.deepEqual(scaleBox({ x0: 0, y0: 2, x1: 8, y1: 6 }, 8, 12, 4, 0), { cls: 0, x0: 0, x1: 4, y0: 0, y1: 2 });
  });
});

describe('data/multi-label: target classes', () => {
  // 5 images × 3 classes
  const multi = Uint8Array.from([1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1]);

  it('draws one present class per image, -1 for an image without labels, from the seed and epoch', () => {
    const t = sampleTargetClasses(multi, 3, 7, 0);
    assert.equal(t.length, 5);
    assert.ok([0, 2].includes(t[0]));
    assert.equal(t[1], 1);
    assert.ok([0, 1, 2].includes(t[2]));
    assert.equal(t[3], -1);
    assert.equal(t[4], 2);
    assert.deepEqual(sampleTargetClasses(multi, 3, 7, 0), t);
    // the documented draw: createRng(seed, 3000 + epoch).int(n_labels) per image with labels, in order
    const rng = createRng(7, 3000 + 4);
    const want = [[0, 2], [1], [0, 1, 2], [], [2]].map((present) => (present.length ? present[rng.int(present.length)] : -1));
    assert.deepEqual(Array.from(sampleTargetClasses(multi, 3, 7, 4)), want);
  });

  it('samples every present class over epochs, and differs between seeds', () => {
    const wide = new Uint8Array(200 * 3);
    for (let i = 0; i < 200; i++) wide.set([1, 1, 1], i * 3);
    const seen = new Set<number>();
    for (let e = 0; e < 3; e++) for (const k of sampleTargetClasses(wide, 3, 1, e)) seen.add(k);
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
    assert.notDeepEqual(Array.from(sampleTargetClasses(wide, 3, 1, 0)), Array.from(sampleTargetClasses(wide, 3, 2, 0)));
    assert.notDeepEqual(Array.from(sampleTargetClasses(wide, 3, 1, 0)), Array.from(sampleTargetClasses(wide, 3, 1, 1)));
  });

  it('tells a multi-label labels.csv from a single-label one', () => {
    assert.equal(csvIsMultiLabel(path.join(example, 'labels.csv')), true);
    assert.equal(csvIsMultiLabel(path.join(example, 'labels-single.csv')), false);
    assert.equal(csvIsMultiLabel(path.join(example, 'missing.csv')), false);
  });
});

describe('data/folder: boxes and multi-label data', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-boxes-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  const load = (extra: Partial<Parameters<typeof loadFolder>[0]> = {}) => loadFolder({ root: dir, imageSize: 4, seed: 1, valFraction: 0, testFraction: 0, boxes: 'boxes.json', ...extra });

  it('turns boxes into the human map of the image label (single-label), scaled with the centre crop', () => {
    write('images/a.png', png(12, 8));
    write('images/b.png', png(8, 8));
    write('images/c.png', png(8, 8));
    write('labels.csv', 'file,label\na.png,cat\nb.png,dog\nc.png,dog\n');
    // a: one box of its class (8, 4)-(12, 8) → target [3, 4) × [2, 4); a dog box that is not its class's
    // b: an unlabelled box → its label's; c: no entry → no map
    write('boxes.json', '{"a.png": [{"box": [8, 4, 12, 8], "label": "cat"}, {"box": [2, 0, 6, 2], "label": "dog"}], "b.png": [[0, 0, 4, 2]]}');
    const d = load();
    assert.equal(d.multiLabel, false);
    assert.deepEqual(d.warnings, []);
    const at = (f: string) => d.train.files!.indexOf(f);
    assert.deepEqual(rows(d.train.saliency, 4, at('a.png') * 16), ['0000', '0000', '0001', '0001']);
    assert.deepEqual(rows(d.train.saliency, 4, at('b.png') * 16), ['1100', '0000', '0000', '0000']);
    assert.deepEqual(rows(d.train.saliency, 4, at('c.png') * 16), ['0000', '0000', '0000', '0000']);
    assert.deepEqual([at('a.png'), at('b.png'), at('c.png')].map((i) => d.train.hasSaliency![i]), [1, 1, 0]);
    // every box kept with its class, for the torch engine's per-class masks
    assert.deepEqual(d.train.boxes![at('a.png')], [
      { cls: 0, x0: 3, x1: 4, y0: 2, y1: 4 },
      { cls: 1, x0: 0, x1: 2, y0: 0, y1: 1 },
    ]);
  });

  it('reads several labels per image separated by ";" as a multi-label data set', () => {
    write('images/a.png', png(8, 8));
    write('images/b.png', png(8, 8));
    write('images/c.png', png(8, 8));
    write('labels.csv', 'file,label\na.png,cat;dog\nb.png,dog\nc.png, bird ; cat ;cat\n');
    write('boxes.json', '{"a.png": [[0, 0, 4, 4], {"box": [4, 4, 8, 8], "label": "dog"}], "c.png": [{"box": [0, 0, 8, 8], "label": "cat"}]}');
    const d = load();
    assert.equal(d.multiLabel, true);
    assert.deepEqual(d.classNames, ['bird', 'cat', 'dog']);
    const at = (f: string) => d.train.files!.indexOf(f);
    const labelsOf = (f: string) => Array.from(d.train.multiLabels!.subarray(at(f) * 3, at(f) * 3 + 3));
    assert.deepEqual(labelsOf('a.png'), [0, 1, 1]);
    assert.deepEqual(labelsOf('b.png'), [0, 0, 1]);
    assert.deepEqual(labelsOf('c.png'), [1, 1, 0]);
    // `labels` is the first label written
    assert.equal(d.classNames[d.train.labels[at('c.png')]], 'bird');
    // an unlabelled box belongs to every label of its image
    assert.deepEqual(
      d.train.boxes![at('a.png')].map((b) => b.cls),
      [1, 2, 2],
    );
    // guided when it has any box; the human map is its first label's mask (c: bird has none)
    assert.deepEqual([at('a.png'), at('b.png'), at('c.png')].map((i) => d.train.hasSaliency![i]), [1, 0, 1]);
    assert.ok(d.train.saliency.subarray(at('c.png') * 16, at('c.png') * 16 + 16).every((v) => v === 0));
    // the run samples carry it through (caps keep the per-image arrays aligned)
    const run = loadRunSamples({ seed: 1, baseDir: dir, source: { type: 'folder', path: '.' }, imageSize: 4, annotated: 1, valSplit: 0, testSplit: 0, boxes: 'boxes.json', missingSaliency: 'skip', maxTrain: 2, maxEval: null });
    assert.equal(run.multiLabel, true);
    assert.equal(run.train.multiLabels!.length, 2 * 3);
    assert.equal(run.train.boxes!.length, 2);
  });

  it('stops with the file, line and fix for a bad boxes file, an unknown image or a box outside its image', () => {
    write('images/a.png', png(8, 6));
    write('labels.csv', 'a.png,cat\n');
    const fails = (json: string | undefined, pattern: RegExp) => {
      if (json !== undefined) write('boxes.json', json);
      assert.throws(() => load(), (e: Error) => e instanceof DataError && pattern.test(e.message), json);
    };
    fails('{"a.png": [[0, 0, 1, 1]],}', /boxes\.json:1:\d+: not valid JSON/);
    fails('{\n"a.png": [[0, 0, 9, 1]]\n}', /boxes\.json:2:1: "a.png": box \[0, 0, 9, 1\] reaches outside the 8×6 image/);
    fails('{\n"a.png": [[0, 0, 1, 1]],\n"b.png": [[0, 0, 1, 1]]\n}', /boxes\.json:3:1: "b.png" is not an image of the data set.*fix the name or remove the entry/);
    fails('{"a.png": [{"box": [0, 0, 1, 1], "label": "dog"}]}', /box labelled "dog", which is not a class of the data set \("cat"\): fix the box's label/);
    fs.rmSync(path.join(dir, 'boxes.json'));
    fails(undefined, /Boxes file not found or unreadable: .*boxes\.json \(ENOENT\)\. Set `boxes = "…"`/);
  });

  it('warns about a box the centre crop drops', () => {
    write('images/a.png', png(12, 4));
    write('labels.csv', 'a.png,cat\n');
    write('boxes.json', '{"a.png": [[0, 0, 3, 4], [4, 0, 8, 4]]}');
    const d = load();
    assert.equal(d.warnings.length, 1);
    assert.match(d.warnings[0], /boxes\.json:1: the box \[0, 0, 3, 4\] of "a.png" lies in the part of the 12×4 image the centre crop drops/);
    assert.deepEqual(rows(d.train.saliency, 4), ['1111', '1111', '1111', '1111']);
  });

  it('loads the shapes-boxes example in both label files', () => {
    const single = loadFolder({ root: example, labels: 'labels-single.csv', boxes: 'boxes.json', imageSize: 32, seed: 3, valFraction: 0.1, testFraction: 0.1 });
    assert.equal(single.multiLabel, false);
    assert.equal(single.train.count + single.val.count + single.test.count, 32);
    assert.deepEqual(single.warnings, []);
    const multi = loadFolder({ root: example, boxes: 'boxes.json', imageSize: 32, seed: 3, valFraction: 0.1, testFraction: 0.1 });
    assert.equal(multi.multiLabel, true);
    assert.equal(multi.train.count + multi.val.count + multi.test.count, 48);
    const boxed = [multi.train, multi.val, multi.test].reduce((n, s) => n + s.hasSaliency!.reduce((a, b) => a + b, 0), 0);
    assert.equal(boxed, 40);
  });
});
