/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Renders the real dashboard bundle in headless Chromium under the production CSP:
 * a harness page built by dashboardHtml() with a fake `acquireVsCodeApi`, fed the
 * messages the panel host would send for a fixture run (read with RunTail). Asserts
 * the charts, the CAM gallery (PNGs served as files), the sliders and that nothing
 * violates the Content-Security-Policy. Saves a screenshot to /tmp/dashboard-render.png.
 * Skips when /usr/bin/chromium is absent.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { PNG } from 'pngjs';
import { dashboardHtml, makeNonce } from '../../client/src/dashboard/html';
import { RunTail } from '../../client/src/dashboard/run-tail';
import type { DashboardOverlay, RunEvent, ToWebview } from '../../server/src/protocol';
import { colormap } from '../../server/src/runs/colormap';
import type { OverlayIndexEntry } from '../../server/src/runs/run-dir';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.join(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'dashboard-run');
export const SCREENSHOT = '/tmp/dashboard-render.png';

/** Moves a range input like a user would (as source text: tsx's helpers do not exist in the page). */
const SET_INPUT = (id: string, value: string) =>
  `(() => { const i = document.getElementById(${JSON.stringify(id)}); i.value = ${value === 'max' ? 'i.max' : JSON.stringify(value)}; i.dispatchEvent(new Event('input')); })()`;

/** An overlay PNG as engines write it: image | human map | CAM over the image, 28 px panels. */
function overlayPng(seed: number): Buffer {
  const n = 28;
  const png = new PNG({ width: 3 * n, height: n });
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const digit = Math.abs(Math.hypot(x - 14, y - 14) - 7) < 2 ? 230 : 20; // a ring, like a 0
      const decoy = x < 5 && y < 5 ? 255 : 0; // a decoy patch in the corner
      const image = Math.max(digit, decoy);
      const human = Math.exp(-((x - 14) ** 2 + (y - 14) ** 2) / 60);
      const cam = Math.exp(-((x - 14 - seed * 3) ** 2 + (y - 12) ** 2) / 50);
      const [r, g, b] = colormap(cam);
      const put = (px: number, rgb: number[]) => {
        const i = (y * 3 * n + px) * 4;
        png.data[i] = rgb[0];
        png.data[i + 1] = rgb[1];
        png.data[i + 2] = rgb[2];
        png.data[i + 3] = 255;
      };
      put(x, [image, image, image]);
      put(n + x, [human * 255, human * 255, human * 255]);
      put(2 * n + x, [0.5 * image + 0.5 * r, 0.5 * image + 0.5 * g, 0.5 * image + 0.5 * b]);
    }
  }
  return PNG.sync.write(png);
}

/** Copies the fixture run into a runs folder under a new id, scaling its losses, and writes its PNGs. */
function makeRun(runsDir: string, id: string, lossScale: number): string {
  const dir = path.join(runsDir, id);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  const lines = fs
    .readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent)
    .map((e) => (e.type === 'step' ? { ...e, loss: e.loss * lossScale, ce: e.ce * lossScale } : e.type === 'started' ? { ...e, run: id } : e));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'overlays', 'index.json'), 'utf8')) as OverlayIndexEntry[];
  index.forEach((entry, k) =>
    entry.files.forEach((f, s) => {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), overlayPng(k + s + (lossScale > 1 ? 1 : 0)));
    }),
  );
  return dir;
}

/** What the panel host posts for these runs: init, then each run's history read by RunTail. */
function hostMessages(runDirs: string[], origin: string, runsDir: string): ToWebview[] {
  const msgs: ToWebview[] = [{ type: 'init', runs: runDirs.map((d) => ({ runDir: d, id: path.basename(d), experiment: path.basename(d).split('-')[0] })) }];
  for (const dir of runDirs) {
    const tail = new RunTail(dir, {
      onEvents: (events) => msgs.push({ type: 'events', runDir: dir, events }),
      onOverlays: (entries) =>
        msgs.push({
          type: 'overlays',
          runDir: dir,
          entries: entries.map((e): DashboardOverlay => ({ epoch: e.epoch, step: e.step, uris: e.files.map((f) => `${origin}/runs/${path.relative(runsDir, path.join(dir, f))}`) })),
        }),
    });
    tail.check(true);
    tail.dispose();
  }
  return msgs;
}

