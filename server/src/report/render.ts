/**
 * The HTML report: one self-contained file (inline CSS, inline SVG charts, images
 * as data: URIs, no scripts) comparing one or more runs — what was compared, the
 * final numbers side by side, the settings that differ, training curves and CAM
 * overlays. Every string from a run directory is escaped (html.ts).
 */
import { METRICS } from '../dsl/schema';
import { CAM_PROBE_COUNT, CAM_PROBE_SEED } from '../runs/cam-file';
import { escapeHtml, REPORT_CSP } from './html';
import { isObject, type RunData } from './load';
import { embedPng, type EmbeddedImage } from './overlays';
import { formatMeanSd, groupBySetting, groupLabel } from './seed-groups';
import { sameSamples, settingRows } from './settings';
import { formatDuration, formatMetric } from './format';
import { barChart, lineChart, type BarGroup, type Series } from './svg-chart';

export interface RenderOptions {
  /** Shown in the footer. */
  generator?: string;
  now?: Date;
  /** Most preview samples shown per overlay step. */
  maxSamples?: number;
}

/** Tableau 10: distinct, print-safe, colour-blind-friendlier than the defaults of most tools. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
/** Step curves keep at most this many points (bucket means): smooth enough to read, small enough to embed. */
const MAX_CURVE_POINTS = 400;
const SPLIT_ORDER = ['val', 'test', 'train'];
/** Usable width of the page's content, in CSS pixels (main's max-width less its padding). */
const PAGE_WIDTH = 1080;

interface Run extends RunData {
  color: string;
  /** Unique label: the experiment name, with the run id when two runs share it. */
  label: string;
}

