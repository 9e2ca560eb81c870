import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import {
  effectiveStatus,
  engineFor,
  experimentAt,
  experimentOfRunId,
  experimentRanges,
  formatMetric,
  idleTimeoutArgs,
  lastRunLensText,
  newestRunDirs,
  progressFraction,
  progressText,
  reportFileName,
  resolveRunsFolder,
  resultText,
  runItemText,
  statusIcon,
  withPython,
} from '../../client/src/run-labels';
import type { DaemonJob } from '../../server/src/protocol';
import type { RunInfo } from '../../server/src/runs/run-dir';

const FILE = `# two experiments
experiment decoy_ce {
  train { epochs = 2 }
}

experiment decoy_cyborg extends decoy_ce {
  guidance { loss = cyborg }
}
`;

function info(over: Partial<RunInfo> = {}): RunInfo {
  return { id: 'decoy_ce-20260101-120000-abcd', dir: '/w/.sgt/runs/decoy_ce-20260101-120000-abcd', experiment: 'decoy_ce', status: 'finished', metrics: {}, ...over };
}

function job(over: Partial<DaemonJob> = {}): DaemonJob {
  return { id: 'j1', runDir: '/w/.sgt/runs/r', experiment: 'decoy_ce', engine: 'tfjs', resume: false, status: 'running', submittedAt: '2026-01-01T12:00:00Z', ...over };
}

