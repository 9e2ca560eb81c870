/** The report of a sweep's runs: one group per swept setting other than the seed, mean ± sd over its seeds. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { loadRun } from '../../server/src/report/load';
import { buildReport } from '../../server/src/report/report';
import { formatMeanSd, groupBySetting, groupLabel } from '../../server/src/report/seed-groups';
import { settingRows } from '../../server/src/report/settings';
import { createRunDir, RUN_FILES } from '../../server/src/runs/run-dir';
import { tempDir } from '../runs/helpers';

const T = '2024-01-01T00:00:00.000Z';

/** A finished run of the sweep `m` with the resolved settings of its point and a kept test accuracy. */
function sweepRun(runsDir: string, name: string, point: Record<string, string | number>, testAccuracy: number): string {
  const guidance: Record<string, unknown> = { loss: point['guidance.loss'] };
  if (point['guidance.alpha'] !== undefined) guidance.alpha = point['guidance.alpha'];
  const resolved = { name, extends: [], seed: point.seed, data: { normalize: 'dataset' }, guidance, sweep: { of: 'm', point } };
  const dir = createRunDir(runsDir, name, '', resolved);
  const events: RunEvent[] = [
    { time: T, type: 'started', run: name, experiment: name, engine: 'tfjs', backend: 'cpu', backendReason: '', seed: Number(point.seed), epochs: 1, stepsPerEpoch: 1 },
    { time: T, type: 'epoch', epoch: 1, step: 1, split: 'test', metrics: { accuracy: testAccuracy } },
    { time: T, type: 'finished', summary: 'ok' },
  ];
  fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join(''));
  fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ metrics: { test: { accuracy: testAccuracy } } }));
  return dir;
}

