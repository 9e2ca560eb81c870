/**
 * THE protocol module: every custom message between Saliency Studio's processes
 * (extension client <-> language server, and later client <-> training daemon)
 * is declared here, once, with its parameter and result types. Both sides import
 * these constants, so a method name or a payload shape cannot drift between them
 * (the vscode-eslint `customMessages.ts` / rust-analyzer `lsp_ext.ts` pattern).
 *
 * Keep it dependency-light: the client bundle imports it, so it may only depend
 * on `vscode-jsonrpc` (already part of vscode-languageclient) and on type-only
 * imports from the DSL — never on the server's runtime code.
 */
import { RequestType } from 'vscode-jsonrpc';
import type { ResolvedExperiment } from './dsl/resolve';

// ---- language server ---------------------------------------------------------------------

export interface ResolveExperimentParams {
  /** The `.sgt` document; an open document's current text wins over the file on disk. */
  uri: string;
  /** Experiment name inside the document. */
  name: string;
}

export interface ResolveExperimentResult {
  /** Every setting with its default filled in (what a run stores as `resolved.json`); null when the experiment does not exist or its chain has errors. */
  resolved: ResolvedExperiment | null;
  /** Errors in the document (any error in the experiment's chain makes `resolved` null). */
  errors: number;
  warnings: number;
}

/** Resolves an experiment of a document to plain JSON, e.g. before starting a run. */
export const ResolveExperimentRequest = new RequestType<ResolveExperimentParams, ResolveExperimentResult, void>('saliencyStudio/resolveExperiment');
