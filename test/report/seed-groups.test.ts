/** Runs grouped by setting, mean ± sd over seeds (report/seed-groups.ts) and the report's "Across seeds" table. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { loadRun } from '../../server/src/report/load';
import { buildReport } from '../../server/src/report/report';
import { formatMeanSd, groupBySetting, meanSd } from '../../server/src/report/seed-groups';
import { createRunDir, RUN_FILES } from '../../server/src/runs/run-dir';
import { tempDir } from '../runs/helpers';

const T = '2024-01-01T00:00:00.000Z';

/** A finished run whose last epoch and kept checkpoint (summary.json) have different test accuracies. */
function finishedRun(runsDir: string, name: string, resolved: Record<string, unknown>, kept: number, last: number): string {
  const dir = createRunDir(runsDir, name, '', { name, ...resolved });
  const events: RunEvent[] = [
    { time: T, type: 'started', run: name, experiment: name, engine: 'tfjs', backend: 'cpu', backendReason: '', seed: Number(resolved.seed), epochs: 2, stepsPerEpoch: 1 },
    { time: T, type: 'epoch', epoch: 2, step: 2, split: 'test', metrics: { accuracy: last } },
    { time: T, type: 'finished', summary: 'ok' },
  ];
  fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join(''));
  fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ metrics: { val: { accuracy: 0.9 }, test: { accuracy: kept, loss: 1 } } }));
  return dir;
}

describe('results across seeds', () => {
  let tmp: string;
  before(() => {
    tmp = tempDir('sgt-seeds-');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('mean and sample standard deviation, checked by hand', () => {
    // 0.8, 0.9, 1.0: mean 0.9, sample variance (0.01 + 0 + 0.01) / 2 = 0.01
    const v = meanSd([0.8, 0.9, 1.0]);
    assert.ok(Math.abs(v.mean - 0.9) < 1e-12 && Math.abs(v.sd - 0.1) < 1e-12 && v.n === 3);
    assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: 0, n: 1 });
    assert.equal(formatMeanSd(v), '0.900 ± 0.100');
    assert.equal(formatMeanSd(meanSd([0.5])), '0.500');
    assert.equal(formatMeanSd(meanSd([])), '–');
  });

  it('groups runs that differ only in seed (and name); uses the kept checkpoint, not the last epoch', () => {
    const runsDir = path.join(tmp, 'group');
    const ce = { data: { normalize: 'dataset' }, guidance: { loss: 'none' } };
    const cy = { data: { normalize: 'dataset' }, guidance: { loss: 'cyborg', alpha: 0.1 } };
    const dirs = [
      finishedRun(runsDir, 'ce_s1', { ...ce, seed: 1 }, 0.8, 0.1),
      finishedRun(runsDir, 'cy_s1', { ...cy, seed: 1 }, 0.9, 0.1),
      finishedRun(runsDir, 'ce_s2', { ...ce, seed: 2 }, 0.9, 0.1),
      finishedRun(runsDir, 'cy_s2', { ...cy, seed: 2 }, 0.95, 0.1),
      finishedRun(runsDir, 'ce_s3', { ...ce, seed: 3 }, 1.0, 0.1),
    ];
    const runs = dirs.map(loadRun);
    assert.equal(runs[0].kept.test.accuracy, 0.8);
    assert.equal(runs[0].final.test.accuracy, 0.1);
    const groups = groupBySetting(runs);
    assert.deepEqual(groups.map((g) => g.experiments), [['ce_s1', 'ce_s2', 'ce_s3'], ['cy_s1', 'cy_s2']]);
    assert.deepEqual(groups.map((g) => g.seeds), [[1, 2, 3], [1, 2]]);
    assert.ok(Math.abs(groups[0].metrics.test.accuracy.mean - 0.9) < 1e-12);
    assert.ok(Math.abs(groups[0].metrics.test.accuracy.sd - 0.1) < 1e-12);
    assert.ok(Math.abs(groups[1].metrics.test.accuracy.mean - 0.925) < 1e-12);

    const html = buildReport(dirs);
    assert.ok(html.includes('<h2>Across seeds</h2>'));
    assert.match(html, /<th scope="row">seeds<\/th><td class="num">1, 2, 3<\/td><td class="num">1, 2<\/td>/);
    assert.match(html, /<th scope="row">test accuracy<\/th><td class="num"><span class="">0\.900 ± 0\.100<\/span><\/td><td class="num"><span class="best">0\.925 ± 0\.035<\/span><\/td>/);
  });

  it('no table when every setting ran once', () => {
    const runsDir = path.join(tmp, 'single');
    const dirs = [finishedRun(runsDir, 'a', { seed: 1, guidance: { loss: 'none' } }, 0.8, 0.8), finishedRun(runsDir, 'b', { seed: 1, guidance: { loss: 'cyborg' } }, 0.9, 0.9)];
    assert.ok(!buildReport(dirs).includes('Across seeds'));
  });

  it('the results table bolds the lower classification and guidance parts of the training loss', () => {
    const runsDir = path.join(tmp, 'parts');
    const dirs = ['a', 'b'].map((name, i) => {
      const dir = finishedRun(runsDir, name, { seed: 1, guidance: { loss: i ? 'cyborg' : 'none' } }, 0.9, 0.9);
      fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ metrics: { train: { ce: i ? 0.092 : 0.081, guidance: i ? 0.046 : 0.05 } } }));
      return dir;
    });
    const html = buildReport(dirs);
    assert.match(html, /<th scope="row">train ce<\/th><td class="num"><span class="best">0\.081<\/span><\/td><td class="num"><span class="">0\.092<\/span><\/td>/);
    assert.match(html, /<th scope="row">train guidance<\/th><td class="num"><span class="">0\.050<\/span><\/td><td class="num"><span class="best">0\.046<\/span><\/td>/);
  });
});
