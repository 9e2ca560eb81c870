/** The palette commands and the Runs view's context actions. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { version } from '../../package.json';
import { writeReport } from '../../server/src/report/report';
import { listRunDirs, runInfo } from '../../server/src/runs/run-dir';
import type { DaemonConnection } from './daemon-connection';
import { experimentAt, experimentRanges, progressText, reportFileName, runItemText } from './run-labels';
import { message, resumeRun, trainExperiments } from './runs';
import type { RunNode, RunsProvider } from './runs-view';
import { allRunsFolders } from './settings';
import { requireTrust } from './trust';

export interface CommandDeps {
  daemon: DaemonConnection;
  log: vscode.LogOutputChannel;
  runs: RunsProvider;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { daemon, log, runs } = deps;
  const reg = (id: string, fn: (...args: never[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        await fn(...args);
      } catch (e) {
        log.error(`${id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        void vscode.window.showErrorMessage(`Saliency Studio: ${message(e)}`);
      }
    });
  return [
    reg('saliencyStudio.runExperiment', (uri?: vscode.Uri, name?: string) => runExperiment(deps, uri, name)),
    reg('saliencyStudio.runAllInFile', async (uri?: vscode.Uri) => {
      const document = await sgtDocument(uri);
      if (document) await trainExperiments(daemon, log, document, []);
    }),
    reg('saliencyStudio.stopRun', (node?: RunNode) => stopRun(daemon, node)),
    reg('saliencyStudio.openReport', (node?: RunNode, selected?: RunNode[]) => openReport(node, selected)),
    reg('saliencyStudio.showLogs', () => log.show()),
    reg('saliencyStudio.restartDaemon', () => restartDaemon(daemon)),
    reg('saliencyStudio.showRuns', () => vscode.commands.executeCommand('saliencyStudio.runs.focus')),
    reg('saliencyStudio.runs.refresh', () => runs.refresh()),
    reg('saliencyStudio.runs.openDashboard', (node?: RunNode) => vscode.commands.executeCommand('saliencyStudio.openDashboard', node?.runDir)),
    reg('saliencyStudio.runs.compare', (node?: RunNode, selected?: RunNode[]) => {
      const dirs = (selected?.length ? selected : node ? [node] : []).map((n) => n.runDir);
      return vscode.commands.executeCommand('saliencyStudio.compareRuns', dirs);
    }),
    reg('saliencyStudio.runs.resume', (node?: RunNode) => node && resumeRun(daemon, log, node.runDir)),
    reg('saliencyStudio.runs.delete', (node?: RunNode, selected?: RunNode[]) => deleteRuns(daemon, runs, selected?.length ? selected : node ? [node] : [])),
  ];
}

async function runExperiment(deps: CommandDeps, uri: vscode.Uri | undefined, name: string | undefined): Promise<void> {
  const document = await sgtDocument(uri);
  if (!document) return;
  if (!requireTrust()) return;
  let experiment = name;
  const editor = vscode.window.activeTextEditor;
  if (!experiment && editor?.document === document) experiment = experimentAt(document.getText(), document.offsetAt(editor.selection.active));
  if (!experiment) {
    const names = experimentRanges(document.getText()).map((r) => r.name);
    if (names.length === 0) {
      void vscode.window.showErrorMessage(`Saliency Studio: ${path.basename(document.uri.fsPath)} has no experiments.`);
      return;
    }
    experiment = names.length === 1 ? names[0] : await vscode.window.showQuickPick(names, { title: 'Run Experiment', placeHolder: 'Which experiment?' });
    if (!experiment) return;
  }
  await trainExperiments(deps.daemon, deps.log, document, [experiment]);
}

/** The `.sgt` document a command is about: the one it was given, else the active editor's. */
async function sgtDocument(uri: vscode.Uri | undefined): Promise<vscode.TextDocument | undefined> {
  if (uri instanceof vscode.Uri) return vscode.workspace.openTextDocument(uri);
  const document = vscode.window.activeTextEditor?.document;
  if (document?.languageId === 'sgt') return document;
  void vscode.window.showErrorMessage('Saliency Studio: open a .sgt file to run its experiments.');
  return undefined;
}

