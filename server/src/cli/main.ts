/**
 * Entry point of the `sgt` CLI (bundled into dist/cli.js, launched by
 * server/bin/sgt.js). Only process plumbing here; the program is in program.ts.
 */
import { runCli } from './program';

// `sgt check … | head` closes stdout early: stop quietly instead of crashing on EPIPE
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`sgt: cannot write the output: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 2);
});

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (status) => {
    // exitCode, not exit(): exit() can cut off output still queued for a pipe
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`sgt: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
