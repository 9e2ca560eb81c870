/**
 * The Runs view: run directories of the workspace's runs folders, newest first, with
 * their status (the daemon's live job state beating what the files say) and progress.
 * Refreshes on daemon notifications and on changes under the runs folders.
 */
import * as vscode from 'vscode';
import { listRunDirs, type RunInfo } from '../../server/src/runs/run-dir';
import type { DaemonConnection } from './daemon-connection';
import { RunInfoCache } from './run-info-cache';
import { effectiveStatus, runItemText, statusIcon } from './run-labels';
import { allRunsFolders } from './settings';

export class RunNode {
  constructor(readonly info: RunInfo) {}
  get runDir(): string {
    return this.info.dir;
  }
}

/** Context values the package.json menus key on. */
export const RUN_CONTEXT = { active: 'sgtRun.active', ended: 'sgtRun.ended' } as const;

export class RunsProvider implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly daemon: DaemonConnection,
    private readonly infos: RunInfoCache,
  ) {
    this.disposables.push(daemon.onDidChangeJobs(() => this.refreshSoon()));
  }

  /** Coalesces bursts (a step event per batch, a file watcher per written file) into one refresh. */
  refreshSoon(delayMs = 300): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire(undefined);
    }, delayMs);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(element?: RunNode): RunNode[] {
    if (element) return [];
    const dirs = allRunsFolders().flatMap((f) => listRunDirs(f));
    this.infos.retain(dirs);
    return dirs.map((d) => new RunNode(this.infos.get(d, (dir) => this.daemon.isActive(dir))));
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    const job = this.daemon.jobFor(node.runDir);
    const text = runItemText(node.info, job);
    const item = new vscode.TreeItem(text.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.runDir;
    item.description = text.description;
    item.tooltip = text.tooltip;
    const status = effectiveStatus(node.info, job);
    item.iconPath = new vscode.ThemeIcon(statusIcon(status));
    item.contextValue = status === 'running' || status === 'queued' ? RUN_CONTEXT.active : RUN_CONTEXT.ended;
    item.resourceUri = vscode.Uri.file(node.runDir);
    item.command = { title: 'Open Dashboard', command: 'saliencyStudio.openDashboard', arguments: [node.runDir] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** Watches every runs folder (re-created when the folders or the setting change). */
export function watchRunsFolders(onChange: () => void): vscode.Disposable {
  let watchers: vscode.FileSystemWatcher[] = [];
  const setUp = () => {
    for (const w of watchers) w.dispose();
    watchers = allRunsFolders().map((folder) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), '**/{events.jsonl,summary.json,resolved.json}'));
      w.onDidChange(onChange);
      w.onDidCreate(onChange);
      w.onDidDelete(onChange);
      return w;
    });
  };
  setUp();
  const subs = [
    vscode.workspace.onDidChangeWorkspaceFolders(() => (setUp(), onChange())),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('saliencyStudio.runsFolder')) {
        setUp();
        onChange();
      }
    }),
  ];
  return {
    dispose: () => {
      for (const w of watchers) w.dispose();
      for (const s of subs) s.dispose();
    },
  };
}
