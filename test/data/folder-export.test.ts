/**
 * The streamed torch export of folder data (data/folder-export.ts): byte for byte the export
 * the in-memory path writes (writeExport(loadRunSamples(spec))) and the export of commit
 * 9d219eb, before streaming; the training statistics of data.normalize = dataset bit for bit;
 * memory bounded by one image, not the data set.
 */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { PNG } from 'pngjs';
import { dataKey, dataSpec, exportRunData, writeExport, writeFolderExport } from '../../server/src/data/export';
import { channelStatistics } from '../../server/src/data/normalize';
import { headOf, loadRunSamples } from '../../server/src/data/run-data';
import { CAM_PROBE_COUNT, camProbeSpec, loadCamProbe } from '../../server/src/data/cam-probe';

const root = path.resolve(__dirname, '..', '..');
const shapes = path.join(root, 'examples/shapes');
const boxes = path.join(root, 'examples/shapes-boxes');

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/** Every file of an export folder, by name. */
function files(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

/**
 * One hash of an export, meta.json without `trainStatistics` (which commit 9d219eb did not
 * write) and without its cache `key` (a hash of the settings, which name the data folder by
 * its absolute path: it differs between checkouts).
 */
function oldStyleHash(dir: string): string {
  const lines = [...files(dir)].map(([f, b]) => {
    if (f !== 'meta.json') return `${f}:${sha(b).slice(0, 16)}\n`;
    const meta = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
    delete meta.trainStatistics;
    delete meta.key;
    return `${f}:${sha(JSON.stringify(meta, null, 2) + '\n').slice(0, 16)}\n`;
  });
  return sha(lines.join('')).slice(0, 32);
}

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) p.data.set([...pixel(x, y), 255], (y * width + x) * 4);
  return PNG.sync.write(p);
}

const folderRun = (seed: number, baseDir: string, data: Record<string, unknown>, guidance: Record<string, unknown> = {}) => ({ seed, baseDir, data: { source: { type: 'folder', path: '.' }, normalize: 'dataset', ...data }, guidance });

