import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_FILES, RunWriter, createRunDir, readEvents } from '../../server/src/runs/run-dir';

describe('RunWriter after an interrupted writer', () => {
  it('starts a new line when the last one was cut off mid-write, so no event is lost', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-runs-'));
    try {
      const dir = createRunDir(runs, 'exp', 'experiment exp {}\n', { name: 'exp' });
      fs.appendFileSync(path.join(dir, RUN_FILES.events), '{"type":"log","time":"t","level":"info","message":"ok"}\n{"type":"step","ti');
      const w = new RunWriter(dir);
      w.event({ type: 'log', time: 't2', level: 'info', message: 'resumed' });
      w.close();
      const events = readEvents(dir);
      assert.deepEqual(
        events.map((e) => (e.type === 'log' ? e.message : e.type)),
        ['ok', 'resumed'],
      );
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });
});
