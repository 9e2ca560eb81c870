/// <reference lib="dom" />
/**
 * Dashboard webview entry (bundled to dist/webview.js + dist/webview.css, iife, browser).
 * Says `ready`, then applies the host's messages (protocol.ts ToWebview) to the state
 * with the pure reducer and re-renders at most once per animation frame. The view state
 * (sliders) is kept with setState so it survives hiding the panel and a window reload.
 */
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { DashboardViewState, FromWebview, ToWebview } from '../../server/src/protocol';
import { Charts, chartSpecs } from './charts';
import { Gallery } from './gallery';
import { renderConsistency } from './consistency';
import { renderMetricsTable } from './metrics-table';
import { initialState, reduce, setView, type DashboardState } from './state';

interface VsCodeApi {
  postMessage(msg: FromWebview): void;
  getState(): DashboardViewState | undefined;
  setState(state: DashboardViewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let state: DashboardState = initialState(vscode.getState() ?? {});

function section(title: string, id: string): HTMLElement {
  const c = document.createElement('vscode-collapsible');
  c.setAttribute('title', title);
  c.setAttribute('open', '');
  c.id = id;
  const body = document.createElement('div');
  body.className = 'section-body';
  c.append(body);
  document.getElementById('app')!.append(c);
  return body;
}

const header = document.createElement('header');
document.getElementById('app')!.append(header);
const charts = new Charts(section('Training', 'training'));
const galleryBody = section('CAM gallery', 'gallery');
const gallery = new Gallery({
  onStep: (overlayIndex) => changeView({ overlayIndex }),
  onOpacity: (camOpacity) => changeView({ camOpacity }),
});
galleryBody.append(gallery.root);
const metricsBody = section('Metrics', 'metrics');

function changeView(change: Partial<DashboardViewState>): void {
  state = setView(state, change);
  vscode.setState(state.view);
  vscode.postMessage({ type: 'setState', state: state.view });
  scheduleRender();
}

let pending = false;
function scheduleRender(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

function render(): void {
  header.replaceChildren(
    ...state.runs.map((r) => {
      const chip = document.createElement('span');
      chip.className = 'run-chip';
      const badge = document.createElement('vscode-badge');
      badge.textContent = r.status;
      chip.append(`${r.run.experiment} (${r.run.id}) `, badge);
      return chip;
    }),
  );
  charts.update(chartSpecs(state));
  gallery.render(state);
  const consistency = renderConsistency(state);
  metricsBody.replaceChildren(renderMetricsTable(state), ...(consistency ? [consistency] : []));
}

window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
  state = reduce(state, ev.data);
  if (ev.data.type === 'init') vscode.setState(state.view);
  scheduleRender();
});

vscode.postMessage({ type: 'ready' });
