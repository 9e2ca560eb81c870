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

// ---- run events (events.jsonl in a run directory, and live notifications) -----------------
//
// A run directory's `events.jsonl` is append-only, one RunEvent per line, flushed
// per event: it is the source of truth a dashboard, a report or a resumed run
// reads. Engines write it; the daemon forwards the same events to its clients.

export interface RunEventBase {
  /** ISO-8601 time the event was written. */
  time: string;
}

/** Metrics by name (`accuracy`, `auc`, `saliency_mse`, `saliency_corr`, …). */
export type Metrics = Record<string, number>;

export type RunEvent = RunEventBase &
  (
    | {
        type: 'started';
        run: string;
        experiment: string;
        engine: 'tfjs' | 'torch';
        /** Backend actually used (`wasm`, `tensorflow`, `cuda`, …) and why faster ones were not. */
        backend: string;
        backendReason: string;
        seed: number;
        epochs: number;
        stepsPerEpoch: number;
        /** Set when the run continues from a checkpoint. */
        resumedFrom?: { epoch: number; step: number };
      }
    | {
        type: 'step';
        epoch: number;
        /** Global step, counted from 1 over the whole run. */
        step: number;
        loss: number;
        /** Classification part of the loss. */
        ce: number;
        /** Guidance part (0 without guidance). */
        guidance: number;
        accuracy: number;
        lr: number;
        imagesPerSecond: number;
      }
    | { type: 'epoch'; epoch: number; step: number; split: 'train' | 'val' | 'test'; metrics: Metrics }
    | {
        type: 'overlay';
        epoch: number;
        step: number;
        /** Paths relative to the run directory, one per preview sample. */
        files: string[];
      }
    | { type: 'checkpoint'; epoch: number; step: number; path: string; best: boolean }
    | { type: 'log'; level: 'info' | 'warning' | 'error'; message: string }
    | { type: 'finished'; summary: string }
    | { type: 'failed'; error: string; detail?: string }
    | { type: 'cancelled' }
  );

export type RunEventType = RunEvent['type'];
