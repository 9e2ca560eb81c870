/**
 * Cross-run consistency (runs/consistency.ts) on hand-computed CAMs, and the CAM file
 * (runs/cam-file.ts) it reads: format round trip, and the checks that keep runs on
 * different images, at other epochs or without a file from being compared.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CAM_FILE, decodeCamFile, encodeCamFile, writeCamFile, type CamMaps } from '../../server/src/runs/cam-file';
import { camConsistency, consistencyOfRuns } from '../../server/src/runs/consistency';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('cross-run consistency', () => {
  it('two runs: mean over images of the Pearson correlation (hand-computed)', () => {
    // image 0: A = [0, .5, 1], B = [0, 1, .5] → deviations [−.5, 0, .5] and [−.5, .5, 0]: r = .25 / .5 = 0.5
    // image 1: identical maps → r = 1
    const a = f32(0, 0.5, 1, 1, 0, 0);
    const b = f32(0, 1, 0.5, 1, 0, 0);
    const c = camConsistency([a, b], 2, 3)!;
    assert.ok(Math.abs(c.value - 0.75) < 1e-12, String(c.value));
    assert.deepEqual({ images: c.images, pairs: c.pairs, runs: c.runs }, { images: 2, pairs: 2, runs: 2 });
  });

  it('three runs: mean pairwise correlation per image; pairs with a flat map are left out', () => {
    const a = f32(0, 0.5, 1, 1, 0, 0);
    const b = f32(0, 1, 0.5, 1, 0, 0);
    // image 0: C is A reversed: r(A,C) = −1; r(B,C): [−.5, .5, 0]·[.5, 0, −.5] = −.25 → −0.5; r(A,B) = 0.5
    // image 1: C is flat (a normalised dead CAM): only (A, B) counts, r = 1
    const cMaps = f32(1, 0.5, 0, 0, 0, 0);
    const c = camConsistency([a, b, cMaps], 2, 3)!;
    const expected = ((0.5 - 1 - 0.5) / 3 + 1) / 2; // = 1/3
    assert.ok(Math.abs(c.value - expected) < 1e-12, `${c.value} vs ${expected}`);
    assert.equal(c.pairs, 4);
    assert.equal(c.images, 2);
  });

  it('identical runs give 1.0; one run or only flat maps give nothing', () => {
    const maps = Float32Array.from({ length: 5 * 49 }, (_, i) => Math.abs(Math.sin(i * 1.7)));
    const c = camConsistency([maps, maps.slice(), maps.slice()], 5, 49)!;
    assert.ok(Math.abs(c.value - 1) < 1e-12, String(c.value));
    assert.equal(camConsistency([maps], 5, 49), undefined);
    assert.equal(camConsistency([new Float32Array(6), new Float32Array(6)], 2, 3), undefined);
    assert.throws(() => camConsistency([maps, new Float32Array(3)], 5, 49), /expected 5×49/);
  });

  it('is invariant to scale and offset of a map (Pearson), and −1 for a reversed map', () => {
    const a = f32(0.1, 0.4, 0.2, 0.9);
    assert.ok(Math.abs(camConsistency([a, a.map((v) => 0.5 * v + 0.2)], 1, 4)!.value - 1) < 1e-6);
    assert.ok(Math.abs(camConsistency([a, a.map((v) => 1 - v)], 1, 4)!.value + 1) < 1e-6);
  });
});

describe('CAM file and the consistency of run directories', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-consistency-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cams = (maps: Float32Array, over: Partial<CamMaps> = {}): CamMaps => ({
    epoch: 2,
    step: 20,
    probe: { dataSeed: 0, split: 'test', count: 2, imageSize: 6, channels: 1, sha256: 'ab'.repeat(32) },
    labels: [3, 1],
    count: 2,
    height: 1,
    width: 3,
    maps,
    ...over,
  });

  function run(name: string, maps: Float32Array | undefined, selectedEpoch: number | null = 2, over: Partial<CamMaps> = {}): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    if (selectedEpoch !== null) fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ selectedEpoch, metrics: { val: { accuracy: 0.9 } } }));
    if (maps) writeCamFile(dir, cams(maps, over));
    return dir;
  }

  it('round-trips the format: little-endian float32 in base64, shape, probe identity', () => {
    const m = cams(f32(0, 0.25, 1, 1, 0.5, 0));
    const text = encodeCamFile(m);
    const raw = JSON.parse(text);
    assert.equal(raw.format, 'sgt-cams/1');
    assert.deepEqual(raw.shape, [2, 1, 3]);
    assert.equal(raw.camClass, 'label');
    assert.equal(Buffer.from(raw.data, 'base64').readFloatLE(4), 0.25);
    const back = decodeCamFile(text);
    assert.deepEqual(Array.from(back.maps), [0, 0.25, 1, 1, 0.5, 0]);
    assert.deepEqual({ epoch: back.epoch, labels: back.labels, sha: back.probe.sha256 }, { epoch: 2, labels: [3, 1], sha: 'ab'.repeat(32) });
    assert.throws(() => decodeCamFile(text.replace('"float32"', '"float16"')), /dtype/);
    assert.throws(() => decodeCamFile(JSON.stringify({ ...raw, shape: [2, 2, 3] })), /bytes/);
  });

  it('computes the consistency of runs that recorded their kept checkpoint on the same images', () => {
    const a = run('a', f32(0, 0.5, 1, 1, 0, 0));
    const b = run('b', f32(0, 1, 0.5, 1, 0, 0));
    const r = consistencyOfRuns([a, b]);
    assert.ok(r.ok);
    assert.ok(Math.abs(r.value - 0.75) < 1e-7);
    assert.ok(fs.existsSync(path.join(a, CAM_FILE)));
  });

  it('says why it cannot compare: no file, another epoch than the kept one, other images, other CAM size, unfinished', () => {
    const a = run('a', f32(0, 0.5, 1, 1, 0, 0));
    const reason = (dirs: string[]) => {
      const r = consistencyOfRuns(dirs);
      assert.equal(r.ok, false);
      return (r as { reason: string }).reason;
    };
    assert.match(reason([a]), /at least two/);
    assert.match(reason([a, run('none', undefined)]), /no cams\/probe\.json \(add `consistency` to evaluate\.metrics\)/);
    assert.match(reason([a, run('stale', f32(0, 1, 0.5, 1, 0, 0), 3)]), /from epoch 2, the kept checkpoint is epoch 3/);
    assert.match(reason([a, run('other', f32(0, 1, 0.5, 1, 0, 0), 2, { probe: { ...cams(new Float32Array(6)).probe, sha256: 'cd'.repeat(32) } })]), /other images/);
    assert.match(reason([a, run('wide', new Float32Array(8).fill(0.5), 2, { width: 4 })]), /CAM sizes differ/);
    assert.match(reason([a, run('running', f32(0, 1, 0.5, 1, 0, 0), null)]), /has not finished/);
    fs.writeFileSync(path.join(a, CAM_FILE), '{"format":"x"');
    assert.match(reason([a, run('b', f32(0, 1, 0.5, 1, 0, 0))]), /unreadable/);
  });
});
