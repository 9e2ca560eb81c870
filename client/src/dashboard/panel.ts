/**
 * The dashboard panel host (extension side). One panel per set of runs; it answers the
 * webview's `ready` with `init`, then streams each run's events and overlay lists through
 * the throttle. Overlay images go as webview URIs of the PNG files (asWebviewUri).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DASHBOARD_VIEW_TYPE,
  type DashboardOverlay,
  type DashboardRun,
  type DashboardViewState,
  type FromWebview,
  type ToWebview,
} from '../../../server/src/protocol';
import { runInfo, type OverlayIndexEntry } from '../../../server/src/runs/run-dir';
import { compareConsistency } from './consistency';
import { dashboardHtml, makeNonce } from './html';
import { RunTail } from './run-tail';
import { UpdateThrottle } from './throttle';

const panelKey = (runDirs: string[]) => [...runDirs].sort().join('\n');

export class DashboardPanel {
  private static readonly open = new Map<string, DashboardPanel>();

  private readonly tails: RunTail[] = [];
  private readonly throttle: UpdateThrottle;
  private readonly disposables: vscode.Disposable[] = [];
  private viewState: DashboardViewState;

  /** Shows the dashboard of these runs, reusing an open panel of the same runs. */
  static createOrShow(extensionUri: vscode.Uri, runDirs: string[], runsFolders: string[] = []): DashboardPanel {
    const existing = DashboardPanel.open.get(panelKey(runDirs));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, title(runDirs), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: resourceRoots(extensionUri, runDirs, runsFolders),
    });
    return new DashboardPanel(panel, extensionUri, runDirs, undefined, runsFolders);
  }

  /** Rebuilds a panel VS Code restored after a window reload (WebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, state: DashboardViewState | undefined, runsFolders: string[] = []): DashboardPanel {
    return new DashboardPanel(panel, extensionUri, state?.runDirs ?? [], state, runsFolders);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    readonly runDirs: string[],
    state: DashboardViewState | undefined,
    runsFolders: string[],
  ) {
    this.viewState = { overlayIndex: -1, camOpacity: 0.6, ...state, runDirs };
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: resourceRoots(extensionUri, runDirs, runsFolders) };
    panel.title = title(runDirs);
    this.throttle = new UpdateThrottle((msg) => void webview.postMessage(msg));
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      title: title(runDirs),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((msg: FromWebview) => this.onMessage(msg)),
      panel.onDidDispose(() => this.dispose()),
      // a hidden webview drops messages and reloads when shown (its `ready` restarts the tails)
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.stopTails();
      }),
    );
    DashboardPanel.open.set(panelKey(runDirs), this);
  }

  private onMessage(msg: FromWebview): void {
    switch (msg.type) {
      case 'ready':
        this.start();
        break;
      case 'setState':
        this.viewState = { ...msg.state, runDirs: this.runDirs };
        break;
    }
  }

  /** (Re)starts following the runs: `ready` comes again whenever the webview reloads. */
  private start(): void {
    this.stopTails();
    const runs: DashboardRun[] = this.runDirs.map((dir) => {
      const info = runInfo(dir);
      return { runDir: dir, id: info.id, experiment: info.experiment };
    });
    const init: ToWebview = { type: 'init', runs, state: this.viewState };
    void this.panel.webview.postMessage(init);
    this.postConsistency();
    for (const dir of this.runDirs) {
      const tail = new RunTail(dir, {
        onEvents: (events) => {
          this.throttle.pushEvents(dir, events);
          // a run that finishes may complete a group of seeds (its summary and CAM file are written before `finished`)
          if (events.some((e) => e.type === 'finished')) this.postConsistency();
        },
        onOverlays: (entries) => this.throttle.pushOverlays(dir, this.toWebviewOverlays(dir, entries)),
      });
      this.tails.push(tail);
      tail.start();
    }
    // the history goes at once; live updates follow at the throttle's pace
    this.throttle.flush();
  }

  /** Compare view: consistency of the compared runs that differ only in seed (none for one run). */
  private postConsistency(): void {
    if (this.runDirs.length < 2) return;
    const msg: ToWebview = { type: 'consistency', groups: compareConsistency(this.runDirs) };
    void this.panel.webview.postMessage(msg);
  }

  private toWebviewOverlays(runDir: string, entries: OverlayIndexEntry[]): DashboardOverlay[] {
    const webview = this.panel.webview;
    return entries.map((e) => ({
      epoch: e.epoch,
      step: e.step,
      uris: e.files.map((f) => webview.asWebviewUri(vscode.Uri.file(path.join(runDir, f))).toString()),
    }));
  }

  private stopTails(): void {
    for (const t of this.tails) t.dispose();
    this.tails.length = 0;
  }

  dispose(): void {
    DashboardPanel.open.delete(panelKey(this.runDirs));
    this.stopTails();
    this.throttle.dispose();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}

function title(runDirs: string[]): string {
  if (runDirs.length === 1) return `Run ${path.basename(runDirs[0])}`;
  return `Compare ${runDirs.length} runs`;
}

/** The bundle and the folders holding the runs: nothing else is loadable in the webview. */
function resourceRoots(extensionUri: vscode.Uri, runDirs: string[], runsFolders: string[] = []): vscode.Uri[] {
  const folders = new Set([...runDirs.map((d) => path.dirname(d)), ...runsFolders]);
  return [vscode.Uri.joinPath(extensionUri, 'dist'), ...[...folders].map((f) => vscode.Uri.file(f))];
}
