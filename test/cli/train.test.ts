/**
 * `sgt train`, `sgt runs` and `sgt report` through the CLI, with the fake engine
 * standing in for tfjs (SGT_ENGINE_COMMAND_TFJS). Most tests run the program
 * in-process with stand-in streams (fast, and Ctrl-C can be injected); one runs
 * the real process to check that a real SIGINT stops the engine.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, type SignalSource } from '../../server/src/cli/program';
import { readEvents } from '../../server/src/runs/run-dir';
import { ensureDaemonBuilt, stopDaemon, waitUntil } from '../daemon/helpers';
import { fakeEngineEnv, root, tempDir, writeSgt } from '../runs/helpers';

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

async function sgt(args: string[], cwd: string, options: { env?: NodeJS.ProcessEnv; signals?: SignalSource; onStderr?: (s: string) => void } = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: {
      write: (s: string) => {
        stderr += s;
        options.onStderr?.(s);
      },
      isTTY: false,
    },
    env: options.env ?? fakeEngineEnv({ SGT_PROGRESS_INTERVAL: '0' }),
    cwd,
    signals: options.signals,
  });
  return { status, stdout, stderr };
}

/** A stand-in for Ctrl-C that a test can press. */
function fakeSignals(): SignalSource & { press(signal?: string): void } {
  let handler: ((s: string) => void) | undefined;
  return {
    on(h) {
      handler = h;
      return () => (handler = undefined);
    },
    press(signal = 'SIGINT') {
      handler?.(signal);
    },
  };
}

