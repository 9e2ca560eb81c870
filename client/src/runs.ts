/**
 * Starting and resuming runs from the editor: what `sgt train` does (plan the file,
 * create each run directory, hand it to the daemon), through the same functions.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { removeUnstartedRun } from '../../server/src/cli/train';
import { createRun, planRuns, resumableRun, RunSetupError } from '../../server/src/runs/start-run';
import type { DaemonConnection } from './daemon-connection';
import { engineFor } from './run-labels';
import { engineSetting, runsFolderForFile, workspaceRootFor } from './settings';
import { announceEnd, followJob } from './status';
import { requireTrust } from './trust';

export interface Started {
  experiment: string;
  runDir: string;
  jobId: string;
}

/**
 * Trains experiments of a document (all of them when `experiments` is empty) in the
 * daemon, from the document's current text (unsaved edits included, as validated).
 */
export async function trainExperiments(daemon: DaemonConnection, log: vscode.LogOutputChannel, document: vscode.TextDocument, experiments: string[]): Promise<Started[]> {
  if (!requireTrust()) return [];
  if (document.uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('Saliency Studio: save the file first: runs snapshot a .sgt file on disk and resolve data paths next to it.');
    return [];
  }
  const file = document.uri.fsPath;
  let plan: ReturnType<typeof planRuns>;
  try {
    plan = planRuns({ file, text: document.getText(), experiments, workspaceRoot: workspaceRootFor(file) });
  } catch (e) {
    if (e instanceof RunSetupError) {
      void vscode.window.showErrorMessage(`Saliency Studio: ${e.message}`);
      return [];
    }
    throw e;
  }
  if (!plan.ok) {
    const errors = plan.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    void vscode.window
      .showErrorMessage(
        `Saliency Studio: not training: ${path.basename(file)} has ${errors.length === 1 ? 'an error' : `${errors.length} errors`}${first ? ` (line ${first.line}: ${first.message})` : ''}.`,
        'Show Problems',
      )
      .then((c) => {
        if (c) void vscode.commands.executeCommand('workbench.actions.view.problems');
      });
    return [];
  }

  const client = await connect(daemon);
  if (!client) return [];
  const runsDir = runsFolderForFile(file);
  const setting = engineSetting(document.uri);
  const started: Started[] = [];
  for (const run of plan.runs) {
    const runDir = createRun(run, runsDir, plan.text);
    const engine = engineFor(run.engine.engine, setting);
    try {
      const submitted = await client.submit({ runDir, engine });
      log.info(`${run.experiment}: training in the daemon with the ${engine} engine (${engine === run.engine.engine ? run.engine.reason : 'saliencyStudio.engine setting'}); run ${runDir}`);
      started.push({ experiment: run.experiment, runDir, jobId: submitted.jobId });
    } catch (e) {
      removeUnstartedRun(runDir);
      void vscode.window.showErrorMessage(`Saliency Studio: the daemon did not take ${run.experiment}: ${message(e)}`);
    }
  }
  for (const s of started) follow(daemon, s);
  return started;
}

/** Continues an interrupted run from its last checkpoint. */
export async function resumeRun(daemon: DaemonConnection, log: vscode.LogOutputChannel, runDir: string): Promise<void> {
  if (!requireTrust()) return;
  let run: ReturnType<typeof resumableRun>;
  try {
    run = resumableRun(runDir);
  } catch (e) {
    void vscode.window.showErrorMessage(`Saliency Studio: ${message(e)}`);
    return;
  }
  const client = await connect(daemon);
  if (!client) return;
  try {
    const engine = engineFor(run.engine.engine, engineSetting());
    const submitted = await client.submit({ runDir, engine, resume: true });
    log.info(`${run.experiment}: resuming ${runDir} with the ${engine} engine`);
    follow(daemon, { experiment: run.experiment, runDir, jobId: submitted.jobId });
  } catch (e) {
    void vscode.window.showErrorMessage(`Saliency Studio: the daemon did not resume ${run.experiment}: ${message(e)}`);
  }
}

function follow(daemon: DaemonConnection, s: Started): void {
  void followJob(daemon, s.jobId, s.experiment).then((job) => {
    if (job) announceEnd(job);
  });
}

async function connect(daemon: DaemonConnection) {
  try {
    return await daemon.get(true);
  } catch (e) {
    void vscode.window.showErrorMessage(`Saliency Studio: cannot reach the training daemon: ${message(e)}`, 'Show Logs').then((c) => {
      if (c) void vscode.commands.executeCommand('saliencyStudio.showLogs');
    });
    return undefined;
  }
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
