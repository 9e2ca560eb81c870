/**
 * Sweeps through the CLI: `sgt check` lists a sweep's runs, `sgt train -e SWEEP` trains
 * each of them (the fake engine for speed, then the real tfjs engine once on a tiny
 * 2-run sweep), and `sgt report` over the runs groups them per setting.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../server/src/cli/program';
import { ensureDaemonBuilt, stopDaemon } from '../daemon/helpers';
import { engineBundle, ensureEngineBuilt } from '../engines/engine-process';
import { fakeEngineEnv, tempDir } from '../runs/helpers';

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

async function sgt(args: string[], cwd: string, env: NodeJS.ProcessEnv = fakeEngineEnv({ SGT_PROGRESS_INTERVAL: '0' })): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, { stdout: { write: (s: string) => (stdout += s), isTTY: false }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, env, cwd });
  return { status, stdout, stderr };
}

const SWEEP = `experiment plain {
  data { source = builtin("decoy-mnist") }
  train { epochs = 1 }
  preview { samples = 2 }
}

experiment m extends plain {
  guidance { loss = cyborg }
  sweep {
    guidance.alpha = [0.1, 0.5]
    seed = [1, 2]
  }
}
`;

function resolvedOf(runsDir: string, id: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(runsDir, id, 'resolved.json'), 'utf8')) as Record<string, unknown>;
}

describe('sgt and sweeps', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => (tmp = tempDir('sgt-sweep-')));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('sgt check lists the runs of each sweep (stderr for people, JSON for tools)', async () => {
    fs.writeFileSync(path.join(tmp, 's.sgt'), SWEEP);
    const r = await sgt(['check', 's.sgt'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "s.sgt: 'm' sweeps 4 runs:\n  m@alpha=0.1,seed=1\n  m@alpha=0.1,seed=2\n  m@alpha=0.5,seed=1\n  m@alpha=0.5,seed=2\n0 errors, 0 warnings in 1 file\n");
    const json = JSON.parse((await sgt(['check', '--format', 'json', 's.sgt'], tmp)).stdout) as { files: Array<{ sweeps?: unknown }> };
    assert.deepEqual(json.files[0].sweeps, [{ experiment: 'm', runs: ['m@alpha=0.1,seed=1', 'm@alpha=0.1,seed=2', 'm@alpha=0.5,seed=1', 'm@alpha=0.5,seed=2'] }]);
    // a broken sweep has no runs, and says so
    fs.writeFileSync(path.join(tmp, 'bad.sgt'), SWEEP.replace('[0.1, 0.5]', '[0.1, 5]'));
    const bad = await sgt(['check', 'bad.sgt'], tmp);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /^bad\.sgt:10:28: error: 'alpha' must be between 0 and 1, found 5\. \[out-of-range\]$/m);
    assert.match(bad.stderr, /^bad\.sgt: 'm' sweeps no runs \(fix the errors above\)$/m);
  });

  it('sgt train -e SWEEP trains every run in order; -e RUN one run; sgt report groups them per setting', async () => {
    fs.writeFileSync(path.join(tmp, 's.sgt'), SWEEP);
    const r = await sgt(['train', 's.sgt', '--foreground', '-e', 'm'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const started = r.stderr.split('\n').filter((l) => / training in the foreground /.test(l)).map((l) => l.split(':')[0]);
    assert.deepEqual(started, ['m@alpha=0.1,seed=1', 'm@alpha=0.1,seed=2', 'm@alpha=0.5,seed=1', 'm@alpha=0.5,seed=2']);
    const runsDir = path.join(tmp, '.sgt', 'runs');
    const ids = fs.readdirSync(runsDir).filter((d) => !d.startsWith('.'));
    assert.equal(ids.length, 4);
    const id = ids.find((d) => d.startsWith('m@alpha=0.5,seed=2-'));
    assert.ok(id, ids.join(' '));
    const resolved = resolvedOf(runsDir, id) as { seed: number; guidance: { alpha: number }; sweep: unknown; name: string };
    assert.equal(resolved.name, 'm@alpha=0.5,seed=2');
    assert.equal(resolved.seed, 2);
    assert.equal(resolved.guidance.alpha, 0.5);
    assert.deepEqual(resolved.sweep, { of: 'm', point: { 'guidance.alpha': 0.5, seed: 2 } });

    const report = await sgt(['report', '--latest', '4', '--out', 'r.html'], tmp);
    assert.equal(report.status, 0, report.stderr);
    const html = fs.readFileSync(path.join(tmp, 'r.html'), 'utf8');
    assert.ok(html.includes('Runs of the sweep <code>m</code> are grouped by their swept settings other than the seed'));
    assert.ok(html.includes('</span>alpha=0.1</th>') && html.includes('</span>alpha=0.5</th>'));
    assert.match(html, /<th scope="row">seeds<\/th><td class="num">[12], [12]<\/td><td class="num">[12], [12]<\/td><\/tr>/);

    const one = await sgt(['train', 's.sgt', '--foreground', '-e', 'm@alpha=0.1,seed=2', '-e', 'plain'], tmp);
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(one.stdout.split('\n').filter((l) => l.includes(': finished')).map((l) => l.split(':')[0]), ['m@alpha=0.1,seed=2', 'plain']);
    const unknown = await sgt(['train', 's.sgt', '--foreground', '-e', 'm@alpha=0.3,seed=2'], tmp);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^sgt: no experiment 'm@alpha=0\.3,seed=2' in s\.sgt/);
  });

  describe('through the daemon', () => {
    let env: NodeJS.ProcessEnv;
    before(ensureDaemonBuilt);
    beforeEach(() => (env = fakeEngineEnv({ SGT_PROGRESS_INTERVAL: '0', SGT_DAEMON_DIR: path.join(tmp, 'd'), SGT_DAEMON_IDLE_TIMEOUT: '30', SGT_DAEMON_CANCEL_GRACE: '2' })));
    afterEach(() => stopDaemon(env));

    it('queues every run of the sweep as a job, in order, and follows them to the end', async () => {
      fs.writeFileSync(path.join(tmp, 's.sgt'), SWEEP);
      const r = await sgt(['train', 's.sgt', '-e', 'm'], tmp, env);
      assert.equal(r.status, 0, r.stderr);
      const queued = r.stderr.split('\n').filter((l) => / training in the daemon /.test(l)).map((l) => l.split(':')[0]);
      assert.deepEqual(queued, ['m@alpha=0.1,seed=1', 'm@alpha=0.1,seed=2', 'm@alpha=0.5,seed=1', 'm@alpha=0.5,seed=2']);
      assert.ok(r.stderr.includes('  queued: 3 jobs ahead of it'), r.stderr);
      assert.deepEqual(r.stdout.split('\n').filter((l) => l.includes(': finished')).map((l) => l.split(':')[0]), queued);
    });
  });

  it('trains a 2-run sweep on the real tfjs engine', async function () {
    this.timeout(180_000);
    await ensureEngineBuilt();
    fs.writeFileSync(
      path.join(tmp, 'tiny.sgt'),
      `experiment tiny {
  data { source = builtin("decoy-mnist") }
  model { arch = small_cnn  width = 4 }
  guidance { loss = cyborg }
  train { epochs = 1  batch = 32  engine = tfjs }
  preview { every = 2 steps  samples = 2 }
  sweep {
    seed = [1, 2]
  }
}
`,
    );
    const env = { ...process.env, SGT_ENGINE_COMMAND_TFJS: JSON.stringify([process.execPath, engineBundle]), SGT_MAX_TRAIN_IMAGES: '64', SGT_MAX_EVAL_IMAGES: '32', SGT_PROGRESS_INTERVAL: '0' };
    const r = await sgt(['train', 'tiny.sgt', '--foreground'], tmp, env);
    assert.equal(r.status, 0, r.stderr);
    const finished = r.stdout.split('\n').filter((l) => / finished in /.test(l));
    assert.deepEqual(finished.map((l) => l.split(':')[0]), ['tiny@seed=1', 'tiny@seed=2']);
    for (const l of finished) assert.match(l, /val: accuracy \d\.\d{3}/);
    const runsDir = path.join(tmp, '.sgt', 'runs');
    const seeds = fs
      .readdirSync(runsDir)
      .filter((d) => !d.startsWith('.'))
      .map((d) => resolvedOf(runsDir, d).seed)
      .sort();
    assert.deepEqual(seeds, [1, 2]);
  });
});