describe('report of a sweep', () => {
  let tmp: string;
  before(() => (tmp = tempDir('sgt-sweep-report-')));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('groups the runs per setting (swept keys but the seed), mean ± sd over the seeds computed by hand', () => {
    const runsDir = path.join(tmp, 'runs');
    // runs in the order `sgt train -e m` makes them: loss slowest, then alpha, then seed
    const dirs = [
      sweepRun(runsDir, 'm@loss=none,seed=1', { 'guidance.loss': 'none', seed: 1 }, 0.5),
      sweepRun(runsDir, 'm@loss=none,seed=2', { 'guidance.loss': 'none', seed: 2 }, 0.7),
      sweepRun(runsDir, 'm@loss=cyborg,alpha=0.1,seed=1', { 'guidance.loss': 'cyborg', 'guidance.alpha': 0.1, seed: 1 }, 0.8),
      sweepRun(runsDir, 'm@loss=cyborg,alpha=0.1,seed=2', { 'guidance.loss': 'cyborg', 'guidance.alpha': 0.1, seed: 2 }, 0.9),
      sweepRun(runsDir, 'm@loss=cyborg,alpha=0.5,seed=1', { 'guidance.loss': 'cyborg', 'guidance.alpha': 0.5, seed: 1 }, 0.92),
      sweepRun(runsDir, 'm@loss=cyborg,alpha=0.5,seed=2', { 'guidance.loss': 'cyborg', 'guidance.alpha': 0.5, seed: 2 }, 0.96),
    ];
    const groups = groupBySetting(dirs.map(loadRun));
    assert.deepEqual(groups.map((g) => groupLabel(g)), ['loss=none', 'loss=cyborg · alpha=0.1', 'loss=cyborg · alpha=0.5']);
    assert.deepEqual(groups.map((g) => g.seeds), [[1, 2], [1, 2], [1, 2]]);
    assert.deepEqual(groups[1].sweep, { of: ['m'], values: [['loss', 'cyborg'], ['alpha', '0.1']] });
    // by hand: (0.5, 0.7) → mean 0.6, sd = √(((−0.1)² + 0.1²) / 1) = 0.141421…;
    // (0.8, 0.9) → 0.85, √0.005 = 0.070711; (0.92, 0.96) → 0.94, √0.0008 = 0.028284
    const expected: Array<[number, number]> = [
      [0.6, Math.SQRT2 / 10],
      [0.85, Math.sqrt(0.005)],
      [0.94, Math.sqrt(0.0008)],
    ];
    groups.forEach((g, i) => {
      const v = g.metrics.test.accuracy;
      assert.equal(v.n, 2);
      assert.ok(Math.abs(v.mean - expected[i][0]) < 1e-12, `${groupLabel(g)} mean ${v.mean}`);
      assert.ok(Math.abs(v.sd - expected[i][1]) < 1e-12, `${groupLabel(g)} sd ${v.sd}`);
    });
    assert.deepEqual(groups.map((g) => formatMeanSd(g.metrics.test.accuracy)), ['0.600 ± 0.141', '0.850 ± 0.071', '0.940 ± 0.028']);

    const html = buildReport(dirs);
    assert.ok(html.includes('<title>Saliency Studio report: sweep m (6 runs)</title>'));
    assert.match(html, /<h1>(<span class="swatch" style="background:#[0-9a-f]{6}"><\/span>){6}sweep m <span class="vs">\(6 runs\)<\/span><\/h1>/);
    assert.ok(html.includes('<h2>Across seeds</h2>'));
    assert.ok(html.includes('Runs of the sweep <code>m</code> are grouped by their swept settings other than the seed'));
    for (const label of ['loss=none', 'loss=cyborg · alpha=0.1', 'loss=cyborg · alpha=0.5']) assert.ok(html.includes(`</span>${label}</th>`), label);
    assert.match(html, /<th scope="row">test accuracy<\/th><td class="num"><span class="">0\.600 ± 0\.141<\/span><\/td><td class="num"><span class="">0\.850 ± 0\.071<\/span><\/td><td class="num"><span class="best">0\.940 ± 0\.028<\/span><\/td>/);
  });

  it('runs of several sweeps: each column names its sweep', () => {
    const runsDir = path.join(tmp, 'two');
    const dirs = ['a', 'b'].flatMap((of, k) =>
      [1, 2].map((seed) => {
        const name = `${of}@loss=rrr,seed=${seed}`;
        const dir = createRunDir(runsDir, name, '', { name, seed, model: { arch: k ? 'mlp' : 'small_cnn' }, guidance: { loss: 'rrr' }, sweep: { of, point: { 'guidance.loss': 'rrr', seed } } });
        fs.writeFileSync(path.join(dir, RUN_FILES.events), JSON.stringify({ time: T, type: 'finished', summary: 'ok' }) + '\n');
        fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ metrics: { test: { accuracy: 0.5 + seed / 10 } } }));
        return dir;
      }),
    );
    const groups = groupBySetting(dirs.map(loadRun));
    assert.deepEqual(groups.map((g) => groupLabel(g, true)), ['a: loss=rrr', 'b: loss=rrr']);
    const html = buildReport(dirs);
    assert.ok(html.includes('</span>a: loss=rrr</th>') && html.includes('</span>b: loss=rrr</th>'), 'qualified column labels');
    assert.ok(html.includes('Runs of the sweeps <code>a</code>, <code>b</code> are grouped'));
  });

  it('a seed-only sweep is one group labelled by the sweep; the sweep record is not a setting row', () => {
    const runsDir = path.join(tmp, 'seeds');
    const dirs = [1, 2, 3].map((seed, i) => sweepRun(runsDir, `m@seed=${seed}`, { 'guidance.loss': 'none', seed }, [0.8, 0.9, 1.0][i]));
    const runs = dirs.map(loadRun);
    const groups = groupBySetting(runs);
    assert.equal(groups.length, 1);
    assert.equal(groupLabel(groups[0]), 'm');
    assert.equal(formatMeanSd(groups[0].metrics.test.accuracy), '0.900 ± 0.100');
    const rows = settingRows(runs.map((r) => r.resolved));
    assert.ok(rows.every((r) => !r.path.startsWith('sweep')), rows.map((r) => r.path).join(' '));
    assert.deepEqual(rows.filter((r) => r.differs).map((r) => r.path), ['seed']);
  });

  it('runs not from a sweep keep their experiment names as labels', () => {
    const runsDir = path.join(tmp, 'plain');
    const dirs = [1, 2].map((seed) => {
      const dir = createRunDir(runsDir, 'plain', '', { name: 'plain', seed, guidance: { loss: 'none' } });
      fs.writeFileSync(path.join(dir, RUN_FILES.events), [{ time: T, type: 'finished', summary: 'ok' }].map((e) => JSON.stringify(e) + '\n').join(''));
      fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ metrics: { test: { accuracy: 0.5 } } }));
      return dir;
    });
    const groups = groupBySetting(dirs.map(loadRun));
    assert.equal(groups.length, 1);
    assert.equal(groups[0].sweep, undefined);
    assert.equal(groupLabel(groups[0]), 'plain');
  });
});
