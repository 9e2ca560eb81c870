/**
 * Saliency Studio extension entry point.
 *
 * Deliberately thin (the rust-analyzer / lsp-sample shape): every DSL feature lives in
 * the language server (`dist/server.js`, built from server/src/language-server), so the
 * same code serves VS Code, the `sgt` CLI and tests that never start an editor. This file
 * only starts that server over IPC, forwards file changes it cannot see by itself, and
 * offers a restart command.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

/** Client id: VS Code reads the `saliencyStudio.trace.server` setting from it. */
const CLIENT_ID = 'saliencyStudio';
const CLIENT_NAME = 'Saliency Studio Language Server';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: {
      module: serverModule,
      transport: TransportKind.ipc,
      options: { execArgv: ['--nolazy', '--inspect=6009'] },
    },
  };

  // Experiments reference other .sgt files (`extends`) and data on disk (images,
  // saliency maps, label CSVs, manifests): the server re-validates open documents
  // when any of them change, even if they are not open in the editor.
  const watchers = [
    vscode.workspace.createFileSystemWatcher('**/*.sgt'),
    vscode.workspace.createFileSystemWatcher('**/*.{png,jpg,jpeg,csv,json}'),
  ];
  context.subscriptions.push(...watchers);

  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'sgt' },
      { scheme: 'untitled', language: 'sgt' },
    ],
    synchronize: { fileEvents: watchers },
  };

  client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);

  context.subscriptions.push(
    vscode.commands.registerCommand('saliencyStudio.restartLanguageServer', async () => {
      if (!client) return;
      await client.restart();
    }),
  );

  await client.start();
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop();
}
