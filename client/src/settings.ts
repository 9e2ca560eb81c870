/** The extension's settings, read where they are used (so a change applies to the next action without a reload). */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveRunsFolder, type EngineSetting } from './run-labels';

const SECTION = 'saliencyStudio';

/** Absolute runs folder of a workspace folder (`saliencyStudio.runsFolder`, default `.sgt/runs`). */
export function runsFolderFor(folder: vscode.WorkspaceFolder): string {
  const setting = vscode.workspace.getConfiguration(SECTION, folder.uri).get<string>('runsFolder');
  return resolveRunsFolder(folder.uri.fsPath, setting);
}

/** The workspace folder holding a file, else (a file outside every folder) its own directory as a stand-in. */
export function workspaceRootFor(file: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  return folder ? folder.uri.fsPath : path.dirname(file);
}

/** Runs folder for a file: its workspace folder's, else `.sgt/runs` next to it. */
export function runsFolderForFile(file: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  if (folder) return runsFolderFor(folder);
  const setting = vscode.workspace.getConfiguration(SECTION).get<string>('runsFolder');
  return resolveRunsFolder(path.dirname(file), setting);
}

/** Every runs folder of the open workspace folders. */
export function allRunsFolders(): string[] {
  return [...new Set((vscode.workspace.workspaceFolders ?? []).map(runsFolderFor))];
}

export function engineSetting(scope?: vscode.Uri): EngineSetting {
  return vscode.workspace.getConfiguration(SECTION, scope).get<EngineSetting>('engine', 'auto');
}

export function idleTimeoutMinutes(): number | undefined {
  return vscode.workspace.getConfiguration(SECTION).get<number>('daemon.idleTimeoutMinutes');
}
