import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunInfoCache } from '../../client/src/run-info-cache';
import { createRunDir, RUN_FILES, runInfo } from '../../server/src/runs/run-dir';

describe('client RunInfoCache', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-client-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('re-reads a run only when its events change or its liveness does', () => {
    const dir = createRunDir(tmp, 'exp', 'experiment exp {}', { name: 'exp' });
    let reads = 0;
    const cache = new RunInfoCache((d, alive) => (reads++, runInfo(d, alive)));
    const dead = () => false;
    assert.equal(cache.get(dir, dead).status, 'interrupted');
    cache.get(dir, dead);
    assert.equal(reads, 1);
    assert.equal(cache.get(dir, () => true).status, 'running');
    assert.equal(reads, 2);
    const events = path.join(dir, RUN_FILES.events);
    fs.appendFileSync(events, JSON.stringify({ type: 'epoch', time: 't', epoch: 1, step: 3, split: 'val', metrics: { accuracy: 0.5 } }) + '\n');
    fs.appendFileSync(events, JSON.stringify({ type: 'finished', time: 't', summary: 'ok' }) + '\n');
    const info = cache.get(dir, () => true);
    assert.equal(reads, 3);
    assert.equal(info.status, 'finished');
    assert.deepEqual(info.metrics.val, { accuracy: 0.5 });
  });

  it('forgets runs that are gone', () => {
    const dir = createRunDir(tmp, 'exp', '', {});
    let reads = 0;
    const cache = new RunInfoCache((d, alive) => (reads++, runInfo(d, alive)));
    cache.get(dir, () => false);
    cache.retain([]);
    cache.get(dir, () => false);
    assert.equal(reads, 2);
  });
});
