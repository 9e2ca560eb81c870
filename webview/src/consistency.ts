/// <reference lib="dom" />
/**
 * Cross-run CAM consistency in the Compare view: one line per group of compared runs that
 * share a setting and differ in seed (the host computes it: client/src/dashboard/consistency.ts).
 */
import type { DashboardConsistency } from '../../server/src/protocol';
import type { DashboardState } from './state';

/** `decoy_cyborg · seeds 1, 2, 3 · consistency 0.812 (64 images)`, or `… · consistency – (why)`. */
export function consistencyText(c: DashboardConsistency): string {
  const seeds = c.seeds.map((s) => (Number.isFinite(s) ? String(s) : '?')).join(', ');
  const head = `${c.experiments.join(', ')} · seeds ${seeds} · consistency`;
  if (c.value === undefined) return `${head} – (${c.reason ?? 'not available'})`;
  return `${head} ${c.value.toFixed(3)}${c.images !== undefined ? ` (${c.images} images)` : ''}`;
}

/** The consistency block, or undefined when no compared runs share a setting. */
export function renderConsistency(state: DashboardState): HTMLElement | undefined {
  if (state.consistency.length === 0) return undefined;
  const box = document.createElement('div');
  box.className = 'consistency';
  const title = document.createElement('p');
  title.className = 'consistency-title';
  title.textContent = 'Across seeds: how alike the runs’ CAMs are on the same images (mean pairwise Pearson correlation at the kept checkpoints; 1 = the same maps)';
  box.append(title);
  const list = document.createElement('ul');
  for (const c of state.consistency) {
    const li = document.createElement('li');
    li.textContent = consistencyText(c);
    if (c.value === undefined) li.className = 'muted';
    list.append(li);
  }
  box.append(list);
  return box;
}
