/**
 * Registers the dashboard: the `saliencyStudio.openDashboard` and `saliencyStudio.compareRuns`
 * commands and the serializer that restores open dashboards after a window reload.
 * extension.ts calls `registerDashboard(context)` once on activation.
 */
import * as vscode from 'vscode';
import { DASHBOARD_VIEW_TYPE, type DashboardViewState } from '../../../server/src/protocol';
import { listRunDirs, runInfo } from '../../../server/src/runs/run-dir';
import { allRunsFolders } from '../settings';
import { DashboardPanel } from './panel';

/** Accepts a path, a Uri, or a list of either (command arguments from CodeLens, tree views, the CLI). */
function runDirsFromArg(arg: unknown, more?: unknown): string[] {
  const one = (a: unknown): string | undefined => (typeof a === 'string' ? a : a instanceof vscode.Uri ? a.fsPath : undefined);
  // explorer multi-select passes (clicked, allSelected)
  const list = Array.isArray(more) ? more : Array.isArray(arg) ? arg : [arg];
  return list.map(one).filter((d): d is string => !!d);
}

async function pickRuns(canPickMany: boolean): Promise<string[]> {
  // every workspace folder's runs folder (`saliencyStudio.runsFolder`, default `.sgt/runs`)
  const folders = allRunsFolders();
  const dirs = folders.flatMap((f) => listRunDirs(f));
  if (!dirs.length) {
    void vscode.window.showInformationMessage(folders.length ? `No runs found in ${folders.join(', ')}.` : 'Open a workspace folder to find its runs.');
    return [];
  }
  const items = dirs.map((dir) => {
    const info = runInfo(dir);
    const acc = info.metrics.val?.accuracy ?? info.metrics.test?.accuracy;
    return {
      label: info.id,
      description: `${info.experiment} · ${info.status}`,
      detail: acc === undefined ? undefined : `accuracy ${acc.toFixed(4)}`,
      dir,
    };
  });
  if (canPickMany) {
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Compare runs', placeHolder: 'Select two or more runs' });
    return picked?.map((p) => p.dir) ?? [];
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Open run dashboard', placeHolder: 'Select a run' });
  return picked ? [picked.dir] : [];
}

export function registerDashboard(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('saliencyStudio.openDashboard', async (arg?: unknown) => {
      const dirs = runDirsFromArg(arg);
      const runDirs = dirs.length ? dirs.slice(0, 1) : await pickRuns(false);
      if (runDirs.length) DashboardPanel.createOrShow(context.extensionUri, runDirs, allRunsFolders());
    }),
    vscode.commands.registerCommand('saliencyStudio.compareRuns', async (arg?: unknown, more?: unknown) => {
      const dirs = runDirsFromArg(arg, more);
      const runDirs = dirs.length >= 2 ? dirs : await pickRuns(true);
      if (runDirs.length === 1) void vscode.window.showInformationMessage('Showing one run: select two or more to compare them.');
      if (runDirs.length) DashboardPanel.createOrShow(context.extensionUri, runDirs, allRunsFolders());
    }),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        DashboardPanel.revive(panel, context.extensionUri, state as DashboardViewState | undefined, allRunsFolders());
      },
    }),
  );
}
