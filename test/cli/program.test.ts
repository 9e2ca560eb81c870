/**
 * What a spawned CLI cannot show: colour on a terminal (a child's stdout is a
 * pipe) and the internal-error path (needs a fault injected). The program is
 * run in-process with stand-in streams.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { runCli, type CliIO } from '../../server/src/cli/program';
import { fixtures, hasStackTrace, root } from './run-cli';

async function run(io: Partial<CliIO> & { isTTY?: boolean }): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(['check', path.join(fixtures, 'errors.sgt')], {
    stdout: io.stdout ?? { write: (s: string) => (stdout += s), isTTY: io.isTTY },
    stderr: { write: (s: string) => (stderr += s), isTTY: io.isTTY },
    env: io.env ?? {},
    cwd: root,
  });
  return { status, stdout, stderr };
}

describe('sgt program (in-process)', () => {
  it('colours severities on a terminal', async () => {
    const r = await run({ isTTY: true });
    assert.equal(r.status, 1);
    assert.ok(r.stdout.includes('\x1b[31merror\x1b[39m'), JSON.stringify(r.stdout));
  });

  it('does not colour when NO_COLOR is set', async () => {
    const r = await run({ isTTY: true, env: { NO_COLOR: '1' } });
    assert.ok(!r.stdout.includes('\x1b[') && !r.stderr.includes('\x1b['));
  });

  it('does not colour a pipe', async () => {
    const r = await run({ isTTY: false });
    assert.ok(!r.stdout.includes('\x1b['));
    assert.match(r.stdout, /errors\.sgt:4:32: error: /);
  });

  it('turns an unexpected exception into a one-line internal error, exit 2', async () => {
    const r = await run({
      stdout: {
        write: () => {
          throw new Error('disk on fire');
        },
      },
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^sgt: internal error: disk on fire\nsgt: this is a bug in Saliency Studio; please report it/);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  });

  it('prints the stack of an internal error only with SGT_DEBUG', async () => {
    const r = await run({
      env: { SGT_DEBUG: '1' },
      stdout: {
        write: () => {
          throw new Error('disk on fire');
        },
      },
    });
    assert.ok(hasStackTrace(r.stderr), r.stderr);
  });
});