describe('dashboard webview render (headless Chromium)', function () {
  this.timeout(60000);
  let tmp: string;
  let server: http.Server;

  before(function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.warn(`    skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
      this.skip();
    }
  });

  after(() => {
    server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the charts, the CAM gallery of two runs, working sliders, and no CSP violation', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-dashboard-'));
    const runsDir = path.join(tmp, 'runs');
    const runDirs = [makeRun(runsDir, 'decoy_ce-20260101-000000-aaaa', 1.6), makeRun(runsDir, 'decoy_cyborg-20260101-000100-bbbb', 1)];
    const distDir = path.join(tmp, 'dist');
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'webview', 'src', 'main.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      outfile: path.join(distDir, 'webview.js'),
      logLevel: 'silent',
    });

    const nonce = makeNonce();
    let html = '';
    server = http.createServer((req, res) => {
      const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = url.startsWith('/dist/') ? path.join(distDir, url.slice(6)) : url.startsWith('/runs/') ? path.join(runsDir, url.slice(6)) : undefined;
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      } else if (file && fs.existsSync(file)) {
        const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'image/png';
        res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const messages = hostMessages(runDirs, origin, runsDir);
    // the fake VS Code API: records what the webview posts and answers `ready` like the panel host
    const fakeApi = `<script nonce="${nonce}">
      window.__posted = []; window.__violations = [];
      // a few of the theme variables VS Code defines in every webview (Dark Modern)
      for (const [k, v] of Object.entries({ '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1f1f1f', '--vscode-descriptionForeground': '#9d9d9d',
        '--vscode-font-family': 'system-ui, sans-serif', '--vscode-font-size': '13px', '--vscode-focusBorder': '#0078d4', '--vscode-editorWidget-border': '#454545',
        '--vscode-badge-background': '#616161', '--vscode-badge-foreground': '#f8f8f8', '--vscode-errorForeground': '#f85149' })) document.documentElement.style.setProperty(k, v);
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
      const messages = ${JSON.stringify(messages).replace(/</g, '\\u003c')};
      let saved;
      window.acquireVsCodeApi = () => ({
        postMessage(m) { window.__posted.push(m); if (m.type === 'ready') for (const msg of messages) window.postMessage(msg, '*'); },
        getState() { return saved; },
        setState(s) { saved = s; window.__saved = s; },
      });
    </script>`;
    html = dashboardHtml({ cspSource: origin, nonce, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/dist/webview.css` }).replace('<script nonce', `${fakeApi}\n<script nonce`);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
      const consoleErrors: string[] = [];
      // (a browser asks for /favicon.ico by itself; a webview does not)
      page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && consoleErrors.push(`${m.text()} ${m.location().url}`));
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      const pngStatus: number[] = [];
      page.on('response', (r) => r.url().endsWith('.png') && pngStatus.push(r.status()));
      await page.goto(origin + '/');
      await page.waitForFunction(() => document.querySelectorAll('.gallery-table .panel').length > 0, undefined, { timeout: 15000 });
      // let the PNGs load (background images) before counting responses
      await page.waitForLoadState('networkidle');

      const dom = await page.evaluate(() => ({
        posted: (window as unknown as { __posted: { type: string }[] }).__posted.map((m) => m.type),
        charts: [...document.querySelectorAll('.chart')].map((c) => ({ id: (c as HTMLElement).dataset.chart, canvases: c.querySelectorAll('canvas').length, legend: [...c.querySelectorAll('.u-legend .u-series .u-label')].map((e) => e.textContent ?? '') })),
        sampleRows: document.querySelectorAll('.gallery-table tbody tr').length,
        panels: document.querySelectorAll('.gallery-table .panel').length,
        runHeads: [...document.querySelectorAll('.gallery-table .run-head')].map((e) => e.textContent),
        stepLabel: document.querySelector('.gallery-controls .slider-value')?.textContent,
        metricsRows: document.querySelectorAll('.metrics-table tbody tr').length,
        metricsHead: [...document.querySelectorAll('.metrics-table th')].map((e) => e.textContent),
        legend: document.querySelector('.legend-bar') ? getComputedStyle(document.querySelector('.legend-bar')!).backgroundImage : '',
      }));
      assert.equal(dom.posted[0], 'ready', 'the webview says ready first');
      assert.deepEqual(dom.charts.map((c) => c.id), ['loss', 'accuracy', 'saliency']);
      for (const c of dom.charts) assert.ok(c.canvases >= 1, `${c.id} has a canvas`);
      const lossSeries = dom.charts[0].legend.filter((l) => l.includes(' · '));
      assert.equal(lossSeries.length, 2 * 3, `loss chart: (loss, classification, guidance) per run: ${dom.charts[0].legend}`);
      assert.ok(lossSeries.includes('decoy_cyborg-20260101-000100-bbbb · guidance'));
      assert.equal(dom.sampleRows, 2, 'two preview samples');
      assert.equal(dom.panels, 2 * 2 * 4, 'image, human map, and image + CAM per sample and run');
      assert.equal(dom.runHeads.length, 2);
      assert.match(dom.stepLabel ?? '', /^40 \(epoch 2\)/);
      assert.equal(dom.metricsRows, 2);
      assert.ok(dom.metricsHead.includes('val saliency_corr'));
      assert.match(dom.legend, /linear-gradient/);
      assert.ok(pngStatus.length > 0 && pngStatus.every((s) => s === 200), `PNG responses ${pngStatus}`);

      // the step slider goes back to epoch 1; the opacity slider fades the CAM panel
      await page.evaluate(SET_INPUT('overlay-step', '0'));
      await page.evaluate(SET_INPUT('cam-opacity', '25'));
      await page.waitForFunction(() => /^20 /.test(document.querySelector('.gallery-controls .slider-value')?.textContent ?? '') && document.querySelector<HTMLElement>('.panel.cam')?.style.opacity === '0.25');
      const after = await page.evaluate(() => ({
        stepLabel: document.querySelector('.gallery-controls .slider-value')?.textContent,
        camOpacity: [...document.querySelectorAll<HTMLElement>('.panel.cam')].map((e) => e.style.opacity),
        saved: (window as unknown as { __saved: { overlayIndex: number; camOpacity: number } }).__saved,
        posted: (window as unknown as { __posted: { type: string }[] }).__posted.map((m) => m.type),
        violations: (window as unknown as { __violations: string[] }).__violations,
      }));
      assert.match(after.stepLabel ?? '', /^20 \(epoch 1\)/);
      assert.ok(after.camOpacity.length === 4 && after.camOpacity.every((o) => o === '0.25'), String(after.camOpacity));
      assert.equal(after.saved.overlayIndex, 0);
      assert.equal(after.saved.camOpacity, 0.25);
      assert.ok(after.posted.includes('setState'));
      // a live batch while training: a new step and an ending arrive after the first render
      const live: ToWebview = {
        type: 'batch',
        messages: [{ type: 'events', runDir: runDirs[1], events: [{ time: 't', type: 'step', epoch: 2, step: 41, loss: 0.3, ce: 0.2, guidance: 0.1, accuracy: 0.97, lr: 0.001, imagesPerSecond: 900 }, { time: 't', type: 'failed', error: 'engine died' }] }],
      };
      await page.evaluate(`window.postMessage(${JSON.stringify(live)}, '*')`);
      await page.waitForFunction(() => document.querySelector('.metrics-table')?.textContent?.includes('engine died'));
      const row = await page.evaluate(() => [...document.querySelectorAll('.metrics-table tbody tr')][1].textContent ?? '');
      assert.match(row, /failed: engine died/);
      assert.match(row, /41 \/ 40/);
      // Compare view: the host's consistency of runs of one setting shows under the metrics table
      const consistency: ToWebview = { type: 'consistency', groups: [{ runDirs, experiments: ['decoy_cyborg'], seeds: [1, 2], value: 0.8123, images: 64 }] };
      await page.evaluate(`window.postMessage(${JSON.stringify(consistency)}, '*')`);
      await page.waitForFunction(() => document.querySelector('.consistency li') !== null);
      assert.equal(await page.evaluate(() => document.querySelector('.consistency li')?.textContent), 'decoy_cyborg · seeds 1, 2 · consistency 0.812 (64 images)');
      // back to the latest for the screenshot
      await page.evaluate(SET_INPUT('overlay-step', 'max'));
      await page.evaluate(SET_INPUT('cam-opacity', '60'));
      await page.waitForTimeout(200);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.deepEqual(after.violations, [], 'no Content-Security-Policy violation');
      assert.deepEqual(consoleErrors, []);
    } finally {
      await browser.close();
    }
  });
});
