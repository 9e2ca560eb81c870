/**
 * Compare Runs shows the cross-run consistency of compared runs of one setting: the host's
 * grouping and values (client/src/dashboard/consistency.ts), the webview's reducer and text
 * (webview/src/state.ts, consistency.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareConsistency } from '../../client/src/dashboard/consistency';
import type { RunEvent } from '../../server/src/protocol';
import { writeCamFile } from '../../server/src/runs/cam-file';
import { createRunDir, RUN_FILES } from '../../server/src/runs/run-dir';
import { consistencyText } from '../../webview/src/consistency';
import { initialState, reduce } from '../../webview/src/state';
import { tempDir } from '../runs/helpers';

const T = '2024-01-01T00:00:00.000Z';

function run(runsDir: string, name: string, resolved: Record<string, unknown>, maps?: number[]): string {
  const dir = createRunDir(runsDir, name, '', { name, ...resolved });
  const events: RunEvent[] = [
    { time: T, type: 'started', run: name, experiment: name, engine: 'tfjs', backend: 'cpu', backendReason: '', seed: Number(resolved.seed), epochs: 1, stepsPerEpoch: 1 },
    { time: T, type: 'epoch', epoch: 1, step: 1, split: 'val', metrics: { accuracy: 0.5 } },
    { time: T, type: 'finished', summary: 'ok' },
  ];
  fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join(''));
  fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify({ selectedEpoch: 1, metrics: { val: { accuracy: 0.5 } } }));
  if (maps) {
    writeCamFile(dir, { epoch: 1, step: 1, probe: { dataSeed: 0, split: 'test', count: 2, imageSize: 4, channels: 1, sha256: '1'.repeat(64) }, labels: [0, 1], count: 2, height: 1, width: 3, maps: Float32Array.from(maps) });
  }
  return dir;
}

describe('Compare Runs: consistency across seeds', () => {
  let tmp: string;
  before(() => (tmp = tempDir('sgt-compare-consistency-')));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('groups the compared runs by setting and gives each group of seeds its consistency, or why not', () => {
    const runs = path.join(tmp, 'runs');
    const want = { evaluate: { metrics: ['accuracy', 'consistency'] } };
    const a1 = run(runs, 'cy', { ...want, guidance: { loss: 'cyborg' }, seed: 1 }, [0, 0.5, 1, 1, 0, 0]);
    const a2 = run(runs, 'cy', { ...want, guidance: { loss: 'cyborg' }, seed: 2 }, [0, 1, 0.5, 1, 0, 0]);
    const b1 = run(runs, 'ce', { guidance: { loss: 'none' }, seed: 1 });
    const b2 = run(runs, 'ce', { guidance: { loss: 'none' }, seed: 2 });
    const lone = run(runs, 'l1', { guidance: { loss: 'l1' }, seed: 1 });
    const groups = compareConsistency([a1, b1, a2, b2, lone]);
    assert.equal(groups.length, 2, 'the lone run of its setting has no group');
    assert.deepEqual(groups[0].runDirs, [a1, a2]);
    assert.deepEqual(groups[0].seeds, [1, 2]);
    assert.ok(Math.abs(groups[0].value! - 0.75) < 1e-7, 'hand-computed (test/runs/consistency.test.ts)');
    assert.equal(groups[0].images, 2);
    assert.equal(groups[1].value, undefined);
    assert.match(groups[1].reason!, /add `consistency` to evaluate\.metrics/);
    assert.deepEqual(compareConsistency([a1]), [], 'one run: nothing to compare');

    assert.equal(consistencyText(groups[0]), 'cy · seeds 1, 2 · consistency 0.750 (2 images)');
    assert.match(consistencyText(groups[1]), /^ce · seeds 1, 2 · consistency – \(ce-\S+ has no cams\/probe\.json/);
  });

  it('the webview keeps the latest list and drops it when the panel is re-initialised', () => {
    const groups = [{ runDirs: ['/r/a', '/r/b'], experiments: ['cy'], seeds: [1, 2], value: 0.9, images: 64 }];
    let s = reduce(initialState(), { type: 'init', runs: [{ runDir: '/r/a', id: 'a', experiment: 'cy' }, { runDir: '/r/b', id: 'b', experiment: 'cy' }] });
    assert.deepEqual(s.consistency, []);
    s = reduce(s, { type: 'batch', messages: [{ type: 'consistency', groups }] });
    assert.deepEqual(s.consistency, groups);
    assert.equal(s.runs.length, 2, 'runs untouched');
    s = reduce(s, { type: 'init', runs: [] });
    assert.deepEqual(s.consistency, []);
  });
});
