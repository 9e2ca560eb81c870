/**
 * One result per run, everywhere: a finished run whose last epoch is worse than its best
 * shows the kept (best-validation) checkpoint's metrics and epoch in runInfo (CodeLens,
 * Runs view), the report loader, `sgt runs` (row, table, JSON) — all through run-dir.ts
 * keptMetrics. A run without summary.json (killed, still running) shows its last epoch.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastRunLensText, resultText, runItemText } from '../../client/src/run-labels';
import { PLAIN } from '../../server/src/cli/report';
import { formatRunsTable, toRow } from '../../server/src/cli/runs';
import type { Metrics, RunEvent } from '../../server/src/protocol';
import { loadRun } from '../../server/src/report/load';
import { buildReport } from '../../server/src/report/report';
import { keptMetrics, runInfo } from '../../server/src/runs/run-dir';

const T = '2026-01-01T12:00:00.000Z';

describe('kept metrics: one result per run everywhere', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-kept-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A run of 3 epochs whose best validation epoch is 2 (the last one is worse). */
  function makeRun(withSummary: boolean): string {
    const dir = path.join(tmp, 'decoy_ce-20260101-120000-abcd');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'resolved.json'), JSON.stringify({ name: 'decoy_ce', seed: 1 }));
    const byEpoch: Array<Record<'val' | 'test', Metrics>> = [
      { val: { accuracy: 0.8, loss: 0.6 }, test: { accuracy: 0.7 } },
      { val: { accuracy: 0.95, loss: 0.2 }, test: { accuracy: 0.9, saliency_corr: 0.6 } },
      { val: { accuracy: 0.85, loss: 0.5 }, test: { accuracy: 0.75, saliency_corr: 0.4 } },
    ];
    const events: RunEvent[] = [{ time: T, type: 'started', run: path.basename(dir), experiment: 'decoy_ce', engine: 'tfjs', backend: 'cpu', backendReason: 'test', seed: 1, epochs: 3, stepsPerEpoch: 10 }];
    byEpoch.forEach((m, i) => {
      for (const split of ['val', 'test'] as const) events.push({ time: T, type: 'epoch', epoch: i + 1, step: (i + 1) * 10, split, metrics: m[split] });
    });
    if (withSummary) {
      events.push({ time: T, type: 'finished', summary: 'done' });
      fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ checkpoint: 'best', selectedEpoch: 2, bestEpoch: 2, metrics: byEpoch[1], lastEpoch: byEpoch[2] }));
    }
    fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    return dir;
  }

  it('a finished run shows its kept checkpoint (epoch 2), not its worse last epoch (3)', () => {
    const dir = makeRun(true);
    const info = runInfo(dir);
    assert.equal(info.metrics.val.accuracy, 0.95);
    assert.equal(info.metrics.test.saliency_corr, 0.6);
    assert.equal(info.metricsEpoch, 2);
    assert.equal(info.lastEpoch, 3);
    assert.equal(resultText(info), 'val acc 0.95 · loss 0.2 (epoch 2)');
    assert.equal(lastRunLensText(info), 'val acc 0.95 · loss 0.2 (epoch 2)');
    assert.match(runItemText(info).description ?? '', /val acc 0\.95 · loss 0\.2 \(epoch 2\)/);

    const run = loadRun(dir);
    assert.deepEqual(run.kept, info.metrics);
    assert.equal(run.keptEpoch, 2);
    assert.equal(run.final.val.accuracy, 0.85, 'the last epoch stays available as `final`');

    const row = toRow(run);
    assert.equal(row.metrics.val.accuracy, 0.95);
    assert.equal(row.keptEpoch, 2);
    const [head, line] = formatRunsTable([row], PLAIN).trimEnd().split('\n');
    assert.match(head, /EPOCHS +KEPT +VAL ACC +TEST ACC +SAL CORR/);
    assert.match(line, /3\/3 +2 +0\.950 +0\.900 +0\.600/);

    // the report's test-metrics bar chart shows the kept epoch's values, as its results table
    const html = buildReport([dir]);
    const at = html.indexOf('<b>Test metrics</b>');
    const chart = html.slice(at, html.indexOf('</svg>', at));
    const bars = [...chart.matchAll(/font-size="10">([^<]+)</g)].map((m) => m[1]);
    assert.ok(at >= 0, 'the chart is there');
    assert.deepEqual(bars, ['0.9', '0.6'], 'test accuracy and saliency_corr of epoch 2, not 0.75 / 0.4 of epoch 3');
  });

  it('a run without summary.json shows its last recorded epoch, and says which', () => {
    const dir = makeRun(false);
    const info = runInfo(dir);
    assert.equal(info.metrics.val.accuracy, 0.85);
    assert.equal(info.metricsEpoch, 3);
    assert.equal(lastRunLensText(info), 'last run interrupted · val acc 0.85 · loss 0.5 (epoch 3)');
    assert.equal(loadRun(dir).keptEpoch, 3);
    assert.equal(toRow(loadRun(dir)).metrics.test.accuracy, 0.75);
  });

  it('keptMetrics: summary metrics with selectedEpoch; malformed summaries fall back on the last epoch', () => {
    const last = { val: { accuracy: 0.5 } };
    assert.deepEqual(keptMetrics({ selectedEpoch: 4, metrics: { val: { accuracy: 0.9 } } }, last, 6), { metrics: { val: { accuracy: 0.9 } }, epoch: 4, source: 'summary' });
    for (const bad of [undefined, null, 'x', { metrics: {} }, { metrics: [1] }, { metrics: { val: 3 } }]) {
      assert.deepEqual(keptMetrics(bad, last, 6), { metrics: last, epoch: 6, source: 'last-epoch' });
    }
  });
});
