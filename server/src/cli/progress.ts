/**
 * Training progress on stderr while `sgt train` waits for a run: a live bar that
 * redraws in place on a terminal, plain lines at most every few seconds otherwise
 * (CI logs keep every line, so redrawing would only add noise). Epoch metrics, engine
 * log messages and the start are printed as lines in both cases.
 */
import type { Metrics, RunEvent } from '../protocol';
import { formatDuration, formatMetric } from '../report/format';
import type { Style } from './report';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  style: Style;
  /** Without a terminal: at most one progress line per this many ms (default 10 s). */
  intervalMs?: number;
  now?: () => number;
}

/** Redraws of the live bar at most this often. */
const REDRAW_MS = 100;

export class TrainingProgress {
  private epochs = 0;
  private stepsPerEpoch = 0;
  private firstStep: { step: number; at: number } | undefined;
  private last: Extract<RunEvent, { type: 'step' }> | undefined;
  private lastDrawn = Number.NEGATIVE_INFINITY;
  private barShown = false;
  private readonly now: () => number;
  private readonly live: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.live = stream.isTTY === true;
  }

  get totalSteps(): number {
    return this.epochs * this.stepsPerEpoch;
  }

  event(e: RunEvent): void {
    const { style } = this.options;
    switch (e.type) {
      case 'started':
        this.epochs = e.epochs;
        this.stepsPerEpoch = e.stepsPerEpoch;
        this.firstStep = undefined;
        this.line(
          `${style.bold(this.label)}: started on ${e.engine}, backend ${e.backend}${e.backendReason ? ` (${e.backendReason})` : ''}; ` +
            `${e.epochs} epoch${e.epochs === 1 ? '' : 's'} × ${e.stepsPerEpoch} steps` +
            (e.resumedFrom ? `; resumed after epoch ${e.resumedFrom.epoch} (step ${e.resumedFrom.step})` : ''),
        );
        break;
      case 'step':
        this.last = e;
        if (!this.firstStep) this.firstStep = { step: e.step, at: this.now() };
        this.progress(e.step === this.totalSteps);
        break;
      case 'epoch':
        this.line(`${this.label}: epoch ${e.epoch}${this.epochs ? `/${this.epochs}` : ''} ${e.split}: ${formatMetrics(e.metrics)}`);
        break;
      case 'log':
        if (e.level !== 'info' || !this.live) {
          const level = e.level === 'error' ? style.red(e.level) : e.level === 'warning' ? style.yellow(e.level) : e.level;
          this.line(`${this.label}: ${level}: ${oneLine(e.message)}`);
        }
        break;
      default:
        break;
    }
  }

  /** Removes the live bar, e.g. before the final summary. */
  end(): void {
    this.clearBar();
  }

  /** Prints a line without garbling the live bar. */
  line(text: string): void {
    this.clearBar();
    this.stream.write(`${text}\n`);
    if (this.live && this.last) this.draw();
  }

  private progress(force: boolean): void {
    const now = this.now();
    if (this.live) {
      if (force || now - this.lastDrawn >= REDRAW_MS) this.draw();
      return;
    }
    if (force || now - this.lastDrawn >= (this.options.intervalMs ?? 10_000)) {
      this.lastDrawn = now;
      this.stream.write(`${this.label}: ${this.status()}\n`);
    }
  }

  private draw(): void {
    this.lastDrawn = this.now();
    const total = this.totalSteps;
    const step = this.last?.step ?? 0;
    const width = 20;
    const filled = total > 0 ? Math.min(width, Math.round((step / total) * width)) : 0;
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    let text = `${this.label} ${this.options.style.cyan(bar)} ${this.status()}`;
    const columns = this.stream.columns ?? 0;
    // never wrap: a wrapped line cannot be redrawn in place
    if (columns > 10 && visibleLength(text) > columns - 1) text = `${this.label} ${this.status()}`.slice(0, columns - 1);
    this.stream.write(`\r\x1b[2K${text}`);
    this.barShown = true;
  }

  private clearBar(): void {
    if (!this.barShown) return;
    this.stream.write('\r\x1b[2K');
    this.barShown = false;
  }

  /** `step 120/400 (30%) · epoch 2/5 · loss 0.4120 · acc 0.910 · 1,234 img/s · ETA 1m 05s` */
  status(): string {
    const e = this.last;
    if (!e) return 'starting';
    const total = this.totalSteps;
    const parts = [
      total > 0 ? `step ${e.step}/${total} (${Math.floor((e.step / total) * 100)}%)` : `step ${e.step}`,
      `epoch ${e.epoch}${this.epochs ? `/${this.epochs}` : ''}`,
      `loss ${fixed(e.loss, 4)}`,
      `acc ${fixed(e.accuracy, 3)}`,
      `${Math.round(e.imagesPerSecond).toLocaleString('en-US')} img/s`,
    ];
    const eta = this.eta();
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
    return parts.join(' · ');
  }

  /** Seconds left, from the step rate since the first step this attempt saw (startup and compilation excluded). */
  eta(): number | undefined {
    const e = this.last;
    const first = this.firstStep;
    const total = this.totalSteps;
    if (!e || !first || total === 0 || e.step <= first.step) return undefined;
    const elapsed = (this.now() - first.at) / 1000;
    if (elapsed <= 0) return undefined;
    return ((total - e.step) * elapsed) / (e.step - first.step);
  }
}

export function formatMetrics(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${formatMetric(k, v)}`)
    .join(' · ');
}

function fixed(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return String(s).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}
