/**
 * The open documents and their analyses.
 *
 * `analyze()` runs at most once per document version: diagnostics, hover,
 * completion and every other feature of one keystroke share the result. The
 * cache is dropped when data on disk changes (see `invalidateAll`).
 */
import * as path from 'node:path';
import type { TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import { DataScanner, isInside } from '../dsl/files';
import { LineIndex } from '../dsl/text';
import { analyze, type Analysis } from '../dsl/validate';
import { torchAvailabilityNow } from '../engines/torch/python';

export interface AnalyzedDocument {
  uri: string;
  version: number;
  analysis: Analysis;
  lines: LineIndex;
  /** Absolute path for `file:` documents; undefined for untitled ones (no file checks then). */
  filePath?: string;
  workspaceRoot?: string;
}

export class DocumentStore {
  private readonly cache = new Map<string, AnalyzedDocument>();
  private workspaceFolders: string[] = [];
  /** Called when the PyTorch probe (run in the background) has an answer: analyses may change. */
  onTorchProbed?: () => void;

  constructor(
    readonly documents: TextDocuments<TextDocument>,
    readonly scanner: DataScanner = new DataScanner(),
  ) {}

  /** Workspace folders as absolute paths (from `initialize` and later folder changes). */
  setWorkspaceFolders(uris: readonly string[]): void {
    this.workspaceFolders = uris.map(filePathOf).filter((p): p is string => p !== undefined);
    this.cache.clear();
  }

  /** The analysed open document, or undefined when it is not open. */
  get(uri: string): AnalyzedDocument | undefined {
    const doc = this.documents.get(uri);
    return doc ? this.analyzeText(uri, doc.getText(), doc.version) : undefined;
  }

  /** Analyses text that is not (necessarily) open in the editor, e.g. a file read from disk. */
  analyzeText(uri: string, text: string, version: number): AnalyzedDocument {
    const hit = this.cache.get(uri);
    if (hit && hit.version === version && hit.analysis.text === text) return hit;
    const filePath = filePathOf(uri);
    const workspaceRoot = filePath ? this.workspaceRootOf(filePath) : undefined;
    const analysis = analyze(text, { filePath, workspaceRoot, scanner: this.scanner, torch: () => torchAvailabilityNow(() => this.torchProbed()) });
    const result: AnalyzedDocument = { uri, version, analysis, lines: new LineIndex(text), filePath, workspaceRoot };
    this.cache.set(uri, result);
    return result;
  }

  private torchProbed(): void {
    this.cache.clear();
    this.onTorchProbed?.();
  }

  forget(uri: string): void {
    this.cache.delete(uri);
  }

  /** Files on disk changed: rescan data folders on the next analysis. */
  invalidateAll(): void {
    this.scanner.invalidate();
    this.cache.clear();
  }

  /** The innermost workspace folder containing the file. */
  private workspaceRootOf(filePath: string): string | undefined {
    let best: string | undefined;
    for (const folder of this.workspaceFolders) {
      if (isInside(folder, filePath) && (!best || folder.length > best.length)) best = folder;
    }
    return best;
  }
}

/** The file-system path of a `file:` URI; undefined for `untitled:` and other schemes. */
export function filePathOf(uri: string): string | undefined {
  try {
    const u = URI.parse(uri);
    return u.scheme === 'file' ? path.resolve(u.fsPath) : undefined;
  } catch {
    return undefined;
  }
}