describe('sgt train / runs / report', function () {
  this.timeout(30_000);
  let tmp: string;
  beforeEach(() => (tmp = tempDir('sgt-train-')));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('sgt train --foreground', () => {
    it('trains every experiment of the file in order, with progress lines and final metrics', async () => {
      writeSgt(tmp);
      const r = await sgt(['train', 'tiny.sgt', '--foreground'], tmp);
      assert.equal(r.status, 0, r.stderr);
      const runs = fs.readdirSync(path.join(tmp, '.sgt', 'runs')).sort();
      assert.equal(runs.length, 2);
      const err = r.stderr.split('\n');
      // non-TTY: plain lines, no carriage returns or escape sequences
      assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), JSON.stringify(r.stderr));
      assert.ok(err[0].startsWith('plain: training in the foreground with the tfjs engine (train.engine = auto; '), err[0]);
      assert.match(r.stderr, /^ {2}run: \.sgt\/runs\/plain-\d{8}-\d{6}-[0-9a-f]{4}$/m);
      assert.ok(err.includes('plain: started on tfjs, backend fake (test double: no tensors); 2 epochs × 4 steps'), r.stderr);
      assert.ok(err.some((l) => /^plain: step 1\/8 \(12%\) · epoch 1\/2 · loss \d\.\d{4} · acc 0\.\d{3} · 1,001 img\/s$/.test(l)), r.stderr);
      assert.ok(err.some((l) => /^plain: step 8\/8 \(100%\) · epoch 2\/2 · .* · ETA 0s$/.test(l)), r.stderr);
      assert.ok(err.includes('guided: epoch 2/2 val: accuracy 0.950 · saliency_mse 0.0500 · saliency_corr 0.800'), r.stderr);
      assert.ok(err.indexOf('plain: epoch 1/2 val: accuracy 0.725 · saliency_mse 0.2000 · saliency_corr 0.080') < err.findIndex((l) => l.startsWith('guided: training')));
      // stdout: per run, its result and its directory
      const out = r.stdout.trimEnd().split('\n');
      assert.equal(out.length, 4, r.stdout);
      // the kept checkpoint's numbers (summary.json), with its epoch
      assert.match(out[0], /^plain: finished in \d+s — epoch 2: val: accuracy 0\.950 · saliency_mse 0\.2000 · saliency_corr 0\.060; test: accuracy 0\.520 · saliency_mse 0\.2100 · saliency_corr 0\.040$/);
      assert.match(out[1], /^ {2}\.sgt\/runs\/plain-/);
      assert.match(out[2], /^guided: finished in \d+s — .*test: accuracy 0\.930/);
    });

    it('trains the experiments named with --experiment, with --epochs, into --runs-dir, and writes --report', async () => {
      writeSgt(tmp);
      const r = await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'guided', '--epochs', '1', '--runs-dir', 'elsewhere', '--report', 'r.html'], tmp);
      assert.equal(r.status, 0, r.stderr);
      const runs = fs.readdirSync(path.join(tmp, 'elsewhere'));
      assert.equal(runs.length, 1);
      assert.match(runs[0], /^guided-/);
      const resolved = JSON.parse(fs.readFileSync(path.join(tmp, 'elsewhere', runs[0], 'resolved.json'), 'utf8'));
      assert.equal(resolved.train.epochs, 1);
      assert.ok(r.stderr.includes('2 epochs') === false && r.stderr.includes('1 epoch × 4 steps'), r.stderr);
      assert.ok(r.stderr.includes('report: r.html'));
      assert.ok(fs.readFileSync(path.join(tmp, 'r.html'), 'utf8').includes('<title>Saliency Studio report: guided</title>'));
    });

    it('refuses to start an experiment with errors: diagnostics as sgt check prints them, exit 2', async () => {
      fs.writeFileSync(path.join(tmp, 'bad.sgt'), 'experiment bad {\n  data { source = builtin("decoy-mnist") }\n  model { widht = 3 }\n}\n');
      const r = await sgt(['train', 'bad.sgt', '--foreground'], tmp);
      assert.equal(r.status, 2);
      assert.ok(r.stderr.startsWith("bad.sgt:3:11: error: Unknown key 'widht' in 'model'. Did you mean 'width'? [unknown-key]\n"), r.stderr);
      assert.ok(r.stderr.includes('1 error, 0 warnings in 1 file\n'));
      assert.ok(r.stderr.includes('sgt: not training: bad.sgt has an error'));
      assert.equal(r.stdout, '');
      assert.ok(!fs.existsSync(path.join(tmp, '.sgt')), 'no run directory');
    });

    it('rejects bad usage with exit 2 and one-line messages', async () => {
      writeSgt(tmp);
      const cases: Array<[string[], RegExp]> = [
        [['train', 'tiny.sgt', '--foreground', '-e', 'guidd'], /^sgt: no experiment 'guidd' in tiny\.sgt; did you mean 'guided'\? \(it has: plain, guided\)\n$/],
        [['train', 'tiny.sgt', '--foreground', '--epochs', 'many'], /^sgt: --epochs must be a whole number >= 1, not 'many'\n$/],
        [['train', 'tiny.sgt', '--foreground', '--epochs', '100001'], /^sgt: --epochs must be a whole number between 1 and 100000/],
        [['train', 'missing.sgt', '--foreground'], /^sgt: cannot read 'missing\.sgt': no such file or directory\n$/],
        [['train', '--foreground'], /^sgt: name the \.sgt file to train/],
        [['train', 'tiny.sgt', '--resume', 'x'], /^sgt: --resume continues a run from its own snapshot/],
        [['train', '--resume', 'nope', '--foreground'], /^sgt: no run 'nope'/],
      ];
      for (const [args, expected] of cases) {
        const r = await sgt(args, tmp);
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, expected, args.join(' '));
      }
      // an engine that cannot start fails before any run directory is made
      const r = await sgt(['train', 'tiny.sgt', '--foreground'], tmp, { env: { ...fakeEngineEnv(), SGT_ENGINE_COMMAND_TFJS: '[]' } });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^sgt: SGT_ENGINE_COMMAND_TFJS must be a JSON array of strings/);
      assert.ok(!fs.existsSync(path.join(tmp, '.sgt')));
    });

    it('exits 1 when a run fails, with the engine error and its stderr tail, and goes on with the next', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment will_fail extends plain {}\nexperiment after extends plain {}\n');
      const r = await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'will_fail', '-e', 'after'], tmp);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stderr.includes('sgt: will_fail failed: the fake engine failed on purpose\n  experiment name contains "fail"\n'), r.stderr);
      assert.match(r.stderr, /engine stderr \(last \d+ lines\):\n(?: {4}.*\n)*? {4}Traceback: the fake engine was told to fail\n/);
      assert.match(r.stdout, /^will_fail: failed/m);
      assert.match(r.stdout, /^after: finished/m);
    });

    it('on Ctrl-C stops the engine with SIGTERM, waits for it, skips the rest and exits 130', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment hang_on extends plain {}\n');
      const signals = fakeSignals();
      let pressed = false;
      const r = await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'hang_on', '-e', 'plain'], tmp, {
        signals,
        onStderr: (s) => {
          if (!pressed && s.includes('step 3/')) {
            pressed = true;
            setImmediate(() => signals.press());
          }
        },
      });
      assert.equal(r.status, 130, r.stderr);
      assert.ok(r.stderr.includes('sgt: SIGINT: stopping the engine'), r.stderr);
      assert.match(r.stdout, /^hang_on: cancelled/m);
      assert.match(r.stdout, /^plain: not started$/m);
      const runs = fs.readdirSync(path.join(tmp, '.sgt', 'runs'));
      assert.equal(runs.length, 1, 'the skipped experiment got no run directory');
      assert.equal(readEvents(path.join(tmp, '.sgt', 'runs', runs[0])).at(-1)!.type, 'cancelled');
    });

    it('resumes an interrupted run with --resume <run id>', async () => {
      writeSgt(tmp);
      assert.equal((await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'plain'], tmp)).status, 0);
      const id = fs.readdirSync(path.join(tmp, '.sgt', 'runs'))[0];
      const r = await sgt(['train', '--resume', id, '--foreground'], tmp);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stderr.includes('plain: resuming in the foreground'), r.stderr);
      assert.ok(r.stderr.includes('resumed after epoch 2 (step 8)'), r.stderr);
    });

    it('stops a real process on SIGINT: the engine gets SIGTERM, the run ends cancelled, exit 130', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment hang_on extends plain {}\n');
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'server', 'src', 'cli', 'main.ts'), 'train', 'tiny.sgt', '--foreground', '-e', 'hang_on'], {
        cwd: tmp,
        env: fakeEngineEnv({ SGT_PROGRESS_INTERVAL: '0', NODE_PATH: path.join(root, 'node_modules') }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      const status = await new Promise<number | null>((resolve) => {
        child.stderr.on('data', (d) => {
          stderr += d;
          if (stderr.includes('step 2/') && !child.killed) child.kill('SIGINT');
        });
        child.on('exit', (code) => resolve(code));
      });
      assert.equal(status, 130, stderr);
      assert.match(stdout, /^hang_on: cancelled/m);
      const runs = fs.readdirSync(path.join(tmp, '.sgt', 'runs'));
      assert.equal(readEvents(path.join(tmp, '.sgt', 'runs', runs[0])).at(-1)!.type, 'cancelled');
    });
  });

  describe('sgt train through the daemon', () => {
    let env: NodeJS.ProcessEnv;
    before(ensureDaemonBuilt);
    beforeEach(() => (env = fakeEngineEnv({ SGT_PROGRESS_INTERVAL: '0', SGT_DAEMON_DIR: path.join(tmp, 'd'), SGT_DAEMON_IDLE_TIMEOUT: '30', SGT_DAEMON_CANCEL_GRACE: '2' })));
    afterEach(() => stopDaemon(env));

    it('starts the daemon on demand, queues the experiments and follows them to the end', async () => {
      writeSgt(tmp);
      const r = await sgt(['train', 'tiny.sgt'], tmp, { env });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stderr.startsWith('sgt: started the training daemon'), r.stderr);
      assert.ok(r.stderr.includes('plain: training in the daemon with the tfjs engine'), r.stderr);
      assert.ok(r.stderr.includes('  queued: 1 job ahead of it'), r.stderr);
      // the daemon forwards the engine's events: the same progress as in the foreground
      assert.ok(r.stderr.includes('guided: epoch 2/2 val: accuracy 0.950 · saliency_mse 0.0500 · saliency_corr 0.800'), r.stderr);
      assert.match(r.stdout, /^plain: finished in \d+s — .*test: accuracy 0\.520/m);
      assert.match(r.stdout, /^guided: finished in \d+s — .*test: accuracy 0\.930/m);
    });

    it('--detach hands the runs over and returns at once', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment hang_on extends plain {}\n');
      const r = await sgt(['train', 'tiny.sgt', '-e', 'hang_on', '--detach'], tmp, { env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^hang_on: submitted to the daemon/m);
      const dir = path.join(tmp, '.sgt', 'runs', fs.readdirSync(path.join(tmp, '.sgt', 'runs'))[0]);
      await waitUntil(() => readEvents(dir).some((e) => e.type === 'step'));
      const runs = await sgt(['runs'], tmp, { env });
      assert.match(runs.stdout, /hang_on +running/);
    });

    it('Ctrl-C cancels the jobs in the daemon and exits 130', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment hang_on extends plain {}\n');
      const signals = fakeSignals();
      let pressed = false;
      const r = await sgt(['train', 'tiny.sgt', '-e', 'hang_on', '-e', 'plain'], tmp, {
        env,
        signals,
        onStderr: (s) => {
          if (!pressed && s.includes('step 2/')) {
            pressed = true;
            setImmediate(() => signals.press());
          }
        },
      });
      assert.equal(r.status, 130, r.stderr);
      assert.ok(r.stderr.includes('cancelling the runs of this command in the daemon'), r.stderr);
      assert.match(r.stdout, /^hang_on: cancelled/m);
      assert.match(r.stdout, /^plain: cancelled/m);
    });
  });

  describe('sgt runs', () => {
    it('lists runs newest first as a table and as JSON', async () => {
      writeSgt(tmp, 'tiny.sgt', 'experiment will_fail extends plain {}\n');
      await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'plain'], tmp);
      await new Promise((r) => setTimeout(r, 1100)); // run ids sort by the second
      await sgt(['train', 'tiny.sgt', '--foreground', '-e', 'will_fail'], tmp);
      const text = await sgt(['runs'], tmp);
      assert.equal(text.status, 0, text.stderr);
      const lines = text.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^RUN +EXPERIMENT +STATUS +EPOCHS +KEPT +VAL ACC +TEST ACC +SAL CORR +TIME$/);
      assert.match(lines[1], /^will_fail-\S+ +will_fail +failed +0\/2 +– +– +– +– +\d+s$/);
      assert.match(lines[2], /^plain-\S+ +plain +finished +2\/2 +2 +0\.950 +0\.520 +0\.040 +\d+s$/);

      const json = await sgt(['runs', '--format', 'json'], tmp);
      const parsed = JSON.parse(json.stdout) as { runsDir: string; runs: Array<{ experiment: string; status: string; metrics: Record<string, Record<string, number>>; error?: string }> };
      assert.equal(parsed.runsDir, path.join(tmp, '.sgt', 'runs'));
      assert.deepEqual(
        parsed.runs.map((r) => [r.experiment, r.status]),
        [
          ['will_fail', 'failed'],
          ['plain', 'finished'],
        ],
      );
      assert.equal(parsed.runs[0].error, 'the fake engine failed on purpose');
      assert.equal(parsed.runs[1].metrics.test.accuracy, 0.52);
    });

    it('says so when there are no runs', async () => {
      const r = await sgt(['runs', '--runs-dir', 'none'], tmp);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `no runs in ${path.join(tmp, 'none')}\n`);
    });
  });

  describe('sgt report', () => {
    it('writes a report of runs named by id, and of the latest N', async () => {
      writeSgt(tmp);
      await sgt(['train', 'tiny.sgt', '--foreground'], tmp);
      const ids = fs.readdirSync(path.join(tmp, '.sgt', 'runs')).sort();
      const r = await sgt(['report', ...ids, '--out', 'cmp.html'], tmp);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${path.join(tmp, 'cmp.html')}\n`);
      const html = fs.readFileSync(path.join(tmp, 'cmp.html'), 'utf8');
      assert.ok(html.includes('data:image/png;base64,'));
      assert.ok(html.includes("default-src 'none'; img-src data:; style-src 'unsafe-inline'"));

      const latest = await sgt(['report', '--latest', '1', '--out', '-'], tmp);
      assert.equal(latest.status, 0);
      assert.ok(latest.stdout.startsWith('<!doctype html>'));
      assert.equal((latest.stdout.match(/<article class="card"/g) ?? []).length, 1);
    });

    it('rejects unknown runs and a missing selection with exit 2', async () => {
      assert.match((await sgt(['report'], tmp)).stderr, /^sgt: name the runs to report on/);
      const r = await sgt(['report', 'nope'], tmp);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^sgt: no run 'nope'/);
      assert.equal((await sgt(['report', '--latest', '0'], tmp)).status, 2);
    });
  });
});
