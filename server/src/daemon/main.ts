/**
 * Entry point of the training daemon (bundled into dist/daemon.js). Normally started
 * by a client (client.ts: detached, stdout/stderr appended to daemon.log); can be run
 * by hand in the foreground too: `node dist/daemon.js [--idle-timeout s] [--concurrency n] [--cancel-grace s]`.
 *
 * Exit status: 0 stopped normally, 2 bad settings or the folder cannot be used,
 * 3 another daemon is running, 70 internal error.
 */
import { version } from '../../../package.json';
import { daemonConfig, type DaemonConfig } from './config';
import { createLogger, errorMessage } from './log';
import { daemonPaths } from './paths';
import { DaemonAlreadyRunningError, DaemonServer } from './server';

const log = createLogger(process.stdout);

// the log is a file; a full disk must not turn a log line into a crash
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

async function main(): Promise<number> {
  let config: DaemonConfig;
  try {
    config = daemonConfig(process.argv.slice(2), process.env);
  } catch (err) {
    log.error(errorMessage(err));
    return 2;
  }
  let daemon: DaemonServer;
  try {
    daemon = await DaemonServer.start({ ...config, paths: daemonPaths(process.env), version, env: process.env, log });
  } catch (err) {
    log.error(`cannot start: ${errorMessage(err)}`);
    return err instanceof DaemonAlreadyRunningError ? 3 : 2;
  }
  const stopOnSignal = (signal: NodeJS.Signals): void => void daemon.stop(`${signal} received`, true);
  process.on('SIGTERM', stopOnSignal);
  process.on('SIGINT', stopOnSignal);
  process.on('SIGHUP', () => undefined); // no terminal to follow
  process.on('uncaughtException', (err) => {
    // a bug in the daemon: stop cleanly (engines get cancelled, runs stay resumable) rather than limp on
    log.error(`internal error: ${err.stack ?? err.message}`);
    process.exitCode = 70;
    void daemon.stop('internal error', true);
  });
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  await daemon.stopped;
  return 0;
}

main().then(
  (status) => {
    process.exitCode ??= status;
    // engines run in their own process groups and do not hold us; nothing else should
    setTimeout(() => process.exit(), 100).unref();
  },
  (err: unknown) => {
    log.error(`internal error: ${errorMessage(err)}`);
    process.exit(70);
  },
);
