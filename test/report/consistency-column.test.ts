/** The `consistency` row of the report's "Across seeds" table (report/seed-groups.ts, render.ts). */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { loadRun } from '../../server/src/report/load';
import { renderReport } from '../../server/src/report/render';
import { groupBySetting } from '../../server/src/report/seed-groups';
import { writeCamFile } from '../../server/src/runs/cam-file';
import { createRunDir, RUN_FILES } from '../../server/src/runs/run-dir';
import { tempDir } from '../runs/helpers';

const T = '2024-01-01T00:00:00.000Z';

/** A finished run (kept epoch 2) with a CAM file of 2 images × 3 cells unless `maps` is undefined. */
function run(runsDir: string, name: string, resolved: Record<string, unknown>, maps: number[] | undefined): string {
  const dir = createRunDir(runsDir, name, '', { name, ...resolved });
  const events: RunEvent[] = [
    { time: T, type: 'started', run: name, experiment: name, engine: 'tfjs', backend: 'cpu', backendReason: '', seed: Number(resolved.seed), epochs: 2, stepsPerEpoch: 1 },
    { time: T, type: 'epoch', epoch: 2, step: 2, split: 'test', metrics: { accuracy: 0.5 } },
    { time: T, type: 'finished', summary: 'ok' },
  ];
  fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join(''));
  fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ selectedEpoch: 2, metrics: { test: { accuracy: 0.5 } } }));
  if (maps) {
    writeCamFile(dir, {
      epoch: 2,
      step: 2,
      probe: { dataSeed: 0, split: 'test', count: 2, imageSize: 4, channels: 1, sha256: '0'.repeat(64) },
      labels: [0, 1],
      count: 2,
      height: 1,
      width: 3,
      maps: Float32Array.from(maps),
    });
  }
  return dir;
}

describe('report: consistency across seeds', () => {
  let tmp: string;
  before(() => (tmp = tempDir('sgt-consistency-report-')));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('adds a consistency row per setting: the value, or – with the reason', () => {
    const runsDir = path.join(tmp, 'runs');
    const metrics = { evaluate: { metrics: ['accuracy', 'consistency'] } };
    const ce = { ...metrics, guidance: { loss: 'none' } };
    const cy = { ...metrics, guidance: { loss: 'cyborg' } };
    const l1 = { ...metrics, guidance: { loss: 'l1' } };
    const dirs = [
      run(runsDir, 'ce_s1', { ...ce, seed: 1 }, [0, 0.5, 1, 1, 0, 0]),
      run(runsDir, 'ce_s2', { ...ce, seed: 2 }, [0, 1, 0.5, 1, 0, 0]), // hand-computed: 0.75 (test/runs/consistency.test.ts)
      run(runsDir, 'cy_s1', { ...cy, seed: 1 }, [0, 0.5, 1, 1, 0, 0]),
      run(runsDir, 'cy_s2', { ...cy, seed: 2 }, [0, 0.5, 1, 1, 0, 0]), // identical: 1
      run(runsDir, 'l1_s1', { ...l1, seed: 1 }, [0, 0.5, 1, 1, 0, 0]),
      run(runsDir, 'l1_s2', { ...l1, seed: 2 }, undefined),
    ];
    const runs = dirs.map(loadRun);
    const groups = groupBySetting(runs);
    assert.deepEqual(groups.map((g) => (g.consistency?.ok ? Number(g.consistency.value.toFixed(6)) : g.consistency?.ok)), [0.75, 1, false]);

    const html = renderReport(runs, { now: new Date(T) });
    const rowHtml = /<tr><th scope="row">consistency<\/th>(.*?)<\/tr>/.exec(html)?.[1];
    assert.ok(rowHtml, 'the Across seeds table has a consistency row');
    const cells = [...rowHtml.matchAll(/<td class="num">(.*?)<\/td>/g)].map((m) => m[1].replace(/<[^>]+>/g, ''));
    assert.equal(cells.length, 3);
    assert.equal(cells[0], '0.750');
    assert.equal(cells[1], '1.000');
    assert.match(cells[2], /^– \(l1_s2-\S+ has no cams\/probe\.json \(add `consistency` to evaluate\.metrics\)\)$/);
    assert.match(rowHtml, /<span class="best"[^>]*>1\.000/, 'the most consistent setting is in bold');
    assert.match(html, /mean over images of the mean Pearson correlation between the CAMs of every pair of runs/);
  });

  it('has no consistency row when no run asks for it', () => {
    const runsDir = path.join(tmp, 'plain');
    const dirs = [run(runsDir, 'a', { seed: 1 }, [0, 0.5, 1, 1, 0, 0]), run(runsDir, 'b', { seed: 2 }, [0, 0.5, 1, 1, 0, 0])];
    const runs = dirs.map(loadRun);
    assert.equal(groupBySetting(runs)[0].consistency, undefined);
    assert.doesNotMatch(renderReport(runs), /scope="row">consistency/);
  });
});
