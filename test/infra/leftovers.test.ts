/** The root hook's process finder (test/leftovers.ts): what it kills must be this run's own children. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { descendants } from '../leftovers';

describe('test run leftovers', () => {
  it('finds a child and its grandchild through /proc, and nothing of another process tree', async function () {
    if (process.platform !== 'linux') this.skip();
    // sh stays the parent of sleep because of the trailing `wait`
    const child = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let found: number[] = [];
      for (let i = 0; i < 50 && found.length < 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        found = descendants(child.pid!);
      }
      assert.equal(found.length, 1, 'sh has one child, sleep');
      assert.ok(descendants(process.pid).includes(child.pid!));
      assert.ok(descendants(process.pid).includes(found[0]), 'grandchildren count too');
      assert.deepEqual(descendants(1 << 30), [], 'no such process: nothing');
    } finally {
      for (const pid of descendants(child.pid!)) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
  });
});
