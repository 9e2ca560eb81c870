/**
 * The daemon's small parts without a daemon: settings, the queue, stdout/stderr
 * line handling, appending endings to events.jsonl, the folder checks and the lock.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG, daemonConfig } from '../../server/src/daemon/config';
import { resolveEngineCommand } from '../../server/src/daemon/engine-command';
import { acquireLock, readLockPid } from '../../server/src/daemon/lock';
import { checkOwnership, daemonPaths, ensurePrivateDir } from '../../server/src/daemon/paths';
import { JobQueue } from '../../server/src/daemon/queue';
import { appendEvents, readEventsFrom } from '../../server/src/daemon/run-events';
import { LineSplitter, LineTail } from '../../server/src/runs/child-process';
import { readEvents } from '../../server/src/runs/run-dir';
import { sleep } from './helpers';

describe('daemon parts', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgtd-unit-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('settings', () => {
    it('defaults to 30 min idle, one job at a time, 10 s cancel grace', () => {
      assert.deepEqual(daemonConfig([], {}), DEFAULT_CONFIG);
      assert.deepEqual(DEFAULT_CONFIG, { idleTimeoutMs: 1_800_000, concurrency: 1, cancelGraceMs: 10_000 });
    });

    it('reads the environment, and flags win over it', () => {
      const env = { SGT_DAEMON_IDLE_TIMEOUT: '0.5', SGT_DAEMON_CONCURRENCY: '2', SGT_DAEMON_CANCEL_GRACE: '3' };
      assert.deepEqual(daemonConfig([], env), { idleTimeoutMs: 500, concurrency: 2, cancelGraceMs: 3000 });
      assert.deepEqual(daemonConfig(['--concurrency', '4', '--idle-timeout=0'], env), { idleTimeoutMs: 0, concurrency: 4, cancelGraceMs: 3000 });
    });

    it('rejects bad values and unknown flags with a message naming them', () => {
      assert.throws(() => daemonConfig([], { SGT_DAEMON_CONCURRENCY: '0' }), /SGT_DAEMON_CONCURRENCY must be a whole number >= 1/);
      assert.throws(() => daemonConfig(['--idle-timeout', 'soon'], {}), /--idle-timeout must be a number of seconds/);
      assert.throws(() => daemonConfig(['--verbose'], {}), /unknown argument --verbose/);
      assert.throws(() => daemonConfig(['--concurrency'], {}), /needs a value/);
    });
  });

  describe('engine command', () => {
    it('takes SGT_ENGINE_COMMAND_TFJS as a command prefix and appends the contract flags', () => {
      const env = { SGT_ENGINE_COMMAND_TFJS: '["python3", "-u", "fake.py"]' };
      assert.deepEqual(resolveEngineCommand('tfjs', '/runs/a', true, env), { command: 'python3', args: ['-u', 'fake.py', '--run-dir', '/runs/a', '--resume'] });
    });

    it('explains a malformed override', () => {
      assert.throws(() => resolveEngineCommand('tfjs', '/r', false, { SGT_ENGINE_COMMAND_TFJS: 'node fake.js' }), /SGT_ENGINE_COMMAND_TFJS must be a JSON array of strings/);
    });
  });

  describe('queue', () => {
    it('runs in submission order, at most `concurrency` at once', async () => {
      const log: string[] = [];
      let running = 0;
      let peak = 0;
      const queue = new JobQueue<string>(2, async (name) => {
        running++;
        peak = Math.max(peak, running);
        log.push(`start ${name}`);
        await sleep(10);
        log.push(`end ${name}`);
        running--;
      });
      assert.deepEqual(['a', 'b', 'c', 'd'].map((n) => queue.enqueue(n)), [0, 0, 1, 2]);
      await waitFor(() => queue.size === 0);
      assert.equal(peak, 2);
      assert.deepEqual(log.filter((l) => l.startsWith('start')), ['start a', 'start b', 'start c', 'start d']);
    });

    it('removes a waiting item; a failing item frees its slot', async () => {
      const started: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const queue = new JobQueue<string>(1, async (name) => {
        started.push(name);
        if (name === 'a') {
          await gate;
          throw new Error('boom');
        }
      });
      assert.deepEqual(['a', 'b', 'c'].map((n) => queue.enqueue(n)), [0, 1, 2]);
      assert.equal(queue.remove('b'), true);
      assert.equal(queue.remove('a'), false, 'a running item is not removed');
      release();
      await waitFor(() => queue.size === 0);
      assert.deepEqual(started, ['a', 'c']);
    });
  });

  describe('engine output', () => {
    it('splits lines across chunks, with CRLF, and flushes the last unterminated one', () => {
      const lines: string[] = [];
      const s = new LineSplitter((l) => lines.push(l));
      s.push('{"a":');
      s.push('1}\r\nsecond\nthi');
      s.push('rd');
      s.flush();
      assert.deepEqual(lines, ['{"a":1}', 'second', 'third']);
    });

    it('keeps the last lines of stderr, each cut to a readable length', () => {
      const tail = new LineTail(3, 5);
      for (const l of ['1', '2', '3', '4', '1234567890']) tail.push(l);
      assert.equal(tail.text(), '3\n4\n12345 …');
    });
  });

  describe('events.jsonl', () => {
    it('appends after a partial last line without corrupting the new event', () => {
      const file = path.join(tmp, 'events.jsonl');
      fs.writeFileSync(file, '{"time":"t","type":"log","level":"info","message":"ok"}\n{"time":"t","type":"st');
      appendEvents(tmp, [{ time: 't2', type: 'failed', error: 'crashed' }]);
      const events = readEvents(tmp);
      assert.deepEqual(events.map((e) => e.type), ['log', 'failed']);
    });

    it('reads only the events written after an offset (an earlier attempt of a resumed run is not this one)', () => {
      fs.writeFileSync(path.join(tmp, 'events.jsonl'), '{"time":"t","type":"failed","error":"old"}\n');
      const offset = fs.statSync(path.join(tmp, 'events.jsonl')).size;
      appendEvents(tmp, [{ time: 't', type: 'cancelled' }]);
      assert.deepEqual(readEventsFrom(tmp, offset).map((e) => e.type), ['cancelled']);
    });

    it('throws on a full disk, for the caller to handle', function () {
      if (!fs.existsSync('/dev/full')) this.skip();
      fs.symlinkSync('/dev/full', path.join(tmp, 'events.jsonl'));
      assert.throws(() => appendEvents(tmp, [{ time: 't', type: 'cancelled' }]), /ENOSPC/);
    });
  });

  describe('daemon folder', () => {
    it('is created user-only, and an existing one is closed to others', () => {
      const paths = daemonPaths({ SGT_DAEMON_DIR: path.join(tmp, 'a', 'd') });
      ensurePrivateDir(paths);
      assert.equal(fs.statSync(paths.dir).mode & 0o777, 0o700);
      fs.chmodSync(paths.dir, 0o755);
      ensurePrivateDir(paths);
      assert.equal(fs.statSync(paths.dir).mode & 0o777, 0o700);
    });

    it('is refused when it belongs to another user', function () {
      if (process.getuid?.() !== 0) this.skip(); // only root can give a folder away
      const paths = daemonPaths({ SGT_DAEMON_DIR: path.join(tmp, 'theirs') });
      fs.mkdirSync(paths.dir, { mode: 0o700 });
      fs.chownSync(paths.dir, 4242, 4242);
      assert.throws(() => ensurePrivateDir(paths), /belongs to another user \(uid 4242\)/);
    });

    it('is not trusted by a client when its socket belongs to another user', function () {
      if (process.getuid?.() !== 0) this.skip();
      const paths = daemonPaths({ SGT_DAEMON_DIR: path.join(tmp, 'd') });
      ensurePrivateDir(paths);
      assert.doesNotThrow(() => checkOwnership(paths));
      fs.writeFileSync(paths.socket, '');
      fs.chownSync(paths.socket, 4242, 4242);
      assert.throws(() => checkOwnership(paths), /the daemon socket .* belongs to another user \(uid 4242\)/);
    });

    it('is refused when it is a symbolic link', () => {
      fs.mkdirSync(path.join(tmp, 'real'));
      fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'link'));
      assert.throws(() => ensurePrivateDir(daemonPaths({ SGT_DAEMON_DIR: path.join(tmp, 'link') })), /not a directory/);
    });

    it('is refused when the socket path would be too long', () => {
      assert.throws(() => ensurePrivateDir(daemonPaths({ SGT_DAEMON_DIR: path.join(tmp, 'x'.repeat(120)) })), /too long for a Unix socket/);
    });

    it('lives under XDG_RUNTIME_DIR, else ~/.sgt/daemon', () => {
      assert.equal(daemonPaths({ XDG_RUNTIME_DIR: '/run/user/1000' }).socket, '/run/user/1000/saliency-studio/daemon.sock');
      assert.equal(daemonPaths({}).socket, path.join(os.homedir(), '.sgt', 'daemon', 'daemon.sock'));
    });
  });

  describe('lock', () => {
    it('is held by one owner; a stale lock (dead pid) is taken over', () => {
      const file = path.join(tmp, 'daemon.pid');
      fs.writeFileSync(file, '999999999\n');
      const lock = acquireLock(file);
      assert.ok(lock.acquired);
      assert.equal(readLockPid(file), process.pid);
      lock.release();
      assert.equal(fs.existsSync(file), false);
    });
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(5);
  assert.ok(check(), 'timed out');
}
