/**
 * From a .sgt file to a run, with the fake engine standing in for tfjs: planning
 * (validation, resolution, overrides), the run directory, event streaming, and how
 * each kind of ending (finished, failed, cancelled, crashed) is reported.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { readEvents, RUN_FILES } from '../../server/src/runs/run-dir';
import { chooseEngine, planRuns, runEngine, RunSetupError, startRun } from '../../server/src/runs/start-run';
import { fakeEngineEnv, tempDir, writeSgt } from './helpers';

describe('start-run', function () {
  this.timeout(20_000);
  let tmp: string;
  beforeEach(() => (tmp = tempDir('sgt-start-')));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('planRuns', () => {
    it('resolves every experiment of the file in order, with baseDir and file added', () => {
      const file = writeSgt(tmp);
      const plan = planRuns({ file, workspaceRoot: tmp });
      assert.ok(plan.ok);
      assert.deepEqual(
        plan.runs.map((r) => r.experiment),
        ['plain', 'guided'],
      );
      const guided = plan.runs[1].resolved;
      assert.equal(guided.baseDir, tmp);
      assert.equal(guided.file, file);
      assert.deepEqual(guided.extends, ['plain']);
      assert.equal((guided.guidance as { loss: string }).loss, 'cyborg');
      assert.equal((guided.train as { epochs: number }).epochs, 2);
      // auto: tfjs unless PyTorch sees a CUDA GPU (none on test machines)
      assert.equal(plan.runs[0].engine.engine, 'tfjs');
      assert.match(plan.runs[0].engine.reason, /^train\.engine = auto; (PyTorch \S+ sees no CUDA GPU|PyTorch is not importable), so tfjs$/);
    });

    it('applies --epochs and picks experiments by name', () => {
      const plan = planRuns({ file: writeSgt(tmp), workspaceRoot: tmp, experiments: ['guided'], epochs: 7 });
      assert.ok(plan.ok);
      assert.equal(plan.runs.length, 1);
      assert.equal((plan.runs[0].resolved.train as { epochs: number }).epochs, 7);
    });

    it('refuses an experiment with errors, returning the diagnostics (1-based)', () => {
      const file = path.join(tmp, 'bad.sgt');
      fs.writeFileSync(file, 'experiment bad {\n  data { source = builtin("decoy-mnist") }\n  train { epochs = 0 }\n}\n');
      const plan = planRuns({ file, workspaceRoot: tmp });
      assert.equal(plan.ok, false);
      const errors = plan.diagnostics.filter((x) => x.severity === 'error');
      assert.equal(errors.length, 1);
      const d = errors[0];
      assert.ok(d);
      assert.equal(d.line, 3);
      assert.equal(d.column, 20);
      assert.equal(d.code, 'out-of-range');
    });

    it('names an unknown experiment with a suggestion, and rejects bad epochs', () => {
      const file = writeSgt(tmp);
      assert.throws(() => planRuns({ file, workspaceRoot: tmp, experiments: ['guidd'] }), (e: Error) => e instanceof RunSetupError && /no experiment 'guidd'.*did you mean 'guided'/.test(e.message));
      assert.throws(() => planRuns({ file, workspaceRoot: tmp, epochs: 0 }), RunSetupError);
    });

    it('chooses the engine from train.engine', () => {
      assert.equal(chooseEngine({ train: { engine: 'torch' } }).engine, 'torch');
      assert.equal(chooseEngine({ train: { engine: 'tfjs' } }).reason, 'train.engine = tfjs');
      assert.equal(chooseEngine({}).engine, 'tfjs');
      assert.deepEqual(chooseEngine({ model: { arch: 'resnet18' } }), { engine: 'torch', reason: 'train.engine = auto; model.arch = resnet18 needs the torch engine' });
      assert.equal(chooseEngine({ train: { engine: 'auto', devices: 2 } }).engine, 'torch');
    });

    it('auto keeps tfjs for every guidance loss, attribution and layer (without a CUDA GPU): the tfjs engine trains them all', () => {
      const off = { SGT_TORCH: 'off' };
      assert.deepEqual(chooseEngine({ guidance: { loss: 'energy', attribution: 'gradcam', layer: 'mid' } }, off), { engine: 'tfjs', reason: 'train.engine = auto; PyTorch is not importable, so tfjs' });
      assert.equal(chooseEngine({ guidance: { loss: 'rrr', irrelevant: 'shortcut' }, train: { engine: 'auto' } }, off).engine, 'tfjs');
      assert.equal(chooseEngine({ guidance: { loss: 'cyborg', attribution: 'ixg', layer: 'input' } }, off).engine, 'tfjs');
      assert.equal(chooseEngine({ guidance: { loss: 'none' } }, off).engine, 'tfjs');
    });
  });

  describe('startRun with the fake engine', () => {
    it('runs an experiment to the end: run directory files, streamed events, exit 0', async () => {
      const events: RunEvent[] = [];
      const output: string[] = [];
      const r = await startRun({
        file: writeSgt(tmp),
        workspaceRoot: tmp,
        experiment: 'guided',
        runsDir: path.join(tmp, 'runs'),
        env: fakeEngineEnv(),
        onEvent: (e) => events.push(e),
        onOutput: (line) => output.push(line),
      });
      assert.ok(r.ok);
      assert.equal(r.status, 'finished');
      assert.equal(r.code, 0);
      assert.equal(path.dirname(r.runDir), path.join(tmp, 'runs'));
      for (const f of [RUN_FILES.experiment, RUN_FILES.resolved, RUN_FILES.events, RUN_FILES.summary, RUN_FILES.overlayIndex]) assert.ok(fs.existsSync(path.join(r.runDir, f)), f);
      const resolved = JSON.parse(fs.readFileSync(path.join(r.runDir, RUN_FILES.resolved), 'utf8'));
      assert.equal(resolved.name, 'guided');
      assert.equal(resolved.baseDir, tmp);
      // what was streamed is what is on disk
      assert.deepEqual(events, readEvents(r.runDir));
      assert.equal(events[0].type, 'started');
      assert.equal(events.at(-1)!.type, 'finished');
      assert.equal(events.filter((e) => e.type === 'step').length, 2 * 4);
      // a stdout line that is not JSON is engine output, not an event
      assert.ok(output.includes('fake engine: warming up (not a JSON line)'), output.join('\n'));
    });

    it('reports a failed run: exit 1, its error, the stderr tail', async () => {
      const file = writeSgt(tmp, 'tiny.sgt', 'experiment will_fail extends plain {}\n');
      const r = await startRun({ file, workspaceRoot: tmp, experiment: 'will_fail', runsDir: path.join(tmp, 'runs'), env: fakeEngineEnv() });
      assert.ok(r.ok);
      assert.equal(r.status, 'failed');
      assert.equal(r.code, 1);
      assert.equal(r.ending.type === 'failed' && r.ending.error, 'the fake engine failed on purpose');
      assert.ok(r.stderrTail.some((l) => l.includes('told to fail')), r.stderrTail.join('\n'));
      assert.equal(readEvents(r.runDir).at(-1)!.type, 'failed');
    });

    it('cancels on abort: SIGTERM, a cancelled event, exit 130', async () => {
      const file = writeSgt(tmp, 'tiny.sgt', 'experiment hang_on extends plain {}\n');
      const abort = new AbortController();
      const r = await startRun({
        file,
        workspaceRoot: tmp,
        experiment: 'hang_on',
        runsDir: path.join(tmp, 'runs'),
        env: fakeEngineEnv(),
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'step' && e.step === 3) abort.abort();
        },
      });
      assert.ok(r.ok);
      assert.equal(r.status, 'cancelled');
      assert.equal(r.code, 130);
      assert.equal(readEvents(r.runDir).at(-1)!.type, 'cancelled');
    });

    it('writes a failed ending for an engine that crashed without one', async () => {
      const file = writeSgt(tmp, 'tiny.sgt', 'experiment crash_it extends plain {}\n');
      const r = await startRun({ file, workspaceRoot: tmp, experiment: 'crash_it', runsDir: path.join(tmp, 'runs'), env: fakeEngineEnv() });
      assert.ok(r.ok);
      assert.equal(r.status, 'failed');
      assert.equal(r.code, 3);
      assert.equal(r.ending.type === 'failed' && r.ending.error, 'the engine crashed (exit status 3)');
      assert.match((r.ending.type === 'failed' && r.ending.detail) || '', /Segmentation fault/);
      // the truncated line stays skipped; the written ending is readable
      const last = readEvents(r.runDir).at(-1)!;
      assert.equal(last.type, 'failed');
    });

    it('resumes a run directory from its last checkpoint', async () => {
      const file = writeSgt(tmp);
      const first = await startRun({ file, workspaceRoot: tmp, experiment: 'plain', runsDir: path.join(tmp, 'runs'), env: fakeEngineEnv() });
      assert.ok(first.ok);
      const engine = runEngine({ runDir: first.runDir, engine: 'tfjs', resume: true, env: fakeEngineEnv() });
      const again = await engine.done;
      assert.equal(again.status, 'finished');
      const started = readEvents(first.runDir).filter((e) => e.type === 'started');
      assert.equal(started.length, 2);
      assert.deepEqual(started[1].type === 'started' && started[1].resumedFrom, { epoch: 2, step: 8 });
    });

    it('does not create a run directory when the engine cannot be started', async () => {
      const runsDir = path.join(tmp, 'runs');
      await assert.rejects(
        startRun({ file: writeSgt(tmp), workspaceRoot: tmp, experiment: 'plain', runsDir, env: { ...process.env, SGT_ENGINE_COMMAND_TFJS: 'not json' } }),
        (e: Error) => e instanceof RunSetupError && /SGT_ENGINE_COMMAND_TFJS must be a JSON array/.test(e.message),
      );
      assert.ok(!fs.existsSync(runsDir));
    });

    it('returns the diagnostics instead of running an invalid experiment', async () => {
      const file = path.join(tmp, 'bad.sgt');
      fs.writeFileSync(file, 'experiment bad { model { widht = 3 } }\n');
      const r = await startRun({ file, workspaceRoot: tmp, experiment: 'bad', runsDir: path.join(tmp, 'runs'), env: fakeEngineEnv() });
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.diagnostics.some((d) => d.code === 'unknown-key'));
      assert.ok(!fs.existsSync(path.join(tmp, 'runs')));
    });
  });
});