export function renderReport(data: RunData[], options: RenderOptions = {}): string {
  const runs = labelled(data);
  const names = runs.map((r) => r.label);
  const sweep = sweepOfAll(runs);
  const title = runs.length === 1 ? `Saliency Studio report: ${names[0]}` : sweep ? `Saliency Studio report: sweep ${sweep} (${runs.length} runs)` : `Saliency Studio report: ${names.join(' vs ')}`;
  const rows = settingRows(runs.map((r) => r.resolved));
  const differing = rows.filter((r) => r.differs);
  const body = [
    header(runs, differing.map((r) => r.path), options),
    runCards(runs),
    howToRead(runs),
    resultsTable(runs),
    seedSection(runs),
    settingsSection(runs, rows),
    curves(runs),
    overlaySection(runs, options.maxSamples ?? 8),
    footer(runs, options),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function labelled(data: RunData[]): Run[] {
  const counts = new Map<string, number>();
  for (const d of data) counts.set(d.experiment, (counts.get(d.experiment) ?? 0) + 1);
  return data.map((d, i) => ({ ...d, color: PALETTE[i % PALETTE.length], label: (counts.get(d.experiment) ?? 0) > 1 ? `${d.experiment} #${runSuffix(d.id) ?? i + 1}` : d.experiment }));
}

/** The random part of a run id (`…-20240101-120000-3fa2` → `3fa2`): short, and unique enough to tell runs of one experiment apart. */
function runSuffix(id: string): string | undefined {
  return /-\d{8}-\d{6}-([0-9a-f]{4})$/.exec(id)?.[1];
}

// ---- header and run cards ---------------------------------------------------------------

function header(runs: Run[], differing: string[], options: RenderOptions): string {
  const when = (options.now ?? new Date()).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  let compared: string;
  if (runs.length === 1) compared = `One run of <b>${escapeHtml(runs[0].experiment)}</b>.`;
  else if (differing.length === 0) compared = `${runs.length} runs with identical settings (repeats: differences come from nondeterminism only).`;
  else {
    const shown = differing.slice(0, 6).map((p) => `<code>${escapeHtml(p)}</code>`);
    compared = `${runs.length} runs that differ in ${shown.join(', ')}${differing.length > 6 ? ` and ${differing.length - 6} more settings` : ''}.`;
  }
  const sweep = runs.length > 1 ? sweepOfAll(runs) : undefined;
  // the runs of one sweep are named in the tables; the heading names the sweep
  const heading = sweep
    ? `${runs.map((r) => `<span class="swatch" style="background:${r.color}"></span>`).join('')}sweep ${escapeHtml(sweep)} <span class="vs">(${runs.length} runs)</span>`
    : runs.map((r) => `<span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)}`).join(' <span class="vs">vs</span> ');
  return `<header>
<h1>${heading}</h1>
<p class="sub">Saliency Studio training report · ${escapeHtml(when)}</p>
<p class="compared">${compared}</p>
</header>`;
}

/** The sweep every run comes from (resolved.json `sweep.of`, dsl/sweep.ts), when they all come from the same one. */
function sweepOfAll(runs: readonly RunData[]): string | undefined {
  const of = runs.map((r) => (isObject(r.resolved?.sweep) && typeof r.resolved.sweep.of === 'string' ? r.resolved.sweep.of : undefined));
  return of[0] !== undefined && of.every((o) => o === of[0]) ? of[0] : undefined;
}

const STATUS_TEXT: Record<string, string> = {
  finished: 'finished',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
  running: 'running',
};

function runCards(runs: Run[]): string {
  const cards = runs.map((r) => {
    const s = r.lastStarted;
    const facts: string[] = [];
    if (s) facts.push(`${escapeHtml(s.engine)} · ${escapeHtml(s.backend)}`);
    if (r.durationSeconds !== undefined) facts.push(escapeHtml(formatDuration(r.durationSeconds)));
    const lastEpoch = r.epochs.at(-1)?.epoch ?? r.steps.at(-1)?.epoch;
    if (s) facts.push(`epoch ${lastEpoch ?? 0} of ${escapeHtml(s.epochs)}`);
    if (r.started?.time) facts.push(`started ${escapeHtml(r.started.time.replace('T', ' ').slice(0, 16))}`);
    let note = '';
    if (r.ending?.type === 'failed') {
      note = `<p class="error">${escapeHtml(r.ending.error)}</p>${r.ending.detail ? `<pre>${escapeHtml(lastLines(r.ending.detail, 30))}</pre>` : ''}`;
    } else if (r.ending?.type === 'finished' && r.ending.summary) {
      note = `<p>${escapeHtml(r.ending.summary)}</p>`;
    } else if (r.status === 'interrupted') {
      note = '<p class="warn">No ending event: the run was killed or is still running. Its numbers stop at its last recorded epoch; <code>sgt train --resume &lt;run-dir&gt;</code> continues it.</p>';
    } else if (r.status === 'cancelled') {
      note = '<p>Cancelled before the end; numbers stop at its last recorded epoch.</p>';
    }
    const logs = r.logs.slice(-5).map((l) => `<li class="${l.level === 'error' ? 'error' : 'warn'}">${escapeHtml(l.level)}: ${escapeHtml(l.message)}</li>`);
    const problems = r.problems.map((p) => `<li class="warn">${escapeHtml(p)}</li>`);
    return `<article class="card" style="border-top-color:${r.color}">
<h3><span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)} <span class="badge ${escapeHtml(r.status)}">${escapeHtml(STATUS_TEXT[r.status] ?? r.status)}</span></h3>
<p class="id">${escapeHtml(r.id)}</p>
<p class="facts">${facts.join(' · ')}</p>
${note}${logs.length || problems.length ? `<ul class="notes">${[...logs, ...problems].join('')}</ul>` : ''}
</article>`;
  });
  return `<section class="cards">${cards.join('\n')}</section>`;
}

function howToRead(runs: Run[]): string {
  const decoy = runs.some((r) => isObject(r.resolved?.data) && isObject(r.resolved.data.source) && r.resolved.data.source.name === 'decoy-mnist');
  return `<section class="howto">
<h2>How to read this</h2>
<p>Each overlay shows, left to right, the input image, the <b>human saliency map</b> (where people say the evidence is) and the model's
<b>class activation map</b> (CAM) for the true class over the image: the bright regions are those that raised the model's score for that
class. A model that is right for the right reasons puts its CAM where the human map is. <i>Saliency agreement</i> measures this on held-out
annotated images: <code>saliency_corr</code> (Pearson correlation of CAM and human map, higher is better) and <code>saliency_mse</code>
(lower is better). Training loss is split into its classification part (cross-entropy) and the guidance part that pulls the CAM towards the human map.</p>
<p${decoy ? '' : ' class="muted"'}><b>Decoy MNIST.</b> Every training digit carries a grey swatch in a corner whose shade encodes its label: a shortcut. Validation
images come from the same distribution, so a model that learned the swatch instead of the digit still scores well there. In the <b>test split
the swatch shades are random</b>, so the shortcut stops working: test accuracy shows whether the model learned the digits, and its CAM shows
where it looked (the corner, or the strokes).</p>
</section>`;
}

// ---- results ------------------------------------------------------------------------------

function metricOrder(a: string, b: string): number {
  const known = Object.keys(METRICS);
  const ia = known.indexOf(a);
  const ib = known.indexOf(b);
  return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
}

/** Losses (incl. the training loss's classification `ce` and `guidance` parts) and errors: lower is better. */
function lowerIsBetter(metric: string): boolean {
  return /mse|loss|error/.test(metric) || metric === 'ce' || metric === 'guidance';
}

function resultsTable(runs: Run[]): string {
  const splits = [...new Set(runs.flatMap((r) => Object.keys(r.kept)))].sort((a, b) => splitIndex(a) - splitIndex(b));
  const rows: string[] = [];
  rows.push(row('status', runs.map((r) => `<span class="badge ${escapeHtml(r.status)}">${escapeHtml(r.status)}</span>`)));
  for (const split of splits) {
    const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.kept[split] ?? {})))].sort(metricOrder);
    for (const m of metrics) {
      const values = runs.map((r) => num(r.kept[split]?.[m]));
      const best = bestValue(values, lowerIsBetter(m));
      rows.push(
        row(
          `${escapeHtml(split)} ${escapeHtml(m)}`,
          values.map((v) => (v === undefined ? '<span class="muted">–</span>' : `<span class="${v === best ? 'best' : ''}">${escapeHtml(formatMetric(m, v))}</span>`)),
          'num',
        ),
      );
    }
  }
  rows.push(row('best epoch', runs.map((r) => (r.bestEpoch === undefined ? '–' : escapeHtml(r.bestEpoch))), 'num'));
  rows.push(row('epochs', runs.map((r) => `${escapeHtml(r.epochs.at(-1)?.epoch ?? 0)} / ${escapeHtml(r.lastStarted?.epochs ?? '?')}`), 'num'));
  rows.push(row('steps', runs.map((r) => escapeHtml(r.steps.at(-1)?.step ?? 0)), 'num'));
  rows.push(row('engine · backend', runs.map((r) => (r.lastStarted ? `${escapeHtml(r.lastStarted.engine)} · ${escapeHtml(r.lastStarted.backend)}` : '–'))));
  rows.push(row('duration', runs.map((r) => (r.durationSeconds === undefined ? '–' : escapeHtml(formatDuration(r.durationSeconds)))), 'num'));
  return `<section>
<h2>Results</h2>
<p class="muted">At the checkpoint each run keeps (its best validation epoch with <code>checkpoint = best</code>, else its last epoch); the best value of a row is in bold.${runs.some((r) => r.status !== 'finished') ? ' Runs that did not finish show their last epoch.' : ''}</p>
<div class="scroll"><table class="results">
<thead><tr><th></th>${runs.map((r) => `<th><span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody>
</table></div>
</section>`;
}

/** Mean ± sd over the seeds of each setting; only when some setting ran with several seeds. */
function seedSection(runs: Run[]): string {
  const groups = groupBySetting(runs);
  if (!groups.some((g) => g.runs.length > 1)) return '';
  const labelOf = new Map(runs.map((r) => [r.id, r]));
  const splits = [...new Set(groups.flatMap((g) => Object.keys(g.metrics)))].filter((s) => s !== 'train').sort((a, b) => splitIndex(a) - splitIndex(b));
  const rows: string[] = [];
  rows.push(row('seeds', groups.map((g) => escapeHtml(g.seeds.map((x) => (Number.isNaN(x) ? '?' : x)).join(', '))), 'num'));
  for (const split of splits) {
    const metrics = [...new Set(groups.flatMap((g) => Object.keys(g.metrics[split] ?? {})))].filter((m) => m !== 'loss').sort(metricOrder);
    for (const m of metrics) {
      const cells = groups.map((g) => g.metrics[split]?.[m]);
      const best = bestValue(cells.map((c) => (c && c.n > 0 ? c.mean : undefined)), lowerIsBetter(m));
      rows.push(row(`${escapeHtml(split)} ${escapeHtml(m)}`, cells.map((c) => (c && c.n > 0 ? `<span class="${c.mean === best ? 'best' : ''}">${escapeHtml(formatMeanSd(c))}</span>` : '<span class="muted">–</span>')), 'num'));
    }
  }
  const withConsistency = groups.some((g) => g.consistency);
  if (withConsistency) rows.push(consistencyRow(groups));
  const sweeps = [...new Set(groups.flatMap((g) => g.sweep?.of ?? []))];
  // with runs of several sweeps (or of a sweep and others), a column names its sweep too
  const qualify = sweeps.length > 1 || (sweeps.length === 1 && groups.some((g) => !g.sweep));
  const head = groups.map((g) => ({ label: groupLabel(g, qualify), runs: g.runs.map((r) => labelOf.get(r.id)).filter((r): r is Run => r !== undefined) }));
  const sweepNote = sweeps.length
    ? ` Runs of the sweep${sweeps.length > 1 ? 's' : ''} ${sweeps.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ')} are grouped by their swept settings other than the seed (a column per combination).`
    : '';
  return `<section>
<h2>Across seeds</h2>
<p class="muted">Runs whose settings differ only in the seed, as mean ± sample standard deviation over the seeds, at the checkpoint each run keeps (the best validation epoch with <code>checkpoint = best</code>; the test split plays no part in choosing it).${sweepNote}</p>
<div class="scroll"><table class="results">
<thead><tr><th></th>${head.map((h) => `<th title="${escapeHtml(h.runs.map((r) => r.experiment).join('\n'))}">${h.runs.map((r) => `<span class="swatch" style="background:${r.color}"></span>`).join('')}${escapeHtml(h.label)}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody>
</table></div>
${withConsistency ? `<p class="muted"><code>consistency</code>: how alike the runs' class activation maps are on the same ${CAM_PROBE_COUNT} images (the first test images of data seed ${CAM_PROBE_SEED}), at the checkpoint each run keeps: the mean over images of the mean Pearson correlation between the CAMs of every pair of runs; 1 = the same maps (docs/dsl.md, "Cross-run consistency").</p>` : ''}
</section>`;
}

/** The `consistency` row of the seed table: a value per setting, or – with the reason as a tooltip. */
function consistencyRow(groups: ReturnType<typeof groupBySetting>): string {
  const values = groups.map((g) => (g.consistency?.ok ? g.consistency.value : undefined));
  const best = bestValue(values, false);
  return row(
    'consistency',
    groups.map((g) => {
      const c = g.consistency;
      if (!c) return '<span class="muted">–</span>';
      if (!c.ok) return `<span class="muted" title="${escapeHtml(c.reason)}">– (${escapeHtml(c.reason)})</span>`;
      return `<span class="${c.value === best ? 'best' : ''}" title="${escapeHtml(`${c.runs} runs, ${c.images} images`)}">${escapeHtml(c.value.toFixed(3))}</span>`;
    }),
    'num',
  );
}

function splitIndex(s: string): number {
  const i = SPLIT_ORDER.indexOf(s);
  return i === -1 ? SPLIT_ORDER.length : i;
}

function row(label: string, cells: string[], cls = ''): string {
  return `<tr><th scope="row">${label}</th>${cells.map((c) => `<td${cls ? ` class="${cls}"` : ''}>${c}</td>`).join('')}</tr>`;
}

/** The best value of a row (bold in every run that reaches it), or undefined when there is nothing to compare. */
function bestValue(values: Array<number | undefined>, lower: boolean): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  if (defined.length < 2 || defined.every((v) => v === defined[0])) return undefined;
  return lower ? Math.min(...defined) : Math.max(...defined);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

// ---- settings ----------------------------------------------------------------------------

function settingsSection(runs: Run[], rows: ReturnType<typeof settingRows>): string {
  const head = `<thead><tr><th>setting</th>${runs.map((r) => `<th><span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)}</th>`).join('')}</tr></thead>`;
  const render = (list: typeof rows) =>
    list.map((s) => `<tr${s.differs ? ' class="differs"' : ''}><th scope="row"><code>${escapeHtml(s.path)}</code></th>${s.values.map((v) => `<td>${v === undefined ? '<span class="muted">–</span>' : escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  const differing = rows.filter((r) => r.differs);
  const main =
    runs.length < 2
      ? ''
      : differing.length
        ? `<div class="scroll"><table class="settings">${head}<tbody>${render(differing)}</tbody></table></div>`
        : '<p class="muted">The runs have the same settings.</p>';
  return `<section>
<h2>${runs.length < 2 ? 'Settings' : 'Settings that differ'}</h2>
${main}
<details><summary>All settings (${rows.length})</summary>
<div class="scroll"><table class="settings">${head}<tbody>${render(rows)}</tbody></table></div>
</details>
</section>`;
}

// ---- curves ------------------------------------------------------------------------------

function curves(runs: Run[]): string {
  const figs: string[] = [];
  const loss: Series[] = [];
  const trainAcc: Series[] = [];
  for (const r of runs) {
    const x = stepToEpoch(r);
    const guided = r.steps.some((s) => typeof s.guidance === 'number' && s.guidance !== 0);
    loss.push({ label: `${r.label}: total`, color: r.color, points: downsample(r.steps.map((s) => [x(s.step), s.loss])) });
    if (guided) {
      loss.push({ label: `${r.label}: classification`, color: r.color, dash: '6 3', points: downsample(r.steps.map((s) => [x(s.step), s.ce])) });
      loss.push({ label: `${r.label}: guidance`, color: r.color, dash: '1.5 3', points: downsample(r.steps.map((s) => [x(s.step), s.guidance])) });
    }
    trainAcc.push({ label: r.label, color: r.color, points: downsample(r.steps.map((s) => [x(s.step), s.accuracy])) });
  }
  const anyGuided = loss.some((s) => s.dash);
  figs.push(figure('Training loss', anyGuided ? 'solid: total · dashed: classification (cross-entropy) · dotted: guidance' : 'per step (batch means)', lineChart({ title: 'Training loss', xLabel: 'epoch', series: loss, includeY: [0], yBounds: [0, Infinity] })));
  figs.push(figure('Training accuracy', 'per step, on the training batches', lineChart({ title: 'Training accuracy', xLabel: 'epoch', series: trainAcc, yBounds: [0, 1] })));
  const perEpoch = (split: string, metric: string): Series[] =>
    runs.map((r) => ({ label: r.label, color: r.color, markers: true, points: r.epochs.filter((e) => e.split === split && num(e.metrics[metric]) !== undefined).map((e) => [e.epoch, e.metrics[metric]] as [number, number]) }));
  const has = (split: string, metric: string) => runs.some((r) => r.epochs.some((e) => e.split === split && num(e.metrics[metric]) !== undefined));
  const epochCount = (split: string, metric: string) => Math.max(0, ...runs.map((r) => r.epochs.filter((e) => e.split === split && num(e.metrics[metric]) !== undefined).length));
  if (has('val', 'accuracy')) figs.push(figure('Validation accuracy', 'after each epoch', lineChart({ title: 'Validation accuracy', xLabel: 'epoch', series: perEpoch('val', 'accuracy'), integerX: true, yBounds: [0, 1] })));
  if (has('val', 'saliency_corr')) figs.push(figure('Saliency agreement (validation)', 'saliency_corr: correlation of CAM and human map, higher is better', lineChart({ title: 'Saliency agreement', xLabel: 'epoch', series: perEpoch('val', 'saliency_corr'), integerX: true, yBounds: [-1, 1] })));
  if (has('val', 'saliency_mse')) figs.push(figure('Saliency error (validation)', 'saliency_mse: lower is better', lineChart({ title: 'Saliency MSE', xLabel: 'epoch', series: perEpoch('val', 'saliency_mse'), integerX: true, includeY: [0], yBounds: [0, Infinity] })));
  if (epochCount('test', 'accuracy') > 1) figs.push(figure('Test accuracy', 'after each epoch', lineChart({ title: 'Test accuracy', xLabel: 'epoch', series: perEpoch('test', 'accuracy'), integerX: true, yBounds: [0, 1] })));
  // the kept checkpoint's test metrics, as the results table (the last epoch's differ when it is not the best)
  const testMetrics = [...new Set(runs.flatMap((r) => Object.keys(r.kept.test ?? {})))].sort(metricOrder);
  if (testMetrics.length) {
    const groups: BarGroup[] = testMetrics.map((m) => ({ label: m, bars: runs.map((r) => ({ label: r.label, color: r.color, value: num(r.kept.test?.[m]) })) }));
    figs.push(figure('Test metrics', 'test split, at the checkpoint each run keeps (as the results table)', barChart('Test metrics', groups)));
  }
  const legend = runs.map((r) => `<span class="key"><span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)}</span>`).join('');
  return `<section>
<h2>Curves</h2>
<p class="legend">${legend}</p>
<div class="charts">${figs.join('\n')}</div>
</section>`;
}

function figure(title: string, caption: string, svg: string): string {
  return `<figure><figcaption><b>${escapeHtml(title)}</b> <span class="muted">${escapeHtml(caption)}</span></figcaption>${svg}</figure>`;
}

/** x positions in epochs, so runs with different batch sizes line up: step / steps per epoch. */
function stepToEpoch(r: Run): (step: number) => number {
  const spe = r.lastStarted?.stepsPerEpoch ?? r.started?.stepsPerEpoch;
  if (spe && spe > 0) return (step) => step / spe;
  const e = r.epochs.find((x) => x.epoch > 0 && x.step > 0);
  if (e) return (step) => (step * e.epoch) / e.step;
  return (step) => step;
}

/** Bucket means, keeping the curve's shape with at most MAX_CURVE_POINTS points. */
export function downsample(points: Array<[number, number]>, max = MAX_CURVE_POINTS): Array<[number, number]> {
  const ok = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ok.length <= max) return ok;
  const out: Array<[number, number]> = [];
  const size = ok.length / max;
  for (let b = 0; b < max; b++) {
    const chunk = ok.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (chunk.length === 0) continue;
    out.push([chunk.reduce((s, p) => s + p[0], 0) / chunk.length, chunk.reduce((s, p) => s + p[1], 0) / chunk.length]);
  }
  return out;
}

// ---- overlays ----------------------------------------------------------------------------

interface OverlayStep {
  epoch: number;
  step: number;
  images: Array<EmbeddedImage | undefined>;
}

function overlaySteps(r: Run, maxSamples: number): { first?: OverlayStep; last?: OverlayStep } {
  const load = (i: number): OverlayStep | undefined => {
    const o = r.overlays[i];
    if (!o) return undefined;
    return { epoch: o.epoch, step: o.step, images: o.files.slice(0, maxSamples).map((f) => embedPng(r.dir, f)) };
  };
  const n = r.overlays.length;
  return { first: n > 1 ? load(0) : undefined, last: load(n - 1) };
}

function overlaySection(runs: Run[], maxSamples: number): string {
  const steps = runs.map((r) => overlaySteps(r, maxSamples));
  const parts: string[] = [];
  const withOverlays = runs.map((r, i) => ({ r, s: steps[i] })).filter((x) => x.s.last);
  if (withOverlays.length === 0) {
    return `<section><h2>CAM overlays</h2><p class="muted">No overlays were recorded${runs.some((r) => r.status !== 'finished') ? ' (a run that stops early may not have reached its first preview)' : ''}.</p></section>`;
  }
  if (withOverlays.length > 1) {
    const shared = withOverlays.every((x) => sameSamples(withOverlays[0].r.resolved, x.r.resolved));
    if (shared) {
      const n = Math.max(...withOverlays.map((x) => x.s.last!.images.length));
      // all runs in one row of the page: smaller images when there are many runs
      const maxWidth = Math.max(120, Math.floor(PAGE_WIDTH / withOverlays.length) - 24);
      const head = withOverlays.map((x) => `<th><span class="swatch" style="background:${x.r.color}"></span>${escapeHtml(x.r.label)}<br><span class="muted">epoch ${escapeHtml(x.s.last!.epoch)} · step ${escapeHtml(x.s.last!.step)}</span>${panelLabels(x.s.last!.images[0], maxWidth)}</th>`);
      const rows: string[] = [];
      for (let i = 0; i < n; i++) rows.push(`<tr><th scope="row">${i + 1}</th>${withOverlays.map((x) => `<td>${img(x.s.last!.images[i], `${x.r.label}, sample ${i + 1}`, maxWidth)}</td>`).join('')}</tr>`);
      parts.push(`<h3>Same samples across runs <span class="muted">(last overlay of each run)</span></h3>
<div class="scroll"><table class="overlays"><thead><tr><th>#</th>${head.join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`);
    } else {
      parts.push('<p class="muted">The runs preview different images (different data or seed), so their overlays are shown per run only.</p>');
    }
  }
  const perRun: string[] = [];
  for (const { r, s } of withOverlays) {
    const cols = [s.first, s.last].filter((x): x is OverlayStep => x !== undefined);
    const n = Math.max(...cols.map((c) => c.images.length));
    const head = cols.map((c, i) => `<th>${cols.length > 1 ? (i === 0 ? 'first' : 'last') : 'last'} · epoch ${escapeHtml(c.epoch)} · step ${escapeHtml(c.step)}${panelLabels(c.images[0])}</th>`);
    const rows: string[] = [];
    for (let i = 0; i < n; i++) rows.push(`<tr><th scope="row">${i + 1}</th>${cols.map((c) => `<td>${img(c.images[i], `${r.label}, epoch ${c.epoch}, sample ${i + 1}`)}</td>`).join('')}</tr>`);
    perRun.push(`<div class="run-overlays"><h3><span class="swatch" style="background:${r.color}"></span>${escapeHtml(r.label)}</h3>
<div class="scroll"><table class="overlays"><thead><tr><th>#</th>${head.join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div></div>`);
  }
  return `<section>
<h2>CAM overlays</h2>
<p class="muted">Each image: input · human map · model CAM. Samples are fixed validation images, so the same row shows the same image over time.</p>
${parts.join('\n')}
<div class="overlay-runs">${perRun.join('\n')}</div>
</section>`;
}

