/**
 * `sgt daemon status|start|stop`, run in-process through registerDaemonCommand
 * with stand-in streams and the sandbox's environment.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Command } from 'commander';
import { registerDaemonCommand } from '../../server/src/cli/daemon-command';
import { isDaemonProcess, readLockPid } from '../../server/src/daemon/lock';
import { readEvents } from '../../server/src/runs/run-dir';
import { ensureDaemonBuilt, record, root, sandbox, waitUntil, type Sandbox } from './helpers';

async function sgtDaemon(box: Sandbox, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let status = -1;
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: box.env, cwd: root };
  const program = new Command('sgt').exitOverride();
  registerDaemonCommand(program, io, (s) => (status = s));
  await program.parseAsync(['daemon', ...args], { from: 'user' });
  return { status, stdout, stderr };
}

describe('sgt daemon', function () {
  this.timeout(30_000);
  let box: Sandbox;

  before(ensureDaemonBuilt);
  afterEach(async () => box?.cleanup());

  it('status says "not running" (exit 1) and starts nothing', async () => {
    box = sandbox();
    const r = await sgtDaemon(box, 'status');
    assert.deepEqual(r, { status: 1, stdout: 'daemon: not running\n', stderr: '' });
    assert.equal(fs.existsSync(box.paths.socket), false);
    const json = await sgtDaemon(box, 'status', '--json');
    assert.deepEqual(JSON.parse(json.stdout), { running: false });
  });

  it('start starts it once; status shows pid, socket, jobs and engines', async () => {
    box = sandbox();
    const started = await sgtDaemon(box, 'start');
    assert.equal(started.status, 0, started.stderr);
    const pid = readLockPid(box.paths.lock);
    assert.equal(started.stdout, `daemon: started (pid ${pid}, socket ${box.paths.socket})\n`);
    assert.match((await sgtDaemon(box, 'start')).stdout, /^daemon: already running \(pid \d+/);

    const client = await box.connect(false);
    const rec = record(client);
    const { jobId } = await client.submit({ runDir: box.makeRun({ mode: 'hang' }, 'hanging'), engine: 'tfjs' });
    await waitUntil(() => rec.eventTypes(jobId).includes('started'));
    const status = await sgtDaemon(box, 'status');
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^daemon: running \\(pid ${pid}, version \\d+\\.\\d+\\.\\d+, up \\d+ s\\)$`, 'm'));
    assert.match(status.stdout, /^jobs: 0 queued, 1 running, 0 finished, 0 failed, 0 cancelled$/m);
    assert.match(status.stdout, /^ {2}running {2}hanging step \d\/3 \(epoch \d\/1\) {2}\//m);
    assert.match(status.stdout, /^engine tfjs: available \(.*daemon-fake-engine\.js/m);
    assert.match(status.stdout, /^engine torch: not available: /m);
    const json = JSON.parse((await sgtDaemon(box, 'status', '--json')).stdout);
    assert.equal(json.running, true);
    assert.equal(json.status.pid, pid);
    assert.equal(json.jobs[0].id, jobId);
  });

  it('stop refuses while a job runs, and --force cancels it and stops the daemon', async () => {
    box = sandbox();
    const client = await box.connect();
    const rec = record(client);
    const runDir = box.makeRun({ mode: 'hang' });
    const { jobId } = await client.submit({ runDir, engine: 'tfjs' });
    await waitUntil(() => rec.eventTypes(jobId).includes('started'));
    const pid = readLockPid(box.paths.lock)!;

    const refused = await sgtDaemon(box, 'stop');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^sgt: not stopping the daemon: 1 job\(s\) running, 0 queued; `sgt daemon stop --force` cancels them\n$/);
    assert.ok(isDaemonProcess(pid));

    const forced = await sgtDaemon(box, 'stop', '--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.stdout, `daemon: cancelling 1 job\ndaemon: stopped (pid ${pid})\n`);
    assert.equal(readEvents(runDir).at(-1)?.type, 'cancelled');
    await waitUntil(() => !isDaemonProcess(pid), 10_000, 'the daemon to exit');
    assert.equal((await sgtDaemon(box, 'status')).status, 1);
  });

  it('stop stops an idle daemon; stopping one that is not running is fine', async () => {
    box = sandbox();
    await sgtDaemon(box, 'start');
    const pid = readLockPid(box.paths.lock)!;
    const stopped = await sgtDaemon(box, 'stop');
    assert.deepEqual(stopped, { status: 0, stdout: `daemon: stopped (pid ${pid})\n`, stderr: '' });
    assert.equal(fs.existsSync(box.paths.socket), false);
    assert.deepEqual(await sgtDaemon(box, 'stop'), { status: 0, stdout: 'daemon: not running\n', stderr: '' });
  });

  it('reports a daemon folder it cannot use in one line (exit 2)', async function () {
    if (process.getuid?.() !== 0) this.skip(); // only root can give a folder away
    box = sandbox();
    fs.mkdirSync(box.paths.dir, { mode: 0o700 });
    fs.chownSync(box.paths.dir, 4242, 4242);
    const r = await sgtDaemon(box, 'start');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^sgt: the daemon folder .* belongs to another user \(uid 4242\); refusing to use it/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});
