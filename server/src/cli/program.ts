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
import { registerDaemonCommand } from './daemon-command';
import { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, UsageError, describeFsError } from './errors';
import { collectSources } from './inputs';
import { countDiagnostics, formatJson, formatSummary, formatSweeps, formatText, styleFor } from './report';
import { DEFAULT_REPORT_FILE, reportCommand, type ReportFlags } from './report-command';
import { runsCommand, type RunsFlags } from './runs';
import { trainCommand, type TrainFlags } from './train';

/** Where the CLI writes and what it runs in; the real process, or a test's stand-ins. */
export interface CliIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Interrupts (Ctrl-C …) that `sgt train` turns into stopping its runs; the process's signals when absent. */
  signals?: SignalSource;
}

/** Something that reports interrupts: `on` registers a handler and returns its removal. */
export interface SignalSource {
  on(handler: (signal: string) => void): () => void;
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

  program
    .command('train')
    .description('Train the experiments of a .sgt file (all, in file order, or those named with --experiment), one run directory each.')
    .argument('[file]', '.sgt file (leave out with --resume)')
    .option('-e, --experiment <name>', 'experiment to train (repeatable; default: every experiment of the file, in order)', collect)
    .option('--epochs <n>', 'override train.epochs')
    .option('--runs-dir <dir>', 'where run directories go', defaultRunsDirHelp)
    .option('--foreground', 'run the engine in this process instead of the training daemon (no daemon needed; the run ends with this command)')
    .option('--detach', 'hand the runs to the daemon and return at once (`sgt runs` follows them)')
    .option('--resume <run>', 'continue an interrupted run (a run directory or run id) from its last checkpoint')
    .option('--report <file>', 'after training, write an HTML report comparing the runs of this command')
    .option('-v, --verbose', 'also show the engine\'s own output (foreground)')
    .option('--python <path>', 'Python interpreter for the torch engine (default: $SGT_PYTHON, then python3, then /usr/bin/python3: the first that imports torch)')
    .addHelpText(
      'after',
      '\nEngines: train.engine = auto means torch when PyTorch sees a CUDA GPU (or the experiment needs torch), else tfjs.\n' +
        'Progress goes to stderr (a live bar on a terminal, a line every 10 s otherwise: SGT_PROGRESS_INTERVAL=<seconds>);\n' +
        'each run\'s final metrics and directory go to stdout.\n' +
        'Testing hook: SGT_ENGINE_COMMAND_TFJS / SGT_ENGINE_COMMAND_TORCH = a JSON array (command and leading\n' +
        'arguments) that replaces the engine\'s command line; `--run-dir DIR [--resume]` is appended.\n' +
        '\nCtrl-C: through the daemon, cancels the runs of this command; in the foreground, stops the engine\n' +
        '(SIGTERM) and waits for it, and a second Ctrl-C kills it.\n' +
        '\nExit status: 0 every run finished, 1 a run failed, 2 bad usage or errors in the file, 130 interrupted.',
    )
    .action(async (file: string | undefined, flags: TrainFlags) => {
      status = await trainCommand(file, flags, io);
    });

  program
    .command('runs')
    .description('List the runs of the workspace, newest first: status, epochs, accuracy, saliency agreement.')
    .option('--runs-dir <dir>', 'runs folder', defaultRunsDirHelp)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (flags: RunsFlags) => {
      status = await runsCommand(flags, io);
    });

  program
    .command('report')
    .description('Write one self-contained HTML report comparing runs: curves, final numbers, CAM overlays.')
    .argument('[runs...]', 'run directories, or run ids (or unique id prefixes) in the runs folder')
    .option('--latest <n>', 'also the n newest runs')
    .option('-o, --out <file>', `the HTML file to write ('-': stdout)`, DEFAULT_REPORT_FILE)
    .option('--runs-dir <dir>', 'runs folder for run ids and --latest', defaultRunsDirHelp)
    .action((runs: string[], flags: ReportFlags) => {
      status = reportCommand(runs, flags, io);
    });

  registerDaemonCommand(program, io, (s) => (status = s));

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

const defaultRunsDirHelp = '.sgt/runs';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
    // the summary and the runs of sweeps are for people; stdout stays parseable diagnostics only
    if (!flags.quiet) io.stderr.write(formatSweeps(reports, styleFor(io.stderr, io.env)));
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