/**
 * Display size: small previews (28 px MNIST) are scaled up by a whole factor, crisply,
 * to a readable height; large ones scaled down to fit `maxWidth`.
 */
function displaySize(im: EmbeddedImage, maxWidth = 360): { w: number; h: number; pixelated: boolean } {
  const target = 96;
  if (im.height < target && im.width * 2 <= maxWidth) {
    const scale = Math.max(2, Math.min(8, Math.round(target / im.height), Math.floor(maxWidth / im.width)));
    return { w: im.width * scale, h: im.height * scale, pixelated: true };
  }
  const scale = Math.min(1, maxWidth / im.width);
  return { w: Math.round(im.width * scale), h: Math.round(im.height * scale), pixelated: false };
}

function img(im: EmbeddedImage | undefined, alt: string, maxWidth?: number): string {
  if (!im) return '<span class="muted">missing</span>';
  const { w, h, pixelated } = displaySize(im, maxWidth);
  return `<img src="${im.dataUri}" width="${w}" height="${h}" alt="${escapeHtml(alt)}"${pixelated ? ' class="px"' : ''}>`;
}

function panelLabels(im: EmbeddedImage | undefined, maxWidth?: number): string {
  const w = im ? displaySize(im, maxWidth).w : 0;
  return `<div class="panels"${w ? ` style="width:${w}px"` : ''}><span>image</span><span>human</span><span>CAM</span></div>`;
}

