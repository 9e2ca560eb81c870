/**
 * `sgt daemon status|start|stop`: look at, start and stop the training daemon
 * (server/src/daemon/). `status` never starts it; `start` does nothing when one runs.
 *
 * Exit statuses: status 0 running, 1 not running; stop 0 stopped (or was not
 * running), 1 refused because jobs are queued or running (use --force); 2 the
 * daemon could not be reached or started.
 */
import type { Command } from 'commander';
import { ResponseError } from 'vscode-jsonrpc';
import { connectDaemon, DaemonNotRunningError, type DaemonClient } from '../daemon/client';
import { DAEMON_ERRORS, type DaemonJob, type DaemonStatus } from '../protocol';
import { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE } from './errors';
import type { CliIO } from './program';

/** How long `stop` waits for the daemon to be gone (cancelled engines get a grace period first). */
const STOP_WAIT_MS = 60_000;

export function registerDaemonCommand(program: Command, io: CliIO, setStatus: (status: number) => void): void {
  const daemon = program
    .command('daemon')
    .description('Look at, start or stop the training daemon that runs `sgt train` jobs in the background.')
    .helpCommand(false);

  daemon
    .command('status')
    .description('Say whether the daemon runs, with its jobs and engines. Exit status 0 running, 1 not running.')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { json?: boolean }) => setStatus(await status(io, flags.json === true)));

  daemon
    .command('start')
    .description('Start the daemon if it is not running.')
    .action(async () => setStatus(await start(io)));

  daemon
    .command('stop')
    .description('Stop the daemon. Refuses (exit status 1) while jobs are queued or running, unless --force.')
    .option('--force', 'cancel queued and running jobs (runs stay resumable with `--resume`)')
    .action(async (flags: { force?: boolean }) => setStatus(await stop(io, flags.force === true)));
}

async function connect(io: CliIO): Promise<DaemonClient | undefined> {
  try {
    return await connectDaemon({ env: io.env });
  } catch (err) {
    if (err instanceof DaemonNotRunningError) return undefined;
    throw err;
  }
}

async function status(io: CliIO, json: boolean): Promise<number> {
  return guarded(io, async () => {
    const client = await connect(io);
    if (!client) {
      if (json) io.stdout.write(JSON.stringify({ running: false }, null, 2) + '\n');
      else io.stdout.write('daemon: not running\n');
      return EXIT_PROBLEMS;
    }
    try {
      const [s, jobs] = await Promise.all([client.status(), client.list()]);
      if (json) io.stdout.write(JSON.stringify({ running: true, status: s, jobs }, null, 2) + '\n');
      else io.stdout.write(formatStatus(s, jobs));
      return EXIT_OK;
    } finally {
      client.close();
    }
  });
}

async function start(io: CliIO): Promise<number> {
  return guarded(io, async () => {
    const client = await connectDaemon({ autoStart: true, env: io.env });
    try {
      const s = await client.status();
      io.stdout.write(`daemon: ${client.startedDaemon ? 'started' : 'already running'} (pid ${s.pid}, socket ${s.socket})\n`);
      return EXIT_OK;
    } finally {
      client.close();
    }
  });
}

async function stop(io: CliIO, force: boolean): Promise<number> {
  return guarded(io, async () => {
    const client = await connect(io);
    if (!client) {
      io.stdout.write('daemon: not running\n');
      return EXIT_OK;
    }
    try {
      const gone = new Promise<void>((resolve) => client.onClose(resolve));
      const { pid } = await client.status();
      let cancelled: number;
      try {
        ({ cancelled } = await client.shutdown({ cancelJobs: force }));
      } catch (err) {
        if (err instanceof ResponseError && err.code === DAEMON_ERRORS.busy) {
          const { jobs } = await client.status();
          io.stderr.write(`sgt: not stopping the daemon: ${jobs.running} job(s) running, ${jobs.queued} queued; \`sgt daemon stop --force\` cancels them\n`);
          return EXIT_PROBLEMS;
        }
        throw err;
      }
      if (cancelled > 0) io.stdout.write(`daemon: cancelling ${cancelled} job${cancelled === 1 ? '' : 's'}\n`);
      const stopped = await Promise.race([gone.then(() => true), delay(STOP_WAIT_MS).then(() => false)]);
      if (!stopped) {
        io.stderr.write(`sgt: the daemon (pid ${pid}) was asked to stop but is still running after ${STOP_WAIT_MS / 1000} s\n`);
        return EXIT_USAGE;
      }
      io.stdout.write(`daemon: stopped (pid ${pid})\n`);
      return EXIT_OK;
    } finally {
      client.close();
    }
  });
}

/** Errors reaching or starting the daemon are one `sgt:` line and exit status 2, never a stack. */
async function guarded(io: CliIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    io.stderr.write(`sgt: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function formatStatus(s: DaemonStatus, jobs: DaemonJob[]): string {
  const counts = Object.entries(s.jobs)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const lines = [
    `daemon: running (pid ${s.pid}, version ${s.version}, up ${formatDuration(s.uptimeSeconds)})`,
    `socket: ${s.socket}`,
    `clients: ${s.clients}; runs ${s.concurrency} job${s.concurrency === 1 ? '' : 's'} at a time; ${s.idleTimeoutSeconds > 0 ? `exits after ${formatDuration(s.idleTimeoutSeconds)} idle` : 'never exits when idle'}`,
    `jobs: ${counts}`,
  ];
  for (const j of jobs.filter((x) => x.status === 'running' || x.status === 'queued')) {
    const p = j.progress && j.progress.totalSteps > 0 ? ` step ${j.progress.step}/${j.progress.totalSteps} (epoch ${j.progress.epoch}/${j.progress.epochs})` : '';
    lines.push(`  ${j.status.padEnd(8)} ${j.experiment}${p}  ${j.runDir}`);
  }
  for (const e of s.engines) lines.push(`engine ${e.name}: ${e.available ? `available (${e.detail})` : `not available: ${e.detail}`}`);
  return lines.join('\n') + '\n';
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
