/** The extension's settings, read where they are used (so a change applies to the next action without a reload). */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveRunsFolder, withPython, type EngineSetting } from './run-labels';

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

/** Interpreter for the torch engine (`saliencyStudio.python`), or undefined to let the engine search PATH. */
export function pythonSetting(): string | undefined {
  const value = vscode.workspace.getConfiguration(SECTION).get<string>('python', '').trim();
  return value === '' ? undefined : value;
}

/** The environment for processes the extension starts (language server, daemon): SGT_PYTHON from the setting when set. */
export function childEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return withPython(base, pythonSetting());
}

