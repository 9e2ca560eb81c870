/**
 * Small, dependency-free SVG charts for the HTML report: line charts (curves
 * over epochs) and grouped bar charts (final metrics per run). Output is a string
 * of inline SVG — no scripts, no external resources, so it passes the report's
 * strict Content-Security-Policy and prints well.
 */
import { escapeHtml } from './html';

export interface Series {
  label: string;
  color: string;
  /** [x, y] points; non-finite values are skipped (gaps). */
  points: Array<[number, number]>;
  /** SVG stroke-dasharray. */
  dash?: string;
  /** Draw a dot at every point (per-epoch series). */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Keep this value inside the y range (e.g. 0 for losses). */
  includeY?: number[];
  /** Integer x ticks only (epochs). */
  integerX?: boolean;
  /** Values the quantity cannot pass (accuracy: [0, 1]; a loss: [0, ∞)): the axis stops there instead of padding past them. */
  yBounds?: [number, number];
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11"';
const MARGIN = { left: 52, right: 14, top: 12, bottom: 36 };

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 520;
  const height = o.height ?? 240;
  const series = o.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) })).filter((s) => s.points.length > 0);
  if (series.length === 0) return emptyChart(o.title, width, height);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...(o.includeY ?? [])];
  const xDomain = paddedDomain(Math.min(...xs), Math.max(...xs), 0);
  const [lo, hi] = o.yBounds ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const padded = paddedDomain(Math.min(...ys), Math.max(...ys), 0.05);
  const yDomain: [number, number] = [Math.max(lo, padded[0]), Math.min(hi, padded[1])];
  const xTicks = niceTicks(xDomain[0], xDomain[1], 6).filter((t) => !o.integerX || Number.isInteger(t));
  const yTicks = niceTicks(yDomain[0], yDomain[1], 5).filter((t) => t >= lo && t <= hi);
  const x0 = Math.min(xDomain[0], xTicks[0] ?? xDomain[0]);
  const x1 = Math.max(xDomain[1], xTicks.at(-1) ?? xDomain[1]);
  const y0 = Math.min(yDomain[0], yTicks[0] ?? yDomain[0]);
  const y1 = Math.max(yDomain[1], yTicks.at(-1) ?? yDomain[1]);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const sy = (y: number) => MARGIN.top + plotH - (y1 === y0 ? plotH / 2 : ((y - y0) / (y1 - y0)) * plotH);

  const parts: string[] = [];
  for (const t of yTicks) {
    const y = r(sy(t));
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end" fill="#5b6470">${formatTick(t, yTicks)}</text>`);
  }
  for (const t of xTicks) {
    const x = r(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#9aa3ad"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="#5b6470">${formatTick(t, xTicks)}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#9aa3ad"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 6}" text-anchor="middle" fill="#5b6470">${escapeHtml(o.xLabel)}</text>`);
  for (const s of series) {
    const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${r(sx(x))},${r(sy(y))}`).join('');
    const label = escapeHtml(s.label);
    parts.push(
      `<path d="${d}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="1.8" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${escapeHtml(s.dash)}"` : ''}><title>${label}</title></path>`,
    );
    if (s.markers || s.points.length === 1) {
      for (const [x, y] of s.points) {
        parts.push(`<circle cx="${r(sx(x))}" cy="${r(sy(y))}" r="3" fill="${escapeHtml(s.color)}"><title>${label}: ${formatValue(y)} at ${formatValue(x)}</title></circle>`);
      }
    }
  }
  return svg(o.title, width, height, parts.join(''));
}

export interface BarGroup {
  label: string;
  bars: Array<{ label: string; color: string; value: number | undefined }>;
}

/** Vertical bars grouped by metric, one bar per run, with the value written above each bar. */
export function barChart(title: string, groups: BarGroup[], width = 520, height = 240): string {
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return emptyChart(title, width, height);
  const ticks = niceTicks(Math.min(0, ...values), Math.max(...values, 0) || 1, 5);
  const y0 = ticks[0];
  const y1 = ticks.at(-1)!;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const sy = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];
  for (const t of ticks) {
    const y = r(sy(t));
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="${t === 0 ? '#9aa3ad' : '#e3e6ea'}"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end" fill="#5b6470">${formatTick(t, ticks)}</text>`);
  }
  const groupW = plotW / groups.length;
  groups.forEach((g, gi) => {
    const n = Math.max(1, g.bars.length);
    const barW = Math.min(36, (groupW * 0.8) / n);
    const start = MARGIN.left + gi * groupW + (groupW - barW * n) / 2;
    g.bars.forEach((b, bi) => {
      if (typeof b.value !== 'number' || !Number.isFinite(b.value)) return;
      const x = r(start + bi * barW);
      const top = r(sy(Math.max(0, b.value)));
      const h = r(Math.abs(sy(b.value) - sy(0)));
      parts.push(`<rect x="${x}" y="${top}" width="${r(barW - 2)}" height="${Math.max(h, 0.5)}" fill="${escapeHtml(b.color)}"><title>${escapeHtml(b.label)}: ${formatValue(b.value)}</title></rect>`);
      parts.push(`<text x="${r(start + bi * barW + barW / 2 - 1)}" y="${b.value >= 0 ? top - 3 : top + h + 11}" text-anchor="middle" fill="#2b3138" font-size="10">${formatValue(b.value)}</text>`);
    });
    parts.push(`<text x="${r(MARGIN.left + gi * groupW + groupW / 2)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="#2b3138">${escapeHtml(g.label)}</text>`);
  });
  return svg(title, width, height, parts.join(''));
}

function svg(title: string, width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}" ${FONT}>${body}</svg>`;
}

function emptyChart(title: string, width: number, height: number): string {
  return svg(title, width, height, `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#8a939d">no data</text>`);
}

function paddedDomain(min: number, max: number, pad: number): [number, number] {
  if (min === max) return min === 0 ? [0, 1] : [min - Math.abs(min) * 0.1, max + Math.abs(max) * 0.1];
  const p = (max - min) * pad;
  return [min - p, max + p];
}

/** Round tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(min / step + 1e-9) * step;
  const out: number[] = [];
  for (let v = first; v <= max + step * 0.5 && out.length < 50; v += step) out.push(Number(v.toPrecision(12)));
  if (out.at(-1)! < max) out.push(Number((out.at(-1)! + step).toPrecision(12)));
  return out;
}

function formatTick(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
  return v.toFixed(decimals);
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(1);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/\.?0+$/, '') || '0';
}

function r(v: number): number {
  return Math.round(v * 10) / 10;
}
