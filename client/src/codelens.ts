/**
 * CodeLens above each experiment: `▶ Run · Dashboard`, then the last result of its
 * newest run (`val acc 0.97 · agreement 0.71`) or its live progress. A sweep reads
 * `▶ Run sweep (6 runs) · Dashboard` (the dashboard compares the newest run of each of
 * its runs) and how many of them finished. In an untrusted workspace a single lens says
 * why training is off.
 */
import * as vscode from 'vscode';
import { listRunDirs, type RunInfo } from '../../server/src/runs/run-dir';
import type { DaemonConnection } from './daemon-connection';
import { RunInfoCache } from './run-info-cache';
import { effectiveStatus, experimentRanges, lastRunLensText, newestRunDirs, runLensTitle, sweepLensText, sweepRuns } from './run-labels';
import { runsFolderForFile } from './settings';

export class ExperimentLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly daemon: DaemonConnection,
    private readonly infos: RunInfoCache,
  ) {}

  refreshSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire();
    }, 500);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const ranges = experimentRanges(document.getText());
    if (ranges.length === 0) return [];
    const lenses: vscode.CodeLens[] = [];
    if (!vscode.workspace.isTrusted) {
      for (const r of ranges) {
        const range = new vscode.Range(document.positionAt(r.start), document.positionAt(r.start));
        lenses.push(new vscode.CodeLens(range, { title: 'Training disabled: workspace not trusted', command: 'workbench.trust.manage' }));
      }
      return lenses;
    }
    const sweeps = sweepRuns(document.getText());
    const wanted = new Set(ranges.flatMap((r) => sweeps.get(r.name) ?? [r.name]));
    const latest = document.uri.scheme === 'file' ? latestRuns(runsFolderForFile(document.uri.fsPath), wanted, this.daemon, this.infos) : new Map<string, RunInfo>();
    for (const r of ranges) {
      const range = new vscode.Range(document.positionAt(r.start), document.positionAt(r.start));
      const runs = sweeps.get(r.name);
      if (runs) {
        lenses.push(...this.sweepLenses(document, range, r.name, runs, latest));
        continue;
      }
      const last = latest.get(r.name);
      lenses.push(new vscode.CodeLens(range, { title: runLensTitle(undefined), tooltip: `Train ${r.name} in the daemon`, command: 'saliencyStudio.runExperiment', arguments: [document.uri, r.name] }));
      lenses.push(new vscode.CodeLens(range, { title: 'Dashboard', tooltip: last ? `Dashboard of ${last.id}` : 'Open the dashboard', command: 'saliencyStudio.openDashboard', arguments: last ? [last.dir] : [] }));
      const text = lastRunLensText(last, last ? this.daemon.jobFor(last.dir) : undefined);
      if (text && last) lenses.push(new vscode.CodeLens(range, { title: text, tooltip: last.id, command: 'saliencyStudio.openDashboard', arguments: [last.dir] }));
    }
    return lenses;
  }

  /** `▶ Run sweep (N runs)`, `Dashboard` comparing the newest run of each of its runs, and how many finished. */
  private sweepLenses(document: vscode.TextDocument, range: vscode.Range, name: string, runs: readonly string[], latest: ReadonlyMap<string, RunInfo>): vscode.CodeLens[] {
    const lenses = [
      new vscode.CodeLens(range, {
        title: runLensTitle(runs),
        tooltip: runs.length ? `Train the ${runs.length} runs of ${name} in the daemon, one after another` : `${name} has errors: fix them to run it`,
        command: 'saliencyStudio.runExperiment',
        arguments: [document.uri, name],
      }),
    ];
    const last = runs.map((n) => latest.get(n)).filter((i): i is RunInfo => i !== undefined);
    const dirs = last.map((i) => i.dir);
    lenses.push(new vscode.CodeLens(range, { title: 'Dashboard', tooltip: dirs.length ? `Compare the newest runs of ${name}` : 'Open the dashboard', command: dirs.length > 1 ? 'saliencyStudio.compareRuns' : 'saliencyStudio.openDashboard', arguments: dirs.length > 1 ? [dirs] : dirs }));
    const text = sweepLensText(runs.length, last.map((i) => effectiveStatus(i, this.daemon.jobFor(i.dir))));
    if (text) lenses.push(new vscode.CodeLens(range, { title: text, tooltip: last.map((i) => i.id).join('\n'), command: dirs.length > 1 ? 'saliencyStudio.compareRuns' : 'saliencyStudio.openDashboard', arguments: dirs.length > 1 ? [dirs] : dirs }));
    return lenses;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

/** The newest run of each experiment; only those runs' events are read (a runs folder grows long). */
function latestRuns(runsDir: string, names: ReadonlySet<string>, daemon: DaemonConnection, infos: RunInfoCache): Map<string, RunInfo> {
  const out = new Map<string, RunInfo>();
  for (const [name, dir] of newestRunDirs(listRunDirs(runsDir), names)) out.set(name, infos.get(dir, (d) => daemon.isActive(d)));
  return out;
}
