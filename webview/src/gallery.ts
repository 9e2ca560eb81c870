/// <reference lib="dom" />
/**
 * The CAM gallery: samples × (image, human map, model CAM overlay), one group of columns
 * per run. Each overlay PNG holds the three panels side by side (written by the engine),
 * so a cell shows one third of it via background-position: no re-encoding, no base64.
 * The opacity slider fades the engine's CAM overlay panel over the plain image panel.
 */
import { CAM_COLORMAP, colormapCssGradient } from '../../server/src/runs/colormap';
import { overlayAt, overlaySteps, selectedOverlayStep, type DashboardState } from './state';

const PANELS = ['Image', 'Human map', 'Model CAM'] as const;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A cell showing panel `index` (0, 1, 2) of a 3-panel PNG. */
function panel(uri: string, index: number): HTMLElement {
  const d = el('div', 'panel');
  d.style.backgroundImage = `url("${uri.replace(/"/g, '%22')}")`;
  d.style.backgroundPosition = `${index * 50}% 0`;
  return d;
}

export interface GalleryHandlers {
  onStep(index: number): void;
  onOpacity(opacity: number): void;
}

/** The gallery's controls; built once so dragging a slider never loses focus to a re-render. */
export class Gallery {
  readonly root = el('div', 'gallery');
  private readonly stepInput = el('input');
  private readonly stepLabel = el('span', 'slider-value');
  private readonly opacityInput = el('input');
  private readonly opacityLabel = el('span', 'slider-value');
  private readonly grid = el('div', 'gallery-grid');
  private signature = '';

  constructor(handlers: GalleryHandlers) {
    const controls = el('div', 'gallery-controls');
    this.stepInput.type = 'range';
    this.stepInput.min = '0';
    this.stepInput.id = 'overlay-step';
    this.stepInput.addEventListener('input', () => {
      const i = Number(this.stepInput.value);
      // the last position follows the newest overlay while the run trains
      handlers.onStep(i >= Number(this.stepInput.max) ? -1 : i);
    });
    this.opacityInput.type = 'range';
    this.opacityInput.min = '0';
    this.opacityInput.max = '100';
    this.opacityInput.id = 'cam-opacity';
    this.opacityInput.addEventListener('input', () => handlers.onOpacity(Number(this.opacityInput.value) / 100));
    const stepLabel = el('label', undefined, 'Step ');
    stepLabel.htmlFor = 'overlay-step';
    const opacityLabel = el('label', undefined, 'CAM overlay opacity ');
    opacityLabel.htmlFor = 'cam-opacity';
    const legend = el('div', 'legend');
    const bar = el('div', 'legend-bar');
    bar.style.backgroundImage = colormapCssGradient();
    legend.append(el('span', undefined, 'low'), bar, el('span', undefined, `high CAM (${CAM_COLORMAP.name})`));
    const stepBox = el('div', 'control');
    stepBox.append(stepLabel, this.stepInput, this.stepLabel);
    const opacityBox = el('div', 'control');
    opacityBox.append(opacityLabel, this.opacityInput, this.opacityLabel);
    controls.append(stepBox, opacityBox, legend);
    this.root.append(controls, this.grid);
  }

  render(state: DashboardState): void {
    const steps = overlaySteps(state);
    const step = selectedOverlayStep(state);
    const index = step === undefined ? 0 : steps.indexOf(step);
    this.stepInput.max = String(Math.max(0, steps.length - 1));
    this.stepInput.value = String(index);
    this.stepInput.disabled = steps.length < 2;
    const epoch = state.runs.map((r) => (step === undefined ? undefined : overlayAt(r, step))).find((o) => o)?.epoch;
    this.stepLabel.textContent =
      step === undefined ? 'no previews yet' : `${step} (epoch ${epoch ?? '?'})${state.view.overlayIndex < 0 ? ' · latest' : ''}`;
    this.opacityInput.value = String(Math.round(state.view.camOpacity * 100));
    this.opacityLabel.textContent = `${Math.round(state.view.camOpacity * 100)}%`;

    const shown = state.runs.map((r) => (step === undefined ? undefined : overlayAt(r, step)));
    // steps arrive several times a second while training: rebuild the images only when they change
    const signature = JSON.stringify([shown, state.runs.map((r) => r.run.id), state.view.camOpacity]);
    if (signature === this.signature) return;
    this.signature = signature;
    const samples = Math.max(0, ...shown.map((o) => o?.uris.length ?? 0));
    const table = el('table', 'gallery-table');
    const head = el('thead');
    const runRow = el('tr');
    const panelRow = el('tr');
    runRow.append(el('th'));
    panelRow.append(el('th', undefined, 'Sample'));
    state.runs.forEach((r, i) => {
      const th = el('th', 'run-head', shown[i] ? `${r.run.id} · step ${shown[i]!.step}` : r.run.id);
      th.colSpan = PANELS.length;
      runRow.append(th);
      for (const p of PANELS) panelRow.append(el('th', undefined, p));
    });
    head.append(runRow, panelRow);
    const body = el('tbody');
    for (let s = 0; s < samples; s++) {
      const tr = el('tr');
      tr.append(el('th', undefined, String(s + 1)));
      shown.forEach((o) => {
        const uri = o?.uris[s];
        if (!uri) {
          for (let k = 0; k < PANELS.length; k++) tr.append(el('td'));
          return;
        }
        for (const k of [0, 1]) {
          const td = el('td');
          td.append(panel(uri, k));
          tr.append(td);
        }
        // the CAM overlay panel faded over the image panel
        const td = el('td');
        const stack = el('div', 'stack');
        const cam = panel(uri, 2);
        cam.classList.add('cam');
        cam.style.opacity = String(state.view.camOpacity);
        stack.append(panel(uri, 0), cam);
        td.append(stack);
        tr.append(td);
      });
      body.append(tr);
    }
    table.append(head, body);
    this.grid.replaceChildren(samples ? table : el('p', 'empty', 'No CAM previews yet: they appear every `preview.every` steps while the run trains.'));
  }
}
