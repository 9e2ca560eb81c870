/**
 * Progress of runs started from this window: a status-bar item for the active run
 * (click: its dashboard) and one cancellable progress notification per started run
 * (cancel: the daemon cancels the job).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DaemonJob } from '../../server/src/protocol';
import type { DaemonConnection } from './daemon-connection';
import { progressFraction, progressText } from './run-labels';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('saliencyStudio.activeRun', vscode.StatusBarAlignment.Left, 10);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly daemon: DaemonConnection) {
    this.item.name = 'Saliency Studio: active run';
    this.subscription = daemon.onDidChangeJobs(() => this.update());
    this.update();
  }

  private update(): void {
    const active = this.daemon.jobs().filter((j) => j.status === 'running');
    const queued = this.daemon.jobs().filter((j) => j.status === 'queued').length;
    if (active.length === 0 && queued === 0) {
      this.item.hide();
      return;
    }
    const job = active[0];
    if (job) {
      this.item.text = `$(sync~spin) ${job.experiment}: ${progressText(job)}${queued ? ` (+${queued} queued)` : ''}`;
      this.item.tooltip = `${job.runDir}\nClick to open the dashboard`;
      this.item.command = { title: 'Open Dashboard', command: 'saliencyStudio.openDashboard', arguments: [job.runDir] };
    } else {
      this.item.text = `$(clock) ${queued} run${queued === 1 ? '' : 's'} queued`;
      this.item.tooltip = 'Saliency Studio: runs waiting in the daemon';
      this.item.command = 'saliencyStudio.showRuns';
    }
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

/** Shows a cancellable notification until the job ends; resolves with its final state. */
export function followJob(daemon: DaemonConnection, jobId: string, experiment: string): Thenable<DaemonJob | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Training ${experiment}`, cancellable: true },
    (progress, token) =>
      new Promise<DaemonJob | undefined>((resolve) => {
        let reported = 0;
        const subs: vscode.Disposable[] = [];
        const finish = (job: DaemonJob | undefined) => {
          for (const s of subs) s.dispose();
          resolve(job);
        };
        const onJob = (job: DaemonJob) => {
          const fraction = progressFraction(job);
          const increment = fraction === undefined ? undefined : Math.max(0, fraction * 100 - reported);
          if (increment !== undefined) reported += increment;
          progress.report({ message: progressText(job), increment });
          if (job.status !== 'running' && job.status !== 'queued') finish(job);
        };
        subs.push(
          daemon.onDidChangeJobs((job) => {
            if (job?.id === jobId) onJob(job);
            else if (!job && !daemon.connected) finish(undefined);
          }),
          token.onCancellationRequested(() => {
            progress.report({ message: 'cancelling…' });
            daemon
              .get(false)
              .then((c) => c.cancel(jobId))
              .catch((e: unknown) => void vscode.window.showErrorMessage(`Could not cancel ${experiment}: ${e instanceof Error ? e.message : String(e)}`));
            // the notification closes now; the job's end still shows its own message
            finish(undefined);
          }),
        );
        const current = daemon.jobs().find((j) => j.id === jobId);
        if (current) onJob(current);
      }),
  );
}

/** A message for a job that ended: finished quietly with an action, failures loudly. */
export function announceEnd(job: DaemonJob): void {
  const name = `${job.experiment} (${path.basename(job.runDir)})`;
  if (job.status === 'finished') {
    void vscode.window.showInformationMessage(`Saliency Studio: ${name} finished.`, 'Open Dashboard').then((c) => {
      if (c) void vscode.commands.executeCommand('saliencyStudio.openDashboard', job.runDir);
    });
  } else if (job.status === 'failed') {
    void vscode.window.showErrorMessage(`Saliency Studio: ${name} failed: ${job.error ?? 'no reason given'}`, 'Show Logs').then((c) => {
      if (c) void vscode.commands.executeCommand('saliencyStudio.showLogs');
    });
  } else if (job.status === 'cancelled') {
    void vscode.window.showWarningMessage(`Saliency Studio: ${name} was cancelled.`);
  }
}
