/**
 * The `sgt` command line: commander wiring only. Each subcommand's work lives
 * in its own module; this one maps outcomes to exit statuses (see errors.ts)
 * and makes sure bad input never ends in a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { version } from '../../../package.json';
import { checkSources } from './check';
import { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError, describeFsError } from './errors';
import { collectSources } from './inputs';
import { countDiagnostics, formatJson, formatSummary, formatText, styleFor } from './report';

/** Where the CLI writes and what it runs in; the real process, or a test's stand-ins. */
export interface CliIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

interface CheckFlags {
  format: 'text' | 'json';
  workspace?: string;
  quiet?: boolean;
}

/** Runs `sgt` with the arguments after the program name; resolves to the exit status. */
export async function runCli(args: readonly string[], io: CliIO): Promise<number> {
  let status = EXIT_OK;
  const program = new Command('sgt')
    .description('Saliency Studio: check and run saliency-guided training experiments (.sgt files).')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    // commander exits the process itself by default (status 1 for usage errors); we want 2, and no process.exit
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`sgt: ${s}`),
    })
    .showHelpAfterError('(add --help for usage)');

  program
    .command('check')
    .description('Check .sgt files (or every *.sgt file below a directory) for errors and warnings.')
    .argument('<files...>', '.sgt files or directories')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--workspace <dir>', 'folder that data paths must stay inside (default: the current directory when the file is inside it, else the file\'s folder)')
    .option('-q, --quiet', 'report errors only, not warnings')
    .addHelpText(
      'after',
      '\nExit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or unreadable input.\n' +
        'Text output: file:line:column: severity: message [code], then a summary on stderr.',
    )
    .action((files: string[], flags: CheckFlags) => {
      status = check(files, flags, io);
    });

  try {
    await program.parseAsync([...args], { from: 'user' });
    return status;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with status 0; everything else commander rejects is bad usage
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      for (const line of err.message.split('\n')) io.stderr.write(`sgt: ${line}\n`);
      return EXIT_USAGE;
    }
    reportInternalError(err, io);
    return EXIT_USAGE;
  }
}

function check(files: string[], flags: CheckFlags, io: CliIO): number {
  const workspace = flags.workspace === undefined ? undefined : workspaceDir(flags.workspace, io.cwd);
  const sources = collectSources(files, io.cwd);
  const reports = checkSources(sources, { workspace, cwd: io.cwd, quiet: flags.quiet === true });
  const counts = countDiagnostics(reports);
  if (flags.format === 'json') {
    io.stdout.write(formatJson(reports));
  } else {
    const text = formatText(reports, styleFor(io.stdout, io.env));
    if (text) io.stdout.write(text);
    // the summary is for people; stdout stays parseable diagnostics only
    if (!flags.quiet || counts.errors > 0) io.stderr.write(formatSummary(counts, styleFor(io.stderr, io.env)));
  }
  return counts.errors > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

function workspaceDir(dir: string, cwd: string): string {
  const abs = path.resolve(cwd, dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch (err) {
    throw new UsageError(`cannot use workspace '${dir}': ${describeFsError(err)}`);
  }
  if (!stat.isDirectory()) throw new UsageError(`cannot use workspace '${dir}': not a directory`);
  return abs;
}

function reportInternalError(err: unknown, io: CliIO): void {
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`sgt: internal error: ${message.split('\n')[0]}\n`);
  io.stderr.write('sgt: this is a bug in Saliency Studio; please report it with the command and the .sgt file that caused it.\n');
  if (io.env.SGT_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  else io.stderr.write('sgt: set SGT_DEBUG=1 to print the stack trace.\n');
}
