/**
 * The language server: wires the document store and one module per feature to
 * an LSP connection. Transport-agnostic, so `main.ts` runs it over stdio, IPC
 * or a socket and the tests run it over in-memory streams.
 */
import {
  CodeActionKind,
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type DidChangeWatchedFilesParams,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DataScanner } from '../dsl/files';
import { ResolveExperimentRequest, WorkspaceTrustGrantedNotification, type LanguageServerInitOptions } from '../protocol';
import { codeActions } from './code-actions';
import { COMPLETION_TRIGGERS, completions } from './completion';
import { lspDiagnostics } from './diagnostics';
import { DocumentStore, type AnalyzedDocument } from './documents';
import { foldingRanges } from './folding';
import { formatDocument } from './formatting';
import { hover } from './hover';
import { prewarmDataPreviews, previewContextFor } from './saliency-preview';
import { definition, prepareRename, references, rename } from './navigation';
import { resolveRequest } from './resolve-request';
import { safely } from './safe';
import { SEMANTIC_TOKENS_LEGEND, semanticTokens } from './semantic-tokens';
import { documentSymbols } from './symbols';

export const SERVER_NAME = 'saliency-studio-language-server';

export function startServer(connection: Connection): DocumentStore {
  const documents = new TextDocuments(TextDocument);
  const store = new DocumentStore(documents, new DataScanner());
  let watchFolders = false;
  let configurationPull = false;
  /** Workspace Trust (client's initializationOptions, then the grant notification): untrusted, nothing is written into the workspace. */
  let workspaceTrusted = true;
  let folders: string[] = [];

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    store.setWorkspaceFolders(folders);
    watchFolders = params.capabilities.workspace?.workspaceFolders === true;
    configurationPull = params.capabilities.workspace?.configuration === true;
    workspaceTrusted = (params.initializationOptions as LanguageServerInitOptions | undefined)?.workspaceTrusted !== false;
    const prepareSupport = params.capabilities.textDocument?.rename?.prepareSupport === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: COMPLETION_TRIGGERS },
        hoverProvider: true,
        documentSymbolProvider: true,
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: prepareSupport ? { prepareProvider: true } : true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        semanticTokensProvider: { legend: SEMANTIC_TOKENS_LEGEND, full: true },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: SERVER_NAME },
    };
  });

  connection.onNotification(WorkspaceTrustGrantedNotification, () => {
    workspaceTrusted = true;
  });

  connection.onInitialized(() => {
    if (!watchFolders) return;
    connection.workspace.onDidChangeWorkspaceFolders(
      safely(connection, 'workspace folders', undefined, (e) => {
        const removed = new Set(e.removed.map((f) => f.uri));
        folders = [...folders.filter((f) => !removed.has(f)), ...e.added.map((f) => f.uri)];
        store.setWorkspaceFolders(folders);
        validateAll();
      }),
    );
  });

  // ---- diagnostics -----------------------------------------------------------------------

  const validate = safely(connection, 'diagnostics', undefined, (uri: string) => {
    const doc = store.get(uri);
    if (doc) void connection.sendDiagnostics({ uri, version: doc.version, diagnostics: lspDiagnostics(doc) });
  });
  const validateAll = () => documents.all().forEach((d) => validate(d.uri));
  // the PyTorch probe runs in the background (importing torch takes seconds): its answer can add or drop a warning
  store.onTorchProbed = validateAll;

  documents.onDidChangeContent((e) => validate(e.document.uri));
  // render the data thumbnails of hovers soon after a file opens, so the first hover does not wait for them
  documents.onDidOpen((e) => {
    setTimeout(
      safely(connection, 'preview prewarm', undefined, () => {
        const doc = store.get(e.document.uri);
        if (doc) prewarmDataPreviews(doc.analysis.experiments.values(), previewContextFor(doc.workspaceRoot, doc.filePath, undefined, workspaceTrusted));
      }),
      250,
    ).unref();
  });
  documents.onDidClose((e) => {
    store.forget(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  // data folders, images, label files changed on disk: rescan and re-validate every open document
  connection.onDidChangeWatchedFiles(
    safely(connection, 'watched files', undefined, (params: DidChangeWatchedFilesParams) => {
      // run directories (.sgt/runs/…) fill with overlays and checkpoints during training; they are never experiment data
      if (params.changes.every((c) => /\/\.sgt\//.test(c.uri))) return;
      store.invalidateAll();
      validateAll();
    }),
  );

  // ---- requests on one document ----------------------------------------------------------

  /** Runs a feature on an open document; `fallback` when the document is unknown or the feature throws. */
  const onDoc = <R>(feature: string, fallback: R, run: (doc: AnalyzedDocument) => R) =>
    safely(connection, feature, fallback, (uri: string): R => {
      const doc = store.get(uri);
      return doc ? run(doc) : fallback;
    });
  const offsetOf = (doc: AnalyzedDocument, position: { line: number; character: number }) => doc.lines.offsetAt(position);

  connection.onCompletion((p) => onDoc('completion', [], (doc) => completions(doc, offsetOf(doc, p.position), p.context))(p.textDocument.uri));
  // hovers show the latest run of an experiment: the runs folder is a setting of the editor, asked per hover (one round trip)
  const runsFolderSetting = async (uri: string): Promise<unknown> =>
    configurationPull ? connection.workspace.getConfiguration({ scopeUri: uri, section: 'saliencyStudio.runsFolder' }).catch(() => undefined) : undefined;
  connection.onHover(async (p) => {
    const setting = await runsFolderSetting(p.textDocument.uri);
    return onDoc('hover', null, (doc) => hover(doc, offsetOf(doc, p.position), previewContextFor(doc.workspaceRoot, doc.filePath, setting, workspaceTrusted)))(p.textDocument.uri);
  });
  connection.onDocumentSymbol((p) => onDoc('document symbols', [], documentSymbols)(p.textDocument.uri));
  connection.onFoldingRanges((p) => onDoc('folding ranges', [], foldingRanges)(p.textDocument.uri));
  connection.onDocumentFormatting((p) => onDoc('formatting', [], (doc) => formatDocument(doc, p.options))(p.textDocument.uri));
  connection.onDefinition((p) => onDoc('definition', [], (doc) => definition(doc, offsetOf(doc, p.position)))(p.textDocument.uri));
  connection.onReferences((p) => onDoc('references', [], (doc) => references(doc, offsetOf(doc, p.position), p.context.includeDeclaration))(p.textDocument.uri));
  connection.onPrepareRename((p) => onDoc('prepare rename', null, (doc) => prepareRename(doc, offsetOf(doc, p.position)))(p.textDocument.uri));
  connection.onRenameRequest((p) => onDoc('rename', null, (doc) => rename(doc, offsetOf(doc, p.position), p.newName))(p.textDocument.uri));
  connection.onCodeAction((p) => onDoc('code actions', [], (doc) => codeActions(doc, p))(p.textDocument.uri));
  connection.languages.semanticTokens.on((p) => onDoc('semantic tokens', { data: [] }, semanticTokens)(p.textDocument.uri));

  connection.onRequest(
    ResolveExperimentRequest,
    safely(connection, 'resolve experiment', { resolved: null, errors: 0, warnings: 0 }, (p) => resolveRequest(store, p)),
  );

  documents.listen(connection);
  connection.listen();
  return store;
}