describe('client run labels', () => {
  describe('experiments in a file', () => {
    it('lists named experiments with their ranges, in file order', () => {
      const ranges = experimentRanges(FILE);
      assert.deepEqual(
        ranges.map((r) => r.name),
        ['decoy_ce', 'decoy_cyborg'],
      );
      assert.equal(FILE.slice(ranges[0].nameStart, ranges[0].nameEnd), 'decoy_ce');
      assert.ok(FILE.slice(ranges[1].start).startsWith('experiment decoy_cyborg'));
    });

    it('skips an experiment whose name is not typed yet', () => {
      assert.deepEqual(
        experimentRanges('experiment a { }\nexperiment ').map((r) => r.name),
        ['a'],
      );
    });

    it('finds the experiment at a cursor offset', () => {
      assert.equal(experimentAt(FILE, FILE.indexOf('epochs')), 'decoy_ce');
      assert.equal(experimentAt(FILE, FILE.indexOf('cyborg }')), 'decoy_cyborg');
      // just after the closing brace still counts
      const end = experimentRanges(FILE)[0].end;
      assert.equal(experimentAt(FILE, end), 'decoy_ce');
      // the comment before the first experiment is in none
      assert.equal(experimentAt(FILE, 2), undefined);
    });
  });

  describe('run results', () => {
    it('prefers val metrics, accuracy then saliency agreement', () => {
      const i = info({ metrics: { train: { accuracy: 0.99 }, val: { accuracy: 0.9712, saliency_corr: 0.7104, saliency_mse: 0.02 } } });
      assert.equal(resultText(i), 'val acc 0.971 · agreement 0.71');
      assert.equal(lastRunLensText(i), 'val acc 0.971 · agreement 0.71');
    });

    it('falls back to test, then train, then any metric names', () => {
      assert.equal(resultText(info({ metrics: { test: { accuracy: 0.5 } } })), 'test acc 0.5');
      assert.equal(resultText(info({ metrics: { train: { foo: 1.23456 } } })), 'train foo 1.23');
      assert.equal(resultText(info()), undefined);
    });

    it('says how an unfinished last run ended', () => {
      assert.equal(lastRunLensText(info({ status: 'failed' })), 'last run failed');
      assert.equal(lastRunLensText(info({ status: 'interrupted', metrics: { val: { accuracy: 0.8 } } })), 'last run interrupted · val acc 0.8');
      assert.equal(lastRunLensText(info({ status: 'finished' })), 'finished');
      assert.equal(lastRunLensText(undefined), undefined);
    });

    it('shows live progress while the daemon runs it', () => {
      const j = job({ progress: { epoch: 2, epochs: 5, step: 120, totalSteps: 300 } });
      assert.equal(lastRunLensText(info({ status: 'running' }), j), 'epoch 2/5 · step 120/300 (40%)');
      assert.equal(progressFraction(j), 0.4);
      assert.equal(progressText(job({ status: 'queued' })), 'queued');
      assert.equal(progressText(job()), 'starting…');
      assert.equal(progressText(job({ progress: { epoch: 0, epochs: 5, step: 0, totalSteps: 300 } })), 'epoch 1/5 · step 0/300 (0%)');
      assert.equal(progressFraction(job()), undefined);
    });

    it('formats metrics to three significant digits', () => {
      assert.equal(formatMetric(0.97123), '0.971');
      assert.equal(formatMetric(1234.5), '1230');
      assert.equal(formatMetric(Number.NaN), 'NaN');
    });
  });

  describe('run folders', () => {
    it('reads the experiment from a run id', () => {
      assert.equal(experimentOfRunId('decoy_ce-20260101-120000-abcd'), 'decoy_ce');
      assert.equal(experimentOfRunId('my-exp-20260101-120000-0f0f'), 'my-exp');
    });

    it('picks the newest run of each wanted experiment', () => {
      const dirs = ['/r/b-20260102-000000-0000', '/r/a-20260101-000000-0000', '/r/a-20251231-000000-0000', '/r/c-20250101-000000-0000'];
      const newest = newestRunDirs(dirs, new Set(['a', 'b', 'x']));
      assert.deepEqual([...newest.entries()], [
        ['b', '/r/b-20260102-000000-0000'],
        ['a', '/r/a-20260101-000000-0000'],
      ]);
    });

    it('resolves the runs folder setting against the workspace folder', () => {
      assert.equal(resolveRunsFolder('/w', undefined), path.resolve('/w/.sgt/runs'));
      assert.equal(resolveRunsFolder('/w', '  '), path.resolve('/w/.sgt/runs'));
      assert.equal(resolveRunsFolder('/w', 'out/runs'), path.resolve('/w/out/runs'));
      assert.equal(resolveRunsFolder('/w', '/abs/runs'), path.resolve('/abs/runs'));
    });

    it('names reports', () => {
      assert.equal(reportFileName(1), 'report.html');
      assert.equal(reportFileName(3, new Date('2026-01-02T03:04:05Z')), 'report-3-runs-20260102-030405.html');
    });
  });

  describe('settings', () => {
    it('overrides the engine only when the setting names one', () => {
      assert.equal(engineFor('tfjs', 'auto'), 'tfjs');
      assert.equal(engineFor('tfjs', undefined), 'tfjs');
      assert.equal(engineFor('tfjs', 'torch'), 'torch');
      assert.equal(engineFor('torch', 'tfjs'), 'tfjs');
    });

    it('passes the idle timeout to the daemon in seconds', () => {
      assert.deepEqual(idleTimeoutArgs(30), ['--idle-timeout', '1800']);
      assert.deepEqual(idleTimeoutArgs(0), ['--idle-timeout', '0']);
      assert.deepEqual(idleTimeoutArgs(0.5), ['--idle-timeout', '30']);
      assert.deepEqual(idleTimeoutArgs(undefined), []);
      assert.deepEqual(idleTimeoutArgs(-1), []);
    });
  });

  describe('Runs view rows', () => {
    it('shows status, result and start time', () => {
      const t = runItemText(info({ startedAt: '2026-01-01T12:00:05.000Z', metrics: { val: { accuracy: 0.9 } } }));
      assert.equal(t.label, 'decoy_ce');
      assert.equal(t.description, 'finished · val acc 0.9 · 2026-01-01 12:00');
      assert.ok(t.tooltip.includes('decoy_ce-20260101-120000-abcd'));
    });

    it('lets a live job beat what the files say', () => {
      const j = job({ progress: { epoch: 1, epochs: 2, step: 5, totalSteps: 10 } });
      assert.equal(runItemText(info({ status: 'interrupted' }), j).description, 'epoch 1/2 · step 5/10 (50%)');
      assert.equal(effectiveStatus(info({ status: 'interrupted' }), j), 'running');
      assert.equal(effectiveStatus(info({ status: 'failed' }), job({ status: 'failed' })), 'failed');
      assert.equal(statusIcon('running'), 'sync~spin');
      assert.equal(statusIcon('interrupted'), 'debug-pause');
    });
  });

  describe('saliencyStudio.python', () => {
    it('sets SGT_PYTHON for the language server and the daemon only when the setting has a value', () => {
      const base = { PATH: '/usr/bin', SGT_PYTHON: undefined };
      assert.deepEqual(withPython(base, '/opt/venv/bin/python'), { PATH: '/usr/bin', SGT_PYTHON: '/opt/venv/bin/python' });
      assert.equal(withPython(base, undefined), base);
      assert.equal(base.SGT_PYTHON, undefined, 'the base environment is not modified');
    });
  });
});
