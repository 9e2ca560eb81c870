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
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
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

/**
 * Workspace Trust, client → language server. `initializationOptions.workspaceTrusted` says it
 * at start (absent: trusted, for editors without Workspace Trust); this notification says
 * when the user grants trust later. Untrusted, the server writes nothing into the workspace
 * (hover previews stay in memory).
 */
export interface LanguageServerInitOptions {
  workspaceTrusted?: boolean;
}
export const WorkspaceTrustGrantedNotification = new NotificationType<Record<string, never>>('saliencyStudio/workspaceTrustGranted');

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

// ---- training daemon (server/src/daemon/) -------------------------------------------------
//
// The daemon runs training jobs, one engine process each, in a FIFO queue, and outlives
// its clients (extension windows, `sgt`). Clients connect to its user-only Unix socket
// (daemon/paths.ts) and speak JSON-RPC with these messages; every connected client gets
// the notifications, narrowed by `subscribe` if it asks.

export type DaemonJobStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

export interface DaemonJobProgress {
  epoch: number;
  epochs: number;
  /** Global step, as in `step` events. */
  step: number;
  /** epochs × stepsPerEpoch (0 until the engine has sent `started`). */
  totalSteps: number;
}

export interface DaemonJob {
  id: string;
  /** Absolute path of the run directory the job trains. */
  runDir: string;
  experiment: string;
  engine: 'tfjs' | 'torch';
  resume: boolean;
  status: DaemonJobStatus;
  /** ISO-8601 times. */
  submittedAt: string;
  startedAt?: string;
  endedAt?: string;
  /** Engine process id while running. */
  pid?: number;
  progress?: DaemonJobProgress;
  /** Why a failed job failed (its `failed` event's `error`). */
  error?: string;
  /** Engine exit status once it has exited: a code, or the signal that killed it. */
  exit?: { code: number | null; signal: string | null };
  /** A cancel was asked for while it ran; it ends when its engine has stopped. */
  cancelRequested?: boolean;
}

export interface DaemonSubmitParams {
  /** Absolute path of a run directory holding `resolved.json` (runs/run-dir.ts createRunDir). */
  runDir: string;
  engine: 'tfjs' | 'torch';
  /** Continue from the run's last checkpoint (engine `--resume`). */
  resume?: boolean;
}

export interface DaemonSubmitResult {
  jobId: string;
  /** 0: started at once; n: n-th in the queue. */
  position: number;
  job: DaemonJob;
}

/** Queues a run; rejected (DAEMON_ERRORS) when the run directory is unusable, the engine unavailable, or the run already queued or running. */
export const DaemonSubmitRequest = new RequestType<DaemonSubmitParams, DaemonSubmitResult, void>('saliencyStudio/daemon/submit');

export interface DaemonListParams {
  /** Only the jobs of this run directory. */
  runDir?: string;
}

export interface DaemonListResult {
  /** Queued and running jobs in queue order, then ended ones, newest first (the daemon remembers the last 100). */
  jobs: DaemonJob[];
}

export const DaemonListRequest = new RequestType<DaemonListParams, DaemonListResult, void>('saliencyStudio/daemon/list');

export interface DaemonCancelParams {
  jobId: string;
}

export interface DaemonCancelResult {
  job: DaemonJob;
  /** false when the job had already ended. A queued job is cancelled at once; a running one ends when its engine has stopped (SIGTERM, then SIGKILL after a grace period). */
  cancelling: boolean;
}

export const DaemonCancelRequest = new RequestType<DaemonCancelParams, DaemonCancelResult, void>('saliencyStudio/daemon/cancel');

export interface DaemonEngineInfo {
  name: 'tfjs' | 'torch';
  available: boolean;
  /** The command that runs it, or why it is not available. */
  detail: string;
}

export interface DaemonStatus {
  pid: number;
  version: string;
  socket: string;
  /** ISO-8601 time the daemon started. */
  startedAt: string;
  uptimeSeconds: number;
  /** How many jobs run at once. */
  concurrency: number;
  /** Seconds without jobs and clients after which the daemon exits (0: never). */
  idleTimeoutSeconds: number;
  clients: number;
  jobs: Record<DaemonJobStatus, number>;
  engines: DaemonEngineInfo[];
}

export const DaemonStatusRequest = new RequestType0<DaemonStatus, void>('saliencyStudio/daemon/status');

export interface DaemonShutdownParams {
  /** Cancel queued and running jobs; without it a daemon with jobs refuses (DAEMON_ERRORS.busy). */
  cancelJobs?: boolean;
}