describe('data/folder-export: the streamed torch export of folder data', function () {
  this.timeout(120_000);
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-fexport-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // hashes of the files commit 9d219eb (in-memory export) wrote for these settings (without
  // the cache key: recomputed from a `git archive 9d219eb` checkout elsewhere, the same values)
  const cases: [string, ReturnType<typeof folderRun>, NodeJS.ProcessEnv, string][] = [
    ['examples/shapes', folderRun(7, shapes, { image_size: 32, annotated: 0.75 }), {}, 'f360d72a98562dee98dfb2303b278a46'],
    ['examples/shapes, capped, missing_saliency = zeros', folderRun(2, shapes, { image_size: 16, annotated: 0.5 }, { missing_saliency: 'zeros' }), { SGT_MAX_TRAIN_IMAGES: '20', SGT_MAX_EVAL_IMAGES: '3' }, '97a213807856b7215122945b0308936e'],
    ['examples/shapes, no validation or test images', folderRun(9, shapes, { image_size: 12, annotated: 0.3, val_split: 0, test_split: 0 }), {}, 'f7d4011e691048e310f12b02f4714790'],
    ['examples/shapes-boxes, single-label', folderRun(3, boxes, { labels: 'labels-single.csv', annotation: 'boxes', boxes: 'boxes.json', image_size: 32, annotated: 0.75 }), {}, '5d750febae5e4187c4eca3d9e5d74d81'],
    ['examples/shapes-boxes, multi-label', folderRun(3, boxes, { annotation: 'boxes', boxes: 'boxes.json', image_size: 24, annotated: 0.75 }), {}, '05600a84f48b52b14eca7a3e12895059'],
  ];
  for (const [name, resolved, env, oldHash] of cases) {
    it(`${name}: the same bytes as the in-memory export and as before streaming`, () => {
      const runDir = path.join(tmp, sha(name).slice(0, 8), 'run');
      fs.mkdirSync(runDir, { recursive: true });
      const streamed = exportRunData(runDir, resolved, env);
      assert.equal(streamed.dir, path.join(runDir, 'data'));
      const spec = dataSpec(resolved, runDir, env);
      const inMemory = path.join(tmp, `${sha(name).slice(0, 8)}-memory`);
      const samples = loadRunSamples(spec);
      writeExport(inMemory, samples, dataKey(spec));
      const a = files(streamed.dir);
      const b = files(inMemory);
      assert.deepEqual([...a.keys()], [...b.keys()], 'the same files (no scratch file left)');
      for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f)!), `${f} byte for byte`);
      assert.equal(oldStyleHash(streamed.dir), oldHash, 'the files of the export before streaming');
      // data.normalize = dataset: the streamed pass's sums are normalize.ts's, bit for bit
      const meta = JSON.parse(a.get('meta.json')!.toString('utf8')) as { trainStatistics: unknown; encodings: Record<string, string> };
      assert.deepEqual(meta.trainStatistics, channelStatistics(samples.train));
      assert.ok(Object.values(meta.encodings).every((e) => e === 'unit8'));
    });
  }

  it('grey and RGB images mixed, maps, a corrupt file and a split column: the same bytes and statistics', () => {
    const dir = path.join(tmp, 'mixed');
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'saliency'), { recursive: true });
    const lines = ['file,label,split'];
    for (let i = 0; i < 30; i++) {
      const grey = i % 3 === 0;
      fs.writeFileSync(path.join(dir, 'images', `im${i}.png`), png(27, 21, (x, y) => (grey ? [(x * 9 + i) % 256, (x * 9 + i) % 256, (x * 9 + i) % 256] : [(x * 31 + i) % 256, (y * 17) % 256, (x * y) % 256])));
      if (i % 4) fs.writeFileSync(path.join(dir, 'saliency', `im${i}.png`), png(27, 21, (x, y) => [(x * 11) % 256, (y * 13) % 256, 40]));
      lines.push(`im${i}.png,${['a', 'b', 'c'][i % 3]},${i % 5 === 0 ? 'test' : i % 7 === 0 ? 'val' : 'train'}`);
    }
    fs.writeFileSync(path.join(dir, 'images', 'broken.png'), 'not a png');
    lines.push('broken.png,a,train');
    fs.writeFileSync(path.join(dir, 'labels.csv'), lines.join('\n'));
    const resolved = folderRun(4, dir, { image_size: 16, annotated: 0.6 });
    const runDir = path.join(tmp, 'mixed-run');
    fs.mkdirSync(runDir);
    const spec = dataSpec(resolved, runDir, {});
    const streamed = path.join(tmp, 'mixed-streamed');
    const inMemory = path.join(tmp, 'mixed-memory');
    writeFolderExport(streamed, spec, 'k');
    const samples = loadRunSamples(spec);
    writeExport(inMemory, samples, 'k');
    const a = files(streamed);
    const b = files(inMemory);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f)!), `${f} byte for byte`);
    const meta = JSON.parse(a.get('meta.json')!.toString('utf8')) as { channels: number; warnings: string[]; counts: Record<string, number>; trainStatistics: { mean: number[] } };
    assert.equal(meta.channels, 3);
    assert.match(meta.warnings[0], /broken\.png: not a readable PNG\/JPEG image/);
    assert.deepEqual(meta.counts, { train: 20, val: 4, test: 6 });
    assert.equal(meta.trainStatistics.mean.length, 3);
    assert.deepEqual(meta.trainStatistics, channelStatistics(samples.train));
  });

  it('the CAM probe of folder data: the images the in-memory loader gives, without holding the data set', () => {
    for (const [baseDir, data] of [
      [shapes, { image_size: 20 }],
      [boxes, { annotation: 'boxes', boxes: 'boxes.json', image_size: 24 }],
    ] as const) {
      const spec = dataSpec(folderRun(5, baseDir, data), tmp, {});
      const scratch = path.join(tmp, 'probe-scratch');
      fs.mkdirSync(scratch, { recursive: true });
      const probe = loadCamProbe(spec, undefined, scratch);
      assert.deepEqual(probe, headOf(loadRunSamples(camProbeSpec(spec)).test, CAM_PROBE_COUNT));
      assert.ok(probe.count > 0);
      assert.deepEqual(fs.readdirSync(scratch), [], 'the scratch file is removed');
    }
  });

  it('an unusable folder leaves no scratch file behind', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(path.join(dir, 'images', 'a'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'images', 'a', 'x.png'), 'corrupt');
    const out = path.join(tmp, 'empty-export');
    assert.throws(() => writeFolderExport(out, dataSpec(folderRun(1, dir, { image_size: 8 }), tmp, {}), 'k'), /No readable images/);
    assert.deepEqual(fs.readdirSync(out), []);
  });

  it('holds one image at a time: 300 RGB images of 128 px export with memory far below the data set', () => {
    const n = 300;
    const size = 128;
    const dir = path.join(tmp, 'many');
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'saliency'), { recursive: true });
    const lines = ['file,label'];
    for (let i = 0; i < n; i++) {
      fs.writeFileSync(path.join(dir, 'images', `p${i}.png`), png(size, size, (x, y) => [(x * 7 + i) % 256, (y * 5 + 3 * i) % 256, (x + y + i) % 256]));
      if (i % 2) fs.writeFileSync(path.join(dir, 'saliency', `p${i}.png`), png(size, size, (x) => [x * 2, x * 2, x * 2]));
      lines.push(`p${i}.png,${i % 2 ? 'odd' : 'even'}`);
    }
    fs.writeFileSync(path.join(dir, 'labels.csv'), lines.join('\n'));
    const spec = dataSpec(folderRun(1, dir, { image_size: size }), tmp, {});
    const dataBytes = n * size * size * 3; // the 8-bit images alone: 14.7 MB (float32: 59 MB, twice with the splits)

    // live memory (after a full collection) at the export's probes: decoded images, codes and buffers that are garbage do not count
    // (array buffers are otherwise freed by a background sweeper, after gc() returns)
    v8.setFlagsFromString('--expose-gc');
    v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
    const gc = vm.runInNewContext('gc') as () => void;
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = live();
    let peak = 0;
    let probes = 0;
    writeFolderExport(path.join(tmp, 'many-export'), spec, 'k', () => {
      // every 10th probe: a full collection per image would make the test slow
      if (probes++ % 10 === 0) peak = Math.max(peak, live() - base);
    });
    assert.ok(probes >= 2 * n, `probed while scanning and while writing (${probes})`);
    const images = fs.statSync(path.join(tmp, 'many-export', 'train-images.npy')).size;
    assert.ok(images > 0.7 * dataBytes, 'the training split is most of the data');
    assert.ok(peak < dataBytes / 4, `peak live memory growth ${(peak / 2 ** 20).toFixed(1)} MiB, the data set ${(dataBytes / 2 ** 20).toFixed(1)} MiB`);

    // the measurement sees a data set held in memory: the in-memory loader's arrays are several times the data
    const before = live();
    const held = loadRunSamples(spec);
    assert.ok(live() - before > 4 * dataBytes, 'the in-memory path holds the float32 data set');
    assert.equal(held.train.count + held.val.count + held.test.count, n);
  });
});
