/**
 * The "Get Started" walkthrough's commands (package.json `contributes.walkthroughs`):
 *
 *   saliencyStudio.openExample            copy the bundled Decoy MNIST example into the workspace, open cyborg.sgt
 *   saliencyStudio.runExample             train both experiments of that file (through the daemon, like ▶ Run)
 *   saliencyStudio.openLanguageReference  the bundled docs/dsl.md in the Markdown preview
 *
 * The file logic (where to copy, never overwriting) is in walkthrough-example.ts.
 * Without an open folder nothing is copied until the user has picked a folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { copyExample, EXAMPLE, exampleTarget, findExampleFile } from './walkthrough-example';

/** workspaceState key: the example file the last copy opened, so "Train" finds it again. */
const REMEMBERED = 'saliencyStudio.walkthrough.exampleFile';

export function registerWalkthrough(context: vscode.ExtensionContext): vscode.Disposable[] {
  const show = (e: unknown) => void vscode.window.showErrorMessage(`Saliency Studio: ${e instanceof Error ? e.message : String(e)}`);
  const reg = (id: string, fn: () => PromiseLike<unknown>) =>
    vscode.commands.registerCommand(id, () => Promise.resolve(fn()).catch(show));
  return [
    reg('saliencyStudio.openExample', () => openExample(context)),
    reg('saliencyStudio.runExample', () => runExample(context)),
    reg('saliencyStudio.openLanguageReference', () =>
      vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(context.asAbsolutePath('docs/dsl.md'))),
    ),
  ];
}

/** Copies (or reuses) the example and opens its experiment file; returns that file. */
async function openExample(context: vscode.ExtensionContext): Promise<string | undefined> {
  const base = await chooseBase();
  if (!base) return undefined;
  const source = context.asAbsolutePath(path.join('examples', EXAMPLE.name));
  const target = exampleTarget(base, source);
  if (!target.reuse) copyExample(source, target.dir);
  const file = path.join(target.dir, EXAMPLE.entry);
  await context.workspaceState.update(REMEMBERED, file);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  if (!vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))) {
    // runs go to .sgt/runs of the workspace folder; outside one they still work (next to the file)
    void vscode.window.showInformationMessage(`Saliency Studio: the example is in ${target.dir}.`, 'Open Folder').then((c) => {
      if (c) void vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(target.dir));
    });
  } else if (!target.reuse) {
    void vscode.window.setStatusBarMessage(`Saliency Studio: copied the Decoy MNIST example to ${vscode.workspace.asRelativePath(target.dir)}`, 5000);
  }
  return file;
}

/** The folder to copy into: the workspace folder (asked when there are several), or one the user picks when none is open. */
async function chooseBase(): Promise<string | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri.fsPath;
  if (folders.length > 1) return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Copy the Decoy MNIST example into which folder?' }))?.uri.fsPath;
  const choice = await vscode.window.showInformationMessage(
    'No folder is open. Copy the Decoy MNIST example into a folder you choose?',
    { modal: true, detail: `A "${EXAMPLE.name}" folder with ${EXAMPLE.entry} is created there; nothing is overwritten.` },
    'Choose Folder…',
  );
  if (!choice) return undefined;
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Copy Example Here' });
  return picked?.[0]?.fsPath;
}

/** Trains every experiment of the example file (copying the example first when it is not in the workspace yet). */
async function runExample(context: vscode.ExtensionContext): Promise<void> {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const file = findExampleFile(folders, context.workspaceState.get<string>(REMEMBERED)) ?? (await openExample(context));
  if (!file) return;
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri, { preview: false });
  await vscode.commands.executeCommand('saliencyStudio.runAllInFile', uri);
}
