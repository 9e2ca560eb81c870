/** `saliencyStudio/resolveExperiment` (see ../protocol.ts). */
import * as fs from 'node:fs';
import { resolveExperiment } from '../dsl/resolve';
import type { ResolveExperimentParams, ResolveExperimentResult } from '../protocol';
import { filePathOf, type DocumentStore } from './documents';

export function resolveRequest(store: DocumentStore, params: ResolveExperimentParams): ResolveExperimentResult {
  const doc = store.get(params.uri) ?? fromDisk(store, params.uri);
  if (!doc) return { resolved: null, errors: 0, warnings: 0 };
  const diags = doc.analysis.diagnostics;
  return {
    resolved: resolveExperiment(doc.analysis, params.name) ?? null,
    errors: diags.filter((d) => d.severity === 'error').length,
    warnings: diags.filter((d) => d.severity === 'warning').length,
  };
}

/** A document that is not open in the editor is read from disk (not cached: it may change unseen). */
function fromDisk(store: DocumentStore, uri: string) {
  const filePath = filePathOf(uri);
  if (!filePath) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch {
    return undefined;
  }
  const doc = store.analyzeText(uri, text, -1);
  store.forget(uri);
  return doc;
}