// ---- footer ------------------------------------------------------------------------------

function footer(runs: Run[], options: RenderOptions): string {
  return `<footer>
<p>Run directories:</p>
<ul>${runs.map((r) => `<li><span class="swatch" style="background:${r.color}"></span><code>${escapeHtml(r.dir)}</code></li>`).join('')}</ul>
<p class="muted">Generated by ${escapeHtml(options.generator ?? 'sgt report')}. Self-contained: no scripts, no external resources.</p>
</footer>`;
}

// ---- helpers -----------------------------------------------------------------------------

function lastLines(text: string, n: number): string {
  const lines = String(text).split('\n');
  return lines.length > n ? ['…', ...lines.slice(-n)].join('\n') : text;
}

const STYLE = `
:root{color-scheme:light;--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;background:var(--soft);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1140px;margin:0 auto;padding:24px 28px 40px;background:var(--bg);min-height:100vh}
h1{font-size:24px;margin:0 0 4px;font-weight:650}
h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
.vs{color:var(--muted);font-weight:400;font-size:18px;margin:0 4px}
.sub{color:var(--muted);margin:0}
.compared{margin:8px 0 0}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}
pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:8px;border-radius:6px;overflow:auto;max-height:260px;white-space:pre-wrap}
.muted{color:var(--muted)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px;margin-top:18px}
.card{border:1px solid var(--line);border-top:4px solid;border-radius:8px;padding:10px 14px}
.card h3{margin:0;font-size:16px}
.card p{margin:4px 0}
.card .id{color:var(--muted);font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.facts{color:var(--muted)}
.notes{margin:6px 0 0;padding-left:18px}
.error{color:#b42318}
.warn{color:#8a5a00}
.badge{display:inline-block;font-size:11px;font-weight:600;padding:1px 7px;border-radius:10px;vertical-align:2px;background:#eaeef2;color:#424a53}
.badge.finished{background:#dafbe1;color:#116329}
.badge.failed{background:#ffebe9;color:#a40e26}
.badge.interrupted{background:#fff8c5;color:#7d4e00}
.badge.running{background:#ddf4ff;color:#0550ae}
.howto p{max-width:900px;margin:6px 0}
.howto p.muted{font-size:13px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600;white-space:nowrap}
tbody th{font-weight:500;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.results{min-width:50%}
.best{font-weight:700}
table.settings tr.differs td,table.settings tr.differs th{background:#fff8c5}
details{margin-top:10px}
summary{cursor:pointer;color:var(--muted)}
.legend .key{margin-right:16px;white-space:nowrap}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px 22px}
figure{margin:0}
figcaption{margin-bottom:2px}
figure svg{max-width:100%;height:auto}
table.overlays td,table.overlays th{border-bottom:1px solid var(--line);padding:6px 10px}
table.overlays tbody th{color:var(--muted);vertical-align:middle}
img{display:block;border-radius:3px}
img.px{image-rendering:pixelated}
.panels{display:flex;font-size:11px;font-weight:400;color:var(--muted);margin-top:2px}
.panels span{flex:1;text-align:center}
.overlay-runs{display:flex;flex-wrap:wrap;gap:0 32px}
footer{margin-top:36px;border-top:1px solid var(--line);padding-top:10px;font-size:13px}
footer ul{list-style:none;padding:0;margin:4px 0}
footer code{word-break:break-all}
@media print{body{background:#fff}main{padding:0}.charts{grid-template-columns:1fr 1fr}}
`;