async function stopRun(daemon: DaemonConnection, node: RunNode | undefined): Promise<void> {
  const client = await daemon.get(false).catch(() => undefined);
  if (!client) {
    void vscode.window.showInformationMessage('Saliency Studio: the training daemon is not running, so no run is.');
    return;
  }
  const active = (await client.list()).filter((j) => j.status === 'running' || j.status === 'queued');
  let job = node ? active.find((j) => j.runDir === node.runDir) : undefined;
  if (!job) {
    if (active.length === 0) {
      void vscode.window.showInformationMessage('Saliency Studio: no run is running or queued.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      active.map((j) => ({ label: j.experiment, description: progressText(j), detail: j.runDir, job: j })),
      { title: 'Stop Run', placeHolder: 'Which run to cancel?' },
    );
    job = picked?.job;
  }
  if (!job) return;
  const result = await client.cancel(job.id);
  if (result.cancelling) void vscode.window.setStatusBarMessage(`Saliency Studio: cancelling ${job.experiment}…`, 5000);
}

async function openReport(node: RunNode | undefined, selected: RunNode[] | undefined): Promise<void> {
  let dirs = (selected?.length ? selected : node ? [node] : []).map((n) => n.runDir);
  if (dirs.length === 0) {
    const all = allRunsFolders().flatMap((f) => listRunDirs(f));
    if (all.length === 0) {
      void vscode.window.showInformationMessage('Saliency Studio: there are no runs yet.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      all.map((d) => {
        const t = runItemText(runInfo(d));
        return { label: t.label, description: t.description, detail: path.basename(d), dir: d };
      }),
      { title: 'Open Report', placeHolder: 'Runs to put in the report', canPickMany: true },
    );
    if (!picked?.length) return;
    dirs = picked.map((p) => p.dir);
  }
  // one run: its report lives in its folder; several: next to them, in the runs folder
  const out = dirs.length === 1 ? path.join(dirs[0], reportFileName(1)) : path.join(path.dirname(dirs[0]), reportFileName(dirs.length, new Date()));
  const html = writeReport(dirs, out, { generator: `Saliency Studio ${version}` });
  showReport(html, out, dirs.length);
}

/**
 * The report is self-contained HTML (inline SVG charts, data-URI images, no scripts),
 * so a webview shows it as is, with scripts off. A webview works in remote windows and
 * code-server too, where `openExternal` of a file URI would name a file on another
 * machine; the file on disk stays the artefact to share, and "Open in Browser" is offered.
 */
function showReport(html: string, file: string, runs: number): void {
  const panel = vscode.window.createWebviewPanel('saliencyStudio.report', `Report: ${runs === 1 ? path.basename(path.dirname(file)) : `${runs} runs`}`, vscode.ViewColumn.Active, {
    enableScripts: false,
    localResourceRoots: [],
  });
  panel.webview.html = html;
  void vscode.window.showInformationMessage(`Saliency Studio: report written to ${file}`, 'Open in Browser', 'Reveal File').then((c) => {
    if (c === 'Open in Browser') void vscode.env.openExternal(vscode.Uri.file(file));
    else if (c === 'Reveal File') void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(file));
  });
}

async function restartDaemon(daemon: DaemonConnection): Promise<void> {
  if (!requireTrust()) return;
  // know the running daemon's jobs before deciding whether the restart cancels any
  await daemon.tryExisting();
  let cancelJobs = false;
  const active = daemon.jobs().filter((j) => j.status === 'running' || j.status === 'queued');
  if (active.length > 0) {
    const choice = await vscode.window.showWarningMessage(
      `Restarting the training daemon cancels ${active.length} run${active.length === 1 ? '' : 's'} (${active.map((j) => j.experiment).join(', ')}).`,
      { modal: true },
      'Cancel Runs and Restart',
    );
    if (!choice) return;
    cancelJobs = true;
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Restarting the training daemon…' }, () => daemon.restart(cancelJobs));
  void vscode.window.setStatusBarMessage('Saliency Studio: training daemon restarted', 5000);
}

async function deleteRuns(daemon: DaemonConnection, runs: RunsProvider, nodes: RunNode[]): Promise<void> {
  if (nodes.length === 0) return;
  const busy = nodes.filter((n) => daemon.isActive(n.runDir) || n.info.status === 'running');
  if (busy.length > 0) {
    void vscode.window.showErrorMessage(`Saliency Studio: stop ${busy.map((n) => n.info.id).join(', ')} before deleting ${busy.length === 1 ? 'it' : 'them'}.`);
    return;
  }
  const what = nodes.length === 1 ? `run ${nodes[0].info.id}` : `${nodes.length} runs`;
  const choice = await vscode.window.showWarningMessage(`Delete ${what}? Its folder (events, checkpoints, overlays) is removed from disk.`, { modal: true }, 'Delete');
  if (choice !== 'Delete') return;
  for (const n of nodes) await fs.promises.rm(n.runDir, { recursive: true, force: true });
  runs.refresh();
}
