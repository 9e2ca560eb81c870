/**
 * Saliency Studio extension entry point.
 *
 * Deliberately thin (the rust-analyzer / lsp-sample shape): every DSL feature lives in
 * the language server (`dist/server.js`, built from server/src/language-server), so the
 * same code serves VS Code, the `sgt` CLI and tests that never start an editor. This file
 * starts that server over IPC, forwards file changes it cannot see by itself, and wires
 * the training side (daemon connection, commands, CodeLens, Runs view, progress), each
 * in its own module.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { ExperimentLensProvider } from './codelens';
import { registerCommands } from './commands';
import { registerDashboard } from './dashboard';
import { DaemonConnection } from './daemon-connection';
import { RunInfoCache } from './run-info-cache';
import { RunsProvider, watchRunsFolders } from './runs-view';
import { WorkspaceTrustGrantedNotification, type LanguageServerInitOptions } from '../../server/src/protocol';
import { childEnvironment } from './settings';
import { RunStatusBar } from './status';
import { registerWalkthrough } from './walkthrough';

/** Client id: VS Code reads the `saliencyStudio.trace.server` setting from it. */
const CLIENT_ID = 'saliencyStudio';
const CLIENT_NAME = 'Saliency Studio Language Server';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const serverModule = context.asAbsolutePath('dist/server.js');
  // SGT_PYTHON (saliencyStudio.python) reaches the validator's PyTorch probe
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc, options: { env: childEnvironment() } },
    debug: {
      module: serverModule,
      transport: TransportKind.ipc,
      options: { execArgv: ['--nolazy', '--inspect=6009'], env: childEnvironment() },
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
    initializationOptions: { workspaceTrusted: vscode.workspace.isTrusted } satisfies LanguageServerInitOptions,
  };

  client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);

  activateTraining(context);
  registerDashboard(context);
  context.subscriptions.push(...registerWalkthrough(context));

  context.subscriptions.push(
    vscode.commands.registerCommand('saliencyStudio.restartLanguageServer', async () => {
      if (!client) return;
      await client.restart();
    }),
  );

  await client.start();
}

/** The training side: registered before the language server starts, so it works even if that fails. */
function activateTraining(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Saliency Studio', { log: true });
  const daemon = new DaemonConnection(context.asAbsolutePath('dist/daemon.js'), log);
  // separate caches: the view retains only its folders' runs, the lenses read other folders too
  const runs = new RunsProvider(daemon, new RunInfoCache());
  const lenses = new ExperimentLensProvider(daemon, new RunInfoCache());
  const refresh = () => {
    runs.refreshSoon();
    lenses.refreshSoon();
  };
  const view = vscode.window.createTreeView('saliencyStudio.runs', { treeDataProvider: runs, canSelectMany: true, showCollapseAll: false });
  context.subscriptions.push(
    log,
    daemon,
    runs,
    lenses,
    view,
    new RunStatusBar(daemon),
    vscode.languages.registerCodeLensProvider({ language: 'sgt' }, lenses),
    daemon.onDidChangeJobs(() => lenses.refreshSoon()),
    watchRunsFolders(refresh),
    vscode.workspace.onDidGrantWorkspaceTrust(refresh),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void client?.sendNotification(WorkspaceTrustGrantedNotification, {})),
    ...registerCommands({ daemon, log, runs }),
  );
  // follow runs that are already going (another window, `sgt train`) without starting a daemon just for that
  void daemon.tryExisting();
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop();
}
