import * as assert from 'node:assert/strict';
import type { RunEvent, ToWebview } from '../../server/src/protocol';
import { alignSeries, initialState, lastMetrics, overlayAt, overlaySteps, reduce, selectedOverlayStep, setView } from '../../webview/src/state';

const time = '2026-01-01T00:00:00.000Z';
const step = (s: number, loss = 1 / s): RunEvent => ({ time, type: 'step', epoch: 1, step: s, loss, ce: loss * 0.8, guidance: loss * 0.2, accuracy: 0.5, lr: 0.001, imagesPerSecond: 100 });
const runs = [
  { runDir: '/r/a', id: 'a', experiment: 'ce' },
  { runDir: '/r/b', id: 'b', experiment: 'cyborg' },
];
const init: ToWebview = { type: 'init', runs, state: { camOpacity: 0.3 } };

describe('webview state reducer', () => {
  it('init creates one empty run per run directory and merges the view state', () => {
    const s = reduce(initialState(), init);
    assert.deepEqual(s.runs.map((r) => r.run.id), ['a', 'b']);
    assert.equal(s.view.camOpacity, 0.3);
    assert.deepEqual(s.view.runDirs, ['/r/a', '/r/b']);
    assert.equal(s.runs[0].status, 'waiting');
  });

  it('appends step series column-wise and tracks status through started and finished', () => {
    let s = reduce(initialState(), init);
    s = reduce(s, { type: 'events', runDir: '/r/a', events: [{ time, type: 'started', run: 'a', experiment: 'ce', engine: 'tfjs', backend: 'wasm', backendReason: '', seed: 1, epochs: 2, stepsPerEpoch: 3 }, step(1), step(2)] });
    assert.equal(s.runs[0].status, 'running');
    assert.deepEqual(s.runs[0].step, [1, 2]);
    assert.deepEqual(s.runs[0].loss, [1, 0.5]);
    assert.deepEqual(s.runs[0].ce, [0.8, 0.4]);
    assert.deepEqual(s.runs[1].step, [], 'other runs untouched');
    s = reduce(s, { type: 'events', runDir: '/r/a', events: [{ time, type: 'finished', summary: 'ok' }] });
    assert.equal(s.runs[0].status, 'finished');
    s = reduce(s, { type: 'events', runDir: '/r/b', events: [{ time, type: 'failed', error: 'engine died' }] });
    assert.equal(s.runs[1].status, 'failed');
    assert.equal(s.runs[1].error, 'engine died');
  });

  it('a resumed run replaces the steps and epoch metrics its interrupted attempt wrote after the checkpoint', () => {
    let s = reduce(initialState(), init);
    s = reduce(s, {
      type: 'events',
      runDir: '/r/a',
      events: [step(1), step(2), { time, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.5 } }, step(3), step(4)],
    });
    s = reduce(s, {
      type: 'events',
      runDir: '/r/a',
      events: [
        { time, type: 'started', run: 'a', experiment: 'ce', engine: 'tfjs', backend: 'wasm', backendReason: '', seed: 1, epochs: 2, stepsPerEpoch: 2, resumedFrom: { epoch: 1, step: 2 } },
        step(3, 9),
      ],
    });
    assert.deepEqual(s.runs[0].step, [1, 2, 3]);
    assert.equal(s.runs[0].loss[2], 9);
    assert.equal(s.runs[0].epochMetrics.length, 1);
    // a repeated step without a started event (file re-read from the start) rewinds too
    s = reduce(s, { type: 'events', runDir: '/r/a', events: [step(2, 7)] });
    assert.deepEqual(s.runs[0].step, [1, 2]);
    assert.equal(s.runs[0].loss[1], 7);
  });

  it('keeps the last epoch metrics per split and ignores batches for unknown runs', () => {
    let s = reduce(initialState(), init);
    s = reduce(s, {
      type: 'batch',
      messages: [
        { type: 'events', runDir: '/r/b', events: [{ time, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.5 } }, { time, type: 'epoch', epoch: 2, step: 4, split: 'val', metrics: { accuracy: 0.9, saliency_corr: 0.4 } }] },
        { type: 'events', runDir: '/r/gone', events: [step(1)] },
      ],
    });
    assert.deepEqual(lastMetrics(s.runs[1]), { val: { accuracy: 0.9, saliency_corr: 0.4 } });
    assert.equal(s.runs.length, 2);
  });

  it('the gallery slider walks the union of overlay steps; each run shows its latest overlay at or before the step', () => {
    let s = reduce(initialState(), init);
    s = reduce(s, { type: 'overlays', runDir: '/r/a', entries: [{ epoch: 1, step: 50, uris: ['a50'] }, { epoch: 2, step: 100, uris: ['a100'] }] });
    s = reduce(s, { type: 'overlays', runDir: '/r/b', entries: [{ epoch: 1, step: 60, uris: ['b60'] }] });
    assert.deepEqual(overlaySteps(s), [50, 60, 100]);
    assert.equal(selectedOverlayStep(s), 100, 'follows the latest by default');
    s = setView(s, { overlayIndex: 1 });
    assert.equal(selectedOverlayStep(s), 60);
    assert.equal(overlayAt(s.runs[0], 60)?.uris[0], 'a50');
    assert.equal(overlayAt(s.runs[1], 60)?.uris[0], 'b60');
    assert.equal(overlayAt(s.runs[1], 10), undefined);
    s = setView(s, { overlayIndex: 99, camOpacity: 3 });
    assert.equal(selectedOverlayStep(s), 100, 'out of range falls back to the latest');
    assert.equal(s.view.camOpacity, 1, 'opacity clamped');
  });

  it('alignSeries puts series with different x on their union with nulls', () => {
    assert.deepEqual(
      alignSeries([
        { x: [1, 3], y: [10, 30] },
        { x: [2, 3], y: [20, NaN] },
      ]),
      [
        [1, 2, 3],
        [10, null, 30],
        [null, 20, null],
      ],
    );
  });
});
