/**
 * Shared set-up of the daemon tests: each test gets its own daemon folder and runs
 * folder under a fresh temporary directory (SGT_DAEMON_DIR), the fake engine
 * (test/fixtures/daemon-fake-engine.js) in place of tfjs, and an up-to-date
 * dist/daemon.js (rebuilt here when the sources are newer). Every daemon a test
 * starts is stopped in `cleanup()`, gracefully or with SIGKILL.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { connectDaemon, type DaemonClient } from '../../server/src/daemon/client';
import { isDaemonProcess, readLockPid } from '../../server/src/daemon/lock';
import { daemonPaths, type DaemonPaths } from '../../server/src/daemon/paths';
import type { DaemonEventParams, DaemonJob, RunEvent } from '../../server/src/protocol';
import { createRunDir } from '../../server/src/runs/run-dir';

export const root = path.resolve(__dirname, '..', '..');
export const fakeEngine = path.join(root, 'test', 'fixtures', 'daemon-fake-engine.js');
export const daemonBundle = path.join(root, 'dist', 'daemon.js');

/** Builds dist/daemon.js (as scripts/build.mjs does) when it is missing or older than its sources. */
export async function ensureDaemonBuilt(): Promise<void> {
  const sources = ['server/src/daemon', 'server/src/protocol.ts', 'server/src/runs', 'server/src/engines', 'package.json'].map((p) => path.join(root, p));
  if (fs.existsSync(daemonBundle) && fs.statSync(daemonBundle).mtimeMs >= newestMtime(sources)) return;
  await esbuild.build({
    entryPoints: [path.join(root, 'server/src/daemon/main.ts')],
    outfile: daemonBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    keepNames: true,
    logLevel: 'error',
    absWorkingDir: root,
  });
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  for (const p of paths) {
    if (!fs.existsSync(p)) continue;
    const st = fs.statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(fs.readdirSync(p).map((n) => path.join(p, n))) : st.mtimeMs);
  }
  return newest;
}

export interface Sandbox {
  tmp: string;
  env: NodeJS.ProcessEnv;
  paths: DaemonPaths;
  runsDir: string;
  clients: DaemonClient[];
  /** Connects (starting the daemon unless autoStart is false); the client is closed by cleanup(). */
  connect(autoStart?: boolean): Promise<DaemonClient>;
  /** A run directory whose fake engine behaves as `fake` says. */
  makeRun(fake?: FakeBehaviour, name?: string): string;
  cleanup(): Promise<void>;
}

export interface FakeBehaviour {
  mode?: 'finish' | 'finish-linger' | 'fail' | 'crash' | 'crash-partial' | 'hang' | 'ignore-sigterm' | 'kill-self';
  steps?: number;
  stepMs?: number;
  stderrLines?: number;
}

export function sandbox(settings: Record<string, string> = {}): Sandbox {
  // short paths: a Unix socket path has ~107 bytes at most
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgtd-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SGT_DAEMON_DIR: path.join(tmp, 'd'),
    SGT_ENGINE_COMMAND_TFJS: JSON.stringify([process.execPath, fakeEngine]),
    SGT_DAEMON_IDLE_TIMEOUT: '60',
    SGT_DAEMON_CANCEL_GRACE: '2',
    SGT_DAEMON_CONCURRENCY: '1',
    // the tests expect no torch engine, whatever this machine has
    SGT_TORCH: 'off',
    ...settings,
  };
  const paths = daemonPaths(env);
  const runsDir = path.join(tmp, 'runs');
  const clients: DaemonClient[] = [];
  let runs = 0;
  return {
    tmp,
    env,
    paths,
    runsDir,
    clients,
    async connect(autoStart = true) {
      const client = await connectDaemon({ autoStart, env });
      clients.push(client);
      return client;
    },
    makeRun(fake = {}, name = `exp${++runs}`) {
      return createRunDir(runsDir, name, `experiment ${name} {}\n`, { name, extends: [], baseDir: tmp, fake });
    },
    async cleanup() {
      for (const c of clients) c.close();
      await stopDaemon(env);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Stops the sandbox's daemon: a graceful shutdown that cancels its jobs, else SIGKILL. */
export async function stopDaemon(env: NodeJS.ProcessEnv): Promise<void> {
  const paths = daemonPaths(env);
  const pid = readLockPid(paths.lock);
  try {
    const client = await connectDaemon({ env });
    const closed = new Promise<void>((resolve) => client.onClose(resolve));
    await client.shutdown({ cancelJobs: true }).catch(() => undefined);
    await Promise.race([closed, sleep(5000)]);
    client.close();
  } catch {
    // not running (or not answering)
  }
  if (pid !== undefined && (await waitUntil(() => !isDaemonProcess(pid), 5000).then(() => false, () => true))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in the meantime
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true; rejects after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Records a client's notifications. */
export function record(client: DaemonClient): { events: DaemonEventParams[]; jobs: DaemonJob[]; eventTypes(jobId: string): RunEvent['type'][] } {
  const events: DaemonEventParams[] = [];
  const jobs: DaemonJob[] = [];
  client.onEvent((e) => events.push(e));
  client.onJobChanged((j) => jobs.push(j));
  return { events, jobs, eventTypes: (jobId) => events.filter((e) => e.jobId === jobId).map((e) => e.event.type) };
}

export function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

export function assertPrivate(file: string): void {
  assert.equal(fs.statSync(file).mode & 0o077, 0, `${file} is open to others (mode ${mode(file).toString(8)})`);
}
