/**
 * Workspace Trust: an untrusted workspace keeps validation (the language server only
 * reads text and lists files) but never trains, because a run executes an engine on
 * paths and settings that came from the workspace.
 */
import * as vscode from 'vscode';

export const UNTRUSTED_MESSAGE = 'Saliency Studio: training is disabled because this workspace is not trusted. Trust the workspace to run experiments.';

/** True when the workspace is trusted; otherwise tells the user why nothing happens. */
export function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