export interface DaemonShutdownResult {
  /** Jobs cancelled on the way out. */
  cancelled: number;
}

/** Stops the daemon after replying: cancels its jobs if asked, waits for their engines, removes its socket. */
export const DaemonShutdownRequest = new RequestType<DaemonShutdownParams, DaemonShutdownResult, void>('saliencyStudio/daemon/shutdown');

export interface DaemonSubscribeParams {
  /** Only notifications about these run directories; absent: everything (the default of a new connection). */
  runDirs?: string[];
}

export const DaemonSubscribeRequest = new RequestType<DaemonSubscribeParams, void, void>('saliencyStudio/daemon/subscribe');

export interface DaemonEventParams {
  jobId: string;
  runDir: string;
  /** The engine's event as written to the run's events.jsonl (or the daemon's, when the engine died without an ending). */
  event: RunEvent;
}

/** Every RunEvent of every job (steps, epoch metrics, overlays, endings). */
export const DaemonEventNotification = new NotificationType<DaemonEventParams>('saliencyStudio/daemon/event');

export interface DaemonJobChangedParams {
  job: DaemonJob;
}

/** A job was queued, started, got its step count (`started`), or ended. */
export const DaemonJobChangedNotification = new NotificationType<DaemonJobChangedParams>('saliencyStudio/daemon/jobChanged');

/** JSON-RPC error codes of the daemon's requests (application range). */
export const DAEMON_ERRORS = {
  /** The run directory is missing, has no resolved.json, or is not absolute. */
  invalidRun: -32001,
  /** The run is already queued or running. */
  runBusy: -32002,
  /** No job with that id. */
  unknownJob: -32003,
  /** The engine cannot be started on this machine. */
  engineUnavailable: -32004,
  /** Shutdown asked while jobs are queued or running, without `cancelJobs`. */
  busy: -32005,
  /** The daemon is shutting down and takes no new jobs. */
  stopping: -32006,
} as const;

// ---- dashboard webview (client/src/dashboard <-> webview/src) ------------------------------
//
// The vscode-dvc contract: one discriminated union per direction, the webview says `ready`
// first and the host answers with `init`; images travel as webview URIs of files in the run
// directory (asWebviewUri), never as base64. Events arrive in throttled batches.

/** One run as the dashboard knows it. */
export interface DashboardRun {
  /** Absolute path of the run directory (the run's key in every message). */
  runDir: string;
  /** Run id (the directory's name). */
  id: string;
  experiment: string;
}

/** An overlay preview: one PNG per sample, each `image | human map | CAM overlay` side by side. */
export interface DashboardOverlay {
  epoch: number;
  step: number;
  /** Webview URIs of the PNGs, one per preview sample, in sample order. */
  uris: string[];
}

/** What the webview persists with setState (survives hiding and, through the serializer, a reload). */
export interface DashboardViewState {
  runDirs: string[];
  /** Index into the overlay list of the gallery's step / epoch slider; -1 follows the latest. */
  overlayIndex: number;
  /** Opacity of the CAM panel drawn over the image panel, 0..1. */
  camOpacity: number;
}

/**
 * Cross-run CAM consistency of compared runs that share a setting and differ in seed
 * (runs/consistency.ts): the value, or why there is none.
 */
export interface DashboardConsistency {
  runDirs: string[];
  experiments: string[];
  seeds: number[];
  value?: number;
  /** Probe images compared (with `value`). */
  images?: number;
  reason?: string;
}

export type ToWebview =
  | { type: 'init'; runs: DashboardRun[]; state?: Partial<DashboardViewState> }
  /** Consistency per group of compared runs of one setting (replaces the previous list). */
  | { type: 'consistency'; groups: DashboardConsistency[] }
  /** New events of one run, in file order (the first batch after `init` holds its whole history). */
  | { type: 'events'; runDir: string; events: RunEvent[] }
  /** The full overlay list of one run (replaces the previous one). */
  | { type: 'overlays'; runDir: string; entries: DashboardOverlay[] }
  /** Several of the above at once: the host's throttle sends at most a few messages a second. */
  | { type: 'batch'; messages: ToWebview[] };

export type FromWebview =
  | { type: 'ready' }
  /** The view state changed; the host keeps it for the serializer and later `init`s. */
  | { type: 'setState'; state: DashboardViewState };

/** The dashboard panel's view type (activation event `onWebviewPanel:saliencyStudio.dashboard`). */
export const DASHBOARD_VIEW_TYPE = 'saliencyStudio.dashboard';
