/** What the dashboard's charts plot (webview/src/charts.ts chartSpecs), from the reduced state. */
import * as assert from 'node:assert/strict';
import type { RunEvent, ToWebview } from '../../server/src/protocol';
import { chartSpecs, xRange } from '../../webview/src/charts';
import { initialState, reduce } from '../../webview/src/state';

const time = '2026-01-01T00:00:00.000Z';

describe('dashboard charts', () => {
  it('a one-epoch run: step series as lines, the lone validation / saliency values as markers', () => {
    const init: ToWebview = { type: 'init', runs: [{ runDir: '/r/a', id: 'a', experiment: 'ce' }] };
    const events: RunEvent[] = [
      { time, type: 'started', run: 'a', experiment: 'ce', engine: 'tfjs', backend: 'wasm', backendReason: '', seed: 1, epochs: 1, stepsPerEpoch: 2 },
      { time, type: 'step', epoch: 1, step: 1, loss: 2, ce: 2, guidance: 0, accuracy: 0.2, lr: 0.001, imagesPerSecond: 10 },
      { time, type: 'step', epoch: 1, step: 2, loss: 1, ce: 1, guidance: 0, accuracy: 0.4, lr: 0.001, imagesPerSecond: 10 },
      { time, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.7, saliency_corr: 0.3 } },
    ];
    const s = reduce(reduce(initialState(), init), { type: 'events', runDir: '/r/a', events });
    const [loss, acc, sal] = chartSpecs(s);
    assert.deepEqual(loss.series.map((x) => [x.label, x.points ?? false]), [['loss', false], ['classification', false], ['guidance', false]]);
    assert.deepEqual(acc.series.map((x) => [x.label, x.points ?? false, x.x, x.y]), [
      ['train (step)', false, [1, 2], [0.2, 0.4]],
      ['val (epoch)', true, [2], [0.7]],
    ]);
    assert.deepEqual(sal.series.map((x) => [x.label, x.points, x.x, x.y]), [['saliency_corr (val)', true, [2], [0.3]]]);
  });

  it('the x axis runs from step 0 to the last step, also for a lone value (uPlot pads it to twice its size)', () => {
    // uPlot hands the range function its padded [0, 230] for a lone x = 113: the data decides
    assert.deepEqual(xRange([113], 230), [0, 113]);
    assert.deepEqual(xRange([1, 50, 113], 113), [0, 113]);
    assert.deepEqual(xRange([], 0), [0, 1]);
    assert.deepEqual(xRange(undefined, 40), [0, 40]);
  });

  it('the saliency chart also plots EPG and IoU (Rao et al.\'s localisation metrics)', () => {
    const init: ToWebview = { type: 'init', runs: [{ runDir: '/r/a', id: 'a', experiment: 'energy' }] };
    const events: RunEvent[] = [{ time, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.7, epg: 0.4, iou: 0.2, saliency_corr: 0.3 } }];
    const s = reduce(reduce(initialState(), init), { type: 'events', runDir: '/r/a', events });
    const sal = chartSpecs(s)[2];
    assert.deepEqual(sal.series.map((x) => [x.label, x.y]), [['epg (val)', [0.4]], ['iou (val)', [0.2]], ['saliency_corr (val)', [0.3]]]);
  });
});
