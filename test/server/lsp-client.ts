/**
 * Test harness: runs the language server in-process over a pair of in-memory
 * streams and talks to it with a plain JSON-RPC connection sending real LSP
 * messages, the way an editor does.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  ProposedFeatures,
  createConnection,
  StreamMessageReader as ServerReader,
  StreamMessageWriter as ServerWriter,
  type Connection,
  type Diagnostic,
  type InitializeResult,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';
import { URI } from 'vscode-uri';
import { startServer } from '../../server/src/language-server/server';

export class LspClient {
  readonly logs: string[] = [];
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Map<string, ((p: PublishDiagnosticsParams) => void)[]>();
  readonly latest = new Map<string, Diagnostic[]>();
  initializeResult!: InitializeResult;

  private constructor(
    readonly rpc: MessageConnection,
    private readonly server: Connection,
  ) {
    rpc.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.latest.set(p.uri, p.diagnostics);
      const waiting = this.waiters.get(p.uri) ?? [];
      this.waiters.delete(p.uri);
      for (const w of waiting) w(p);
    });
    rpc.onNotification('window/logMessage', (p: { type: number; message: string }) => this.logs.push(p.message));
  }

  /** Starts a server and completes the `initialize` / `initialized` handshake with `workspace` as the only folder. */
  static async start(workspace: string, initializationOptions?: unknown): Promise<LspClient> {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(ProposedFeatures.all, new ServerReader(toServer), new ServerWriter(toClient));
    startServer(server);
    const rpc = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    const client = new LspClient(rpc, server);
    rpc.listen();
    const root = URI.file(workspace).toString();
    client.initializeResult = await rpc.sendRequest('initialize', {
      processId: null,
      rootUri: root,
      workspaceFolders: [{ uri: root, name: 'ws' }],
      capabilities: { textDocument: { rename: { prepareSupport: true } } },
      initializationOptions,
    });
    await rpc.sendNotification('initialized', {});
    return client;
  }

  /** Resolves with the next diagnostics published for `uri`. */
  nextDiagnostics(uri: string, timeoutMs = 5000): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms`)), timeoutMs);
      const list = this.waiters.get(uri) ?? [];
      list.push((p) => {
        clearTimeout(timer);
        resolve(p.diagnostics);
      });
      this.waiters.set(uri, list);
    });
  }

  /** Sends a notification to the server (a custom one from protocol.ts, say). */
  async notify(method: string, params: unknown): Promise<void> {
    await this.rpc.sendNotification(method, params);
  }

  async open(uri: string, text: string): Promise<Diagnostic[]> {
    const diags = this.nextDiagnostics(uri);
    this.versions.set(uri, 1);
    await this.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'sgt', version: 1, text } });
    return diags;
  }

  /** Replaces the whole text of an open document. */
  async change(uri: string, text: string): Promise<Diagnostic[]> {
    const diags = this.nextDiagnostics(uri);
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return diags;
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.rpc.sendRequest(method, params) as Promise<R>;
  }

  /** Errors the server logged (a handler that threw): tests assert there are none. */
  errors(): string[] {
    return this.logs.filter((l) => /failed/.test(l));
  }

  dispose(): void {
    this.rpc.dispose();
    this.server.dispose();
  }
}

/** `text` with the `|` removed, and the LSP position of the bar. */
export function cursor(marked: string): { text: string; position: { line: number; character: number } } {
  const offset = marked.indexOf('|');
  assert.ok(offset >= 0, 'no cursor marker');
  const before = marked.slice(0, offset);
  const lines = before.split('\n');
  return { text: before + marked.slice(offset + 1), position: { line: lines.length - 1, character: lines[lines.length - 1].length } };
}

/** A fresh temporary workspace folder; `files` maps relative paths to contents (a trailing `/` makes a folder). */
export function makeWorkspace(files: Record<string, string> = {}): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-lsp-')));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    if (rel.endsWith('/')) fs.mkdirSync(abs, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
    }
  }
}

export function fileUri(...parts: string[]): string {
  return URI.file(path.join(...parts)).toString();
}
