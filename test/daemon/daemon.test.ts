/**
 * The daemon as its clients see it: a real daemon process (dist/daemon.js) started
 * on demand over a user-only socket, running the fake engine
 * (test/fixtures/daemon-fake-engine.js) as its engine processes.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { connectDaemon, DaemonNotRunningError } from '../../server/src/daemon/client';
import { isDaemonProcess, readLockPid } from '../../server/src/daemon/lock';
import { DAEMON_ERRORS, type RunEvent } from '../../server/src/protocol';
import { readEvents, runInfo } from '../../server/src/runs/run-dir';
import { assertPrivate, daemonBundle, ensureDaemonBuilt, record, sandbox, waitUntil, type Sandbox } from './helpers';

describe('training daemon', function () {
  this.timeout(30_000);
  let box: Sandbox;

  before(ensureDaemonBuilt);
  afterEach(async () => box?.cleanup());

  const lastEvent = (runDir: string): RunEvent | undefined => readEvents(runDir).pop();

  describe('starting', () => {
    it('is started on demand by a client, and found by the next one', async () => {
      box = sandbox();
      await assert.rejects(box.connect(false), DaemonNotRunningError);
      const first = await box.connect();
      assert.equal(first.startedDaemon, true);
      const second = await box.connect(false);
      assert.equal(second.startedDaemon, false);
      const status = await second.status();
      assert.equal(status.pid, readLockPid(box.paths.lock));
      assert.equal(status.socket, box.paths.socket);
      assert.equal(status.clients, 2);
      assert.equal(status.concurrency, 1);
      assert.match(status.version, /^\d+\.\d+\.\d+/);
      assert.deepEqual(
        status.engines.map((e) => [e.name, e.available]),
        [
          ['tfjs', true],
          ['torch', false],
        ],
      );
    });

    it('keeps its socket and folder user-only', async () => {
      box = sandbox();
      await box.connect();
      assertPrivate(box.paths.dir);
      assertPrivate(box.paths.socket);
      assertPrivate(box.paths.log);
      assert.ok(fs.statSync(box.paths.socket).isSocket());
    });

    it('replaces a stale socket and lock left by a daemon that was killed', async () => {
      box = sandbox();
      fs.mkdirSync(box.paths.dir, { mode: 0o700 });
      // a process that listens on the socket and dies without cleaning up
      const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(box.paths.socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(fs.existsSync(box.paths.socket), 'no stale socket file to test with');
      fs.writeFileSync(box.paths.lock, `${r.pid}\n`);
      const client = await box.connect();
      assert.equal(client.startedDaemon, true);
      assert.notEqual((await client.status()).pid, r.pid);
    });

    it('refuses to start a second daemon while one runs', async () => {
      box = sandbox();
      const client = await box.connect();
      const { pid } = await client.status();
      const second = spawnSync(process.execPath, [daemonBundle], { env: box.env, encoding: 'utf8', timeout: 10_000 });
      assert.equal(second.status, 3, second.stdout + second.stderr);
      assert.match(second.stdout, new RegExp(`already running \\(pid ${pid}\\)`));
      assert.equal((await client.status()).pid, pid, 'the first daemon still answers');
      assert.equal(readLockPid(box.paths.lock), pid);
    });

    it('stops by itself when idle (no jobs, no clients), not while a job runs', async () => {
      box = sandbox({ SGT_DAEMON_IDLE_TIMEOUT: '0.3' });
      const client = await box.connect();
      const pid = (await client.status()).pid;
      const { jobId } = await client.submit({ runDir: box.makeRun({ steps: 10, stepMs: 60 }), engine: 'tfjs' });
      client.close();
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(isDaemonProcess(pid), 'it stopped while a job ran');
      await waitUntil(() => !isDaemonProcess(pid), 10_000, 'the idle daemon to exit');
      assert.equal(fs.existsSync(box.paths.socket), false, 'the socket is removed');
      assert.equal(fs.existsSync(box.paths.lock), false, 'the lock is released');
      assert.match(fs.readFileSync(box.paths.log, 'utf8'), new RegExp(`job ${jobId} finished[\\s\\S]*stopping \\(idle`));
    });
  });

  describe('jobs', () => {
    it('runs a submitted job, streaming its events, until it finishes', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const runDir = box.makeRun({ steps: 3 });
      const submitted = await client.submit({ runDir, engine: 'tfjs' });
      assert.equal(submitted.position, 0);
      assert.equal(submitted.job.experiment, 'exp1');
      const job = await client.waitForJob(submitted.jobId);
      assert.equal(job.status, 'finished');
      assert.deepEqual(job.exit, { code: 0, signal: null });
      assert.deepEqual(job.progress, { epoch: 1, epochs: 1, step: 3, totalSteps: 3 });
      await waitUntil(() => rec.eventTypes(job.id).includes('finished'));
      assert.deepEqual(rec.eventTypes(job.id), ['started', 'log', 'step', 'step', 'step', 'epoch', 'overlay', 'finished']);
      // the notifications are what the run directory says
      assert.deepEqual(
        rec.events.map((e) => e.event),
        readEvents(runDir),
      );
      assert.ok(rec.events.every((e) => e.runDir === runDir));
      assert.deepEqual(
        rec.jobs.filter((j) => j.id === job.id).map((j) => j.status),
        ['queued', 'running', 'running', 'finished'],
      );
      assert.equal(runInfo(runDir).status, 'finished');
    });

    it('queues jobs in order and runs one at a time', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const a = await client.submit({ runDir: box.makeRun({ steps: 4, stepMs: 40 }), engine: 'tfjs' });
      const b = await client.submit({ runDir: box.makeRun({ steps: 1 }), engine: 'tfjs' });
      assert.deepEqual([a.position, b.position], [0, 1]);
      assert.deepEqual(
        (await client.list()).map((j) => [j.id, j.status]),
        [
          [a.jobId, 'running'],
          [b.jobId, 'queued'],
        ],
      );
      const [ja, jb] = await Promise.all([client.waitForJob(a.jobId), client.waitForJob(b.jobId)]);
      assert.equal(ja.status, 'finished');
      assert.equal(jb.status, 'finished');
      assert.ok(jb.startedAt! >= ja.endedAt!, 'b started before a ended');
      const starts = rec.events.filter((e) => e.event.type === 'started').map((e) => e.jobId);
      assert.deepEqual(starts, [a.jobId, b.jobId]);
      assert.deepEqual((await client.status()).jobs, { queued: 0, running: 0, finished: 2, failed: 0, cancelled: 0 });
    });

    it('passes --resume to the engine', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const { jobId } = await client.submit({ runDir: box.makeRun({ steps: 2 }), engine: 'tfjs', resume: true });
      const job = await client.waitForJob(jobId);
      assert.equal(job.resume, true);
      const log = rec.events.find((e) => e.event.type === 'log')?.event;
      assert.ok(log?.type === 'log' && log.message.endsWith('--resume'), JSON.stringify(log));
    });

    it('rejects what it cannot run, with an error code and a message', async () => {
      box = sandbox();
      const client = await box.connect();
      const runDir = box.makeRun({ mode: 'hang' });
      const code = async (p: Promise<unknown>): Promise<number> => {
        try {
          await p;
        } catch (err) {
          assert.ok(err instanceof ResponseError, String(err));
          assert.ok(err.message.length > 10);
          return err.code;
        }
        return 0;
      };
      assert.equal(await code(client.submit({ runDir: 'relative/run', engine: 'tfjs' })), DAEMON_ERRORS.invalidRun);
      assert.equal(await code(client.submit({ runDir: box.tmp, engine: 'tfjs' })), DAEMON_ERRORS.invalidRun);
      assert.equal(await code(client.submit({ runDir, engine: 'torch' })), DAEMON_ERRORS.engineUnavailable);
      assert.equal(await code(client.submit({ runDir, engine: 'tfjs' })), 0);
      assert.equal(await code(client.submit({ runDir, engine: 'tfjs' })), DAEMON_ERRORS.runBusy);
      assert.equal(await code(client.cancel('no-such-job')), DAEMON_ERRORS.unknownJob);
    });

    it('keeps running a job when its client disconnects; a new client sees it finish', async () => {
      box = sandbox();
      const first = await box.connect();
      const runDir = box.makeRun({ steps: 5, stepMs: 50 });
      const { jobId } = await first.submit({ runDir, engine: 'tfjs' });
      await waitUntil(async () => (await first.list()).some((j) => j.id === jobId && j.status === 'running'));
      first.close();
      const second = await box.connect(false);
      const job = await second.waitForJob(jobId);
      assert.equal(job.status, 'finished');
      assert.equal(lastEvent(runDir)?.type, 'finished');
      assert.deepEqual(
        (await second.list({ runDir })).map((j) => j.id),
        [jobId],
      );
    });

    it('sends a client only the runs it subscribed to', async () => {
      box = sandbox();
      const all = await box.connect();
      const narrow = await box.connect(false);
      const runA = box.makeRun({ steps: 1 });
      const runB = box.makeRun({ steps: 1 });
      await narrow.subscribe({ runDirs: [runB] });
      const recAll = record(all);
      const recNarrow = record(narrow);
      const a = await all.submit({ runDir: runA, engine: 'tfjs' });
      const b = await all.submit({ runDir: runB, engine: 'tfjs' });
      await all.waitForJob(a.jobId);
      await narrow.waitForJob(b.jobId);
      await waitUntil(() => recAll.eventTypes(b.jobId).includes('finished'));
      assert.ok(recAll.events.some((e) => e.runDir === runA));
      assert.ok(recNarrow.events.length > 0 && recNarrow.events.every((e) => e.runDir === runB));
    });
  });

  describe('cancelling', () => {
    it('cancels a running job: the engine writes `cancelled` and exits 130', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const runDir = box.makeRun({ mode: 'hang' });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      await waitUntil(() => rec.eventTypes(jobId).includes('started'), 10_000, 'the engine to start');
      const res = await client.cancel(jobId);
      assert.equal(res.cancelling, true);
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'cancelled');
      assert.deepEqual(job.exit, { code: 130, signal: null });
      assert.equal(lastEvent(runDir)?.type, 'cancelled');
      assert.equal((await client.cancel(jobId)).cancelling, false, 'an ended job cannot be cancelled again');
    });

    it('cancels a queued job at once, and it never starts', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const running = await client.submit({ runDir: box.makeRun({ mode: 'hang' }), engine: 'tfjs' });
      const queuedRun = box.makeRun({ steps: 1 });
      const queued = await client.submit({ runDir: queuedRun, engine: 'tfjs' });
      const res = await client.cancel(queued.jobId);
      assert.equal(res.cancelling, true);
      assert.equal((await client.waitForJob(queued.jobId)).status, 'cancelled');
      assert.deepEqual(readEvents(queuedRun).map((e) => e.type), ['cancelled']);
      await client.cancel(running.jobId);
      assert.equal((await client.waitForJob(running.jobId)).status, 'cancelled');
      assert.ok(!rec.events.some((e) => e.jobId === queued.jobId && e.event.type === 'started'));
    });

    it('kills an engine that ignores SIGTERM after the grace period', async () => {
      box = sandbox({ SGT_DAEMON_CANCEL_GRACE: '0.3' });
      const client = await box.connect();
      const rec = record(client);
      const runDir = box.makeRun({ mode: 'ignore-sigterm' });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      await waitUntil(() => rec.eventTypes(jobId).includes('started'));
      await client.cancel(jobId);
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'cancelled');
      assert.equal(job.exit?.signal, 'SIGKILL');
      const events = readEvents(runDir);
      assert.deepEqual(events.slice(-2).map((e) => e.type), ['log', 'cancelled']);
      assert.match(JSON.stringify(events.at(-2)), /did not stop within 0.3 s of SIGTERM/);
    });
  });

  describe('engine failures', () => {
    it('fails the job of a crashed engine with its stderr tail, written into events.jsonl, and runs the next job', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const crashRun = box.makeRun({ mode: 'crash', stderrLines: 80 });
      const nextRun = box.makeRun({ steps: 1 });
      const crash = await client.submit({ runDir: crashRun, engine: 'tfjs' });
      const next = await client.submit({ runDir: nextRun, engine: 'tfjs' });
      const job = await client.waitForJob(crash.jobId);
      assert.equal(job.status, 'failed');
      assert.equal(job.error, 'the engine crashed (exit status 3)');
      const failed = lastEvent(crashRun);
      assert.ok(failed?.type === 'failed', JSON.stringify(failed));
      assert.equal(failed.error, 'the engine crashed (exit status 3)');
      const detail = (failed.detail ?? '').split('\n');
      assert.equal(detail.length, 50);
      assert.equal(detail.at(-1), 'Error: something broke in the fake engine');
      assert.equal(detail[0], 'stderr line 32');
      // the same event reached the clients
      await waitUntil(() => rec.eventTypes(crash.jobId).includes('failed'));
      assert.deepEqual(rec.events.filter((e) => e.jobId === crash.jobId).at(-1)?.event, failed);
      // the daemon lives on
      assert.equal((await client.status()).jobs.failed, 1);
      assert.equal((await client.waitForJob(next.jobId)).status, 'finished');
    });

    it('keeps events.jsonl readable after an engine died mid-line', async () => {
      box = sandbox();
      const client = await box.connect();
      const runDir = box.makeRun({ mode: 'crash-partial', stderrLines: 0 });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      assert.equal((await client.waitForJob(jobId)).status, 'failed');
      assert.deepEqual(
        readEvents(runDir).map((e) => e.type),
        ['started', 'log', 'step', 'step', 'step', 'failed'],
      );
      assert.equal(runInfo(runDir).status, 'failed');
    });

    it('fails the job of a killed engine (SIGKILL, as the OOM killer does)', async () => {
      box = sandbox();
      const client = await box.connect();
      const runDir = box.makeRun({ mode: 'kill-self', steps: 1 });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'failed');
      assert.deepEqual(job.exit, { code: null, signal: 'SIGKILL' });
      const failed = lastEvent(runDir);
      assert.ok(failed?.type === 'failed' && /killed \(SIGKILL/.test(failed.error), JSON.stringify(failed));
      assert.match(failed.detail ?? '', /fake engine \d+ running kill-self/);
    });

    it('keeps the failed event of an engine that reported its own failure', async () => {
      box = sandbox();
      const client = await box.connect();
      const runDir = box.makeRun({ mode: 'fail', steps: 1 });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'failed');
      assert.equal(job.error, 'the data folder is empty');
      assert.equal(readEvents(runDir).filter((e) => e.type === 'failed').length, 1, 'the daemon adds no second ending');
    });

    it('survives a full disk: the job fails, the daemon goes on', async function () {
      if (!fs.existsSync('/dev/full')) this.skip();
      box = sandbox();
      const client = await box.connect();
      const fullRun = box.makeRun({ steps: 2 });
      // every write to this run's events.jsonl fails with ENOSPC, the engine's and the daemon's
      fs.rmSync(path.join(fullRun, 'events.jsonl'));
      fs.symlinkSync('/dev/full', path.join(fullRun, 'events.jsonl'));
      const full = await client.submit({ runDir: fullRun, engine: 'tfjs' });
      const next = await client.submit({ runDir: box.makeRun({ steps: 1 }), engine: 'tfjs' });
      const job = await client.waitForJob(full.jobId);
      assert.equal(job.status, 'failed');
      assert.match(job.error ?? '', /exit status 1/);
      assert.match(fs.readFileSync(box.paths.log, 'utf8'), /cannot write the failed event of .*ENOSPC/);
      // (no readEvents here: reading /dev/full never ends, unlike a real full disk's file)
      assert.equal(runInfo(box.makeRun()).status, 'interrupted', 'other runs still read');
      assert.equal((await client.waitForJob(next.jobId)).status, 'finished');
    });

    it('kills an engine that reported its ending but does not exit, keeping its ending', async () => {
      box = sandbox({ SGT_DAEMON_CANCEL_GRACE: '0.3' });
      const client = await box.connect();
      const runDir = box.makeRun({ mode: 'finish-linger', steps: 1 });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'finished');
      assert.equal(job.exit?.signal, 'SIGKILL');
      assert.equal(lastEvent(runDir)?.type, 'finished');
      assert.match(fs.readFileSync(box.paths.log, 'utf8'), /reported finished but did not exit within 0.3 s: killing it/);
    });

    it('fails a job whose engine command does not exist', async () => {
      box = sandbox({ SGT_ENGINE_COMMAND_TFJS: JSON.stringify([path.join('/nonexistent', 'engine')]) });
      const client = await box.connect();
      const runDir = box.makeRun();
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      const job = await client.waitForJob(jobId);
      assert.equal(job.status, 'failed');
      assert.match(job.error ?? '', /could not be started .*ENOENT/);
      assert.equal(lastEvent(runDir)?.type, 'failed');
    });
  });

  describe('stopping', () => {
    it('refuses to shut down with jobs unless told to cancel them', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const runDir = box.makeRun({ mode: 'hang' });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      await waitUntil(() => rec.eventTypes(jobId).includes('started'));
      await assert.rejects(client.shutdown(), (err: unknown) => err instanceof ResponseError && err.code === DAEMON_ERRORS.busy);
      const closed = new Promise<void>((resolve) => client.onClose(resolve));
      const pid = readLockPid(box.paths.lock)!;
      assert.deepEqual(await client.shutdown({ cancelJobs: true }), { cancelled: 1 });
      await closed;
      await waitUntil(() => !isDaemonProcess(pid), 10_000, 'the daemon to exit');
      assert.equal(lastEvent(runDir)?.type, 'cancelled');
      assert.equal(fs.existsSync(box.paths.socket), false);
      assert.equal(fs.existsSync(box.paths.lock), false);
    });

    it('cancels its jobs on SIGTERM and exits', async () => {
      box = sandbox();
      const client = await box.connect();
      const rec = record(client);
      const runDir = box.makeRun({ mode: 'hang' });
      const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
      await waitUntil(() => rec.eventTypes(jobId).includes('started'));
      const pid = readLockPid(box.paths.lock)!;
      process.kill(pid, 'SIGTERM');
      await waitUntil(() => !isDaemonProcess(pid), 10_000, 'the daemon to exit');
      assert.equal(lastEvent(runDir)?.type, 'cancelled');
      await assert.rejects(connectDaemon({ env: box.env }), DaemonNotRunningError);
    });
  });
});
