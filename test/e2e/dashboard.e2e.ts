/**
 * End to end, in a real VS Code (code-server): the Decoy MNIST example is validated as
 * it is typed, trained from the command palette in the daemon, shown live in the
 * dashboard (metrics and CAM overlays), the dashboard comes back after a window reload
 * (the WebviewPanelSerializer in client/src/dashboard/), and Compare Runs shows the run
 * next to a second finished one.
 * Runs with `npm run test:e2e` (provisioning: test/e2e/setup.sh).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Editor, REPO, waitFor } from './harness';

const EXAMPLE = path.join(REPO, 'examples/decoy-mnist/cyborg.sgt');
/** One epoch (~25–40 s on the wasm backend) and a preview every 10 steps keep the run short. */
const EPOCHS = 1;

/** Copies the example with fewer epochs and a denser preview cadence. */
function prepareWorkspace(ws: string): void {
  const text = fs.readFileSync(EXAMPLE, 'utf8');
  const edited = text.replace(/epochs = \d+/, `epochs = ${EPOCHS}`).replace(/every = \d+ steps/, 'every = 10 steps');
  assert.notEqual(edited, text);
  assert.match(edited, new RegExp(`epochs = ${EPOCHS} `));
  assert.match(edited, /every = 10 steps/);
  fs.writeFileSync(path.join(ws, 'cyborg.sgt'), edited);
}

interface RunEventLine {
  type: string;
  split?: string;
  metrics?: Record<string, number>;
}

function events(runDir: string): RunEventLine[] {
  const file = path.join(runDir, 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as RunEventLine];
      } catch {
        return []; // a line being written
      }
    });
}

/** The dashboard's metrics table as {column header: cell text} for its one run. */
async function metricsRow(editor: Editor): Promise<Record<string, string>> {
  const table = editor.webview().locator('.metrics-table');
  const heads = await table.locator('thead th').allInnerTexts();
  const cells = await table.locator('tbody tr').first().locator('td').allInnerTexts();
  return Object.fromEntries(heads.map((h, i) => [h.trim(), (cells[i] ?? '').trim()]));
}

/** Loads the first CAM overlay panel's PNG inside the webview; returns its size. */
async function camOverlaySize(editor: Editor): Promise<{ width: number; height: number }> {
  return editor
    .webview()
    .locator('.gallery-grid .stack .panel.cam')
    .first()
    .evaluate(async (el: HTMLElement) => {
      const url = /url\("?(.*?)"?\)$/.exec(el.style.backgroundImage)?.[1];
      if (!url) throw new Error(`no background image: ${el.style.backgroundImage}`);
      const img = new Image();
      img.src = url;
      await img.decode();
      return { width: img.naturalWidth, height: img.naturalHeight };
    });
}

/** Waits until the dashboard shows the finished run: status, metrics equal to events.jsonl, an overlay. */
async function expectFinishedDashboard(editor: Editor, runDir: string): Promise<Record<string, string>> {
  const view = editor.webview();
  await view.locator('.run-chip', { hasText: path.basename(runDir) }).waitFor({ timeout: 120_000 });
  await view.locator('.metrics-table td.status-finished').waitFor({ timeout: 120_000 });
  const lastVal = events(runDir).filter((e) => e.type === 'epoch' && e.split === 'val').pop();
  assert.ok(lastVal?.metrics, 'events.jsonl has validation metrics');
  const expected = lastVal.metrics.accuracy.toPrecision(4);
  // the table catches up through the update throttle: wait for the final figures
  const row = await waitFor('the metrics table to show the final validation accuracy', async () => {
    const r = await metricsRow(editor);
    return r['val accuracy'] === expected && r;
  }, 60_000);
  assert.equal(row.Status, 'finished');
  assert.match(row.Step, /^\d+ \/ \d+$/);
  const accuracy = Number(row['val accuracy']);
  assert.ok(accuracy > 0.5 && accuracy <= 1, `one epoch learns Decoy MNIST (val accuracy ${accuracy})`);
  // at least one CAM overlay, a real image (3 panels side by side)
  await view.locator('.gallery-grid .stack .panel.cam').first().waitFor({ timeout: 60_000 });
  const size = await camOverlaySize(editor);
  assert.ok(size.width >= 3 * 28 && size.height >= 28, `overlay PNG ${size.width}×${size.height}`);
  // the charts drew their canvases
  assert.ok((await view.locator('canvas').count()) > 0, 'the training charts are drawn');
  return row;
}

/** Scrolls the dashboard so `selector` is at the top, then takes a screenshot. */
async function screenshotSection(editor: Editor, selector: string, label: string): Promise<void> {
  await editor
    .webview()
    .locator(selector)
    .first()
    .evaluate((el: HTMLElement) => el.scrollIntoView({ block: 'start' }));
  await editor.screenshot(label);
}

describe('e2e: the Decoy MNIST example in VS Code (trusted workspace)', function () {
  this.timeout(600_000);
  let editor: Editor;
  let runDir = '';

  before(async () => {
    editor = await Editor.start({ name: 'trusted', trusted: true, prepare: prepareWorkspace });
  });

  afterEach(async function () {
    await editor?.captureFailure(this.currentTest);
  });

  after(async () => {
    await editor?.close();
  });

  it('shows a diagnostic for an error typed into the example', async () => {
    await editor.openFile('cyborg.sgt');
    // the extension is active once its CodeLens is drawn
    await editor.page.locator('.codelens-decoration', { hasText: '▶ Run' }).first().waitFor({ timeout: 120_000 });
    assert.equal(await editor.page.locator('.monaco-editor .squiggly-error').count(), 0, 'the example starts clean');

    // turn `extends decoy_ce {` into `extends decoy_cee {` by typing one key
    const lines = fs.readFileSync(path.join(editor.workspace, 'cyborg.sgt'), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('extends decoy_ce {'));
    assert.ok(line >= 0);
    const column = lines[line].indexOf('decoy_ce {') + 'decoy_ce'.length + 1;
    await editor.goToLine(line + 1, column);
    await editor.page.keyboard.type('e');

    await editor.page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 60_000 });
    await editor.page.keyboard.press('Control+Shift+M');
    await editor.page.locator('.markers-panel .monaco-list-row', { hasText: "No experiment named 'decoy_cee'" }).first().waitFor({ timeout: 30_000 });
    await editor.screenshot('diagnostic');

    // delete the typed key again: the squiggles go away
    await editor.goToLine(line + 1, column + 1);
    await editor.page.keyboard.press('Backspace');
    await waitFor('the squiggles to go', async () => (await editor.page.locator('.monaco-editor .squiggly-error').count()) === 0, 60_000);
    await editor.page.locator('.markers-panel .monaco-list-row').first().waitFor({ state: 'detached', timeout: 30_000 });
    await editor.command('View: Hide Panel');
  });

  it('runs decoy_ce from the command palette and fills the dashboard with metrics and CAM overlays', async () => {
    // cursor on the file's first line (a comment): the command asks which experiment
    await editor.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await editor.page.keyboard.press('Control+Home');
    await editor.command('Saliency Studio: Run Experiment');
    await editor.page.locator('.quick-input-widget input[placeholder="Which experiment?"]').waitFor();
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: /^\s*decoy_ce\s*$/ }).click();

    const runs = path.join(editor.workspace, '.sgt/runs');
    runDir = await waitFor('the run directory', () => {
      const name = fs.existsSync(runs) && fs.readdirSync(runs).find((d) => d.startsWith('decoy_ce-'));
      return name ? path.join(runs, name) : undefined;
    }, 60_000);
    await waitFor('the engine to start', () => events(runDir).some((e) => e.type === 'started'), 120_000);
    assert.ok(editor.daemonPid(), 'the run trains in the daemon (its pid file exists)');

    // open the dashboard while it trains: it follows the run live
    await editor.command('Saliency Studio: Open Run Dashboard');
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(runDir) }).first().click();
    await editor.webview().locator('.run-chip', { hasText: path.basename(runDir) }).waitFor({ timeout: 120_000 });
    await editor.webview().locator('.gallery-grid .stack .panel.cam').first().waitFor({ timeout: 240_000 });
    await editor.screenshot('dashboard-training');

    await waitFor('the run to finish', () => events(runDir).some((e) => e.type === 'finished' || e.type === 'failed'), 480_000, 1000);
    assert.ok(events(runDir).some((e) => e.type === 'finished'), `the run finished (events: ${events(runDir).map((e) => e.type).join(', ')})`);
    await expectFinishedDashboard(editor, runDir);
    // the editor announces the end (status.ts), then the toast goes so it hides nothing
    await editor.waitForNotification(/decoy_ce .*finished/);
    await editor.command('Notifications: Clear All Notifications');
    await editor.notification(/decoy_ce .*finished/).waitFor({ state: 'detached' });
    await editor.screenshot('dashboard-finished');
    await screenshotSection(editor, '#gallery', 'dashboard-finished-gallery');
    await screenshotSection(editor, '.metrics-table', 'dashboard-finished-metrics');
  });

  it('restores the dashboard after a window reload', async function () {
    if (!runDir) this.skip();
    await editor.reloadWindow();
    await editor.page.locator('.tabs-container .tab.active', { hasText: path.basename(runDir) }).waitFor({ timeout: 120_000 });
    await expectFinishedDashboard(editor, runDir);
    await editor.screenshot('dashboard-restored');
    await screenshotSection(editor, '#gallery', 'dashboard-restored-gallery');
  });

  it('compares two runs picked in the Compare Runs quick pick', async function () {
    if (!runDir) this.skip();
    // a second finished run: the trained one copied under another id (the dashboard and the
    // picker name runs by their folder)
    const secondDir = runDir.replace(/-[0-9a-f]{4}$/, (m) => (m === '-beef' ? '-cafe' : '-beef'));
    fs.cpSync(runDir, secondDir, { recursive: true });
    const ids = [path.basename(runDir), path.basename(secondDir)];
    // close the single-run dashboard so the compare panel is the only webview
    await editor.command('View: Close All Editors');
    await editor.page.locator('iframe.webview').first().waitFor({ state: 'detached', timeout: 30_000 });

    await editor.command('Saliency Studio: Compare Runs');
    await editor.page.locator('.quick-input-widget input[placeholder="Select two or more runs"]').waitFor();
    for (const id of ids) await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: id }).click();
    // both checked: VS Code counts the selection, then accepts it with Enter
    await editor.page.locator('.quick-input-widget .quick-input-count', { hasText: '2 Selected' }).waitFor({ timeout: 15_000 });
    await editor.screenshot('compare-pick');
    await editor.page.keyboard.press('Enter');

    const view = editor.webview();
    for (const id of ids) await view.locator('.run-chip', { hasText: id }).waitFor({ timeout: 120_000 });
    // the metrics table: one row per run, both finished with the same (copied) figures
    const rows = view.locator('.metrics-table tbody tr');
    await waitFor('the metrics table to list both runs as finished', async () => (await view.locator('.metrics-table td.status-finished').count()) === 2, 60_000);
    assert.equal(await rows.count(), 2);
    const firstCells = await rows.locator('td:first-child').allInnerTexts();
    assert.deepEqual(firstCells.map((t) => t.trim()).sort(), [...ids].sort());
    const heads = (await view.locator('.metrics-table thead th').allInnerTexts()).map((h) => h.trim());
    const accCol = heads.indexOf('val accuracy');
    assert.ok(accCol > 0, `a val accuracy column: ${JSON.stringify(heads)}`);
    const accs = await rows.locator(`td:nth-child(${accCol + 1})`).allInnerTexts();
    const lastVal = events(runDir).filter((e) => e.type === 'epoch' && e.split === 'val').pop();
    assert.deepEqual(accs.map((a) => a.trim()), [lastVal!.metrics!.accuracy.toPrecision(4), lastVal!.metrics!.accuracy.toPrecision(4)]);
    // the charts: a legend entry per run (the copy's curves lie on the original's)
    const legend = (await view.locator('.u-legend').allInnerTexts()).join('\n');
    for (const id of ids) assert.ok(legend.includes(`${id} · loss`), `the loss chart's legend names ${id}: ${legend.slice(0, 400)}`);
    // the gallery: a column group per run, and CAM overlays under both
    const runHeads = view.locator('.gallery-grid .run-head');
    await waitFor('the gallery to head a column group per run', async () => (await runHeads.count()) === 2, 60_000);
    const headTexts = await runHeads.allInnerTexts();
    for (const id of ids) assert.ok(headTexts.some((t) => t.includes(id)), `gallery heads ${JSON.stringify(headTexts)} name ${id}`);
    const firstRowCams = view.locator('.gallery-grid tbody tr').first().locator('.stack .panel.cam');
    await waitFor('a CAM overlay for each run in the first sample row', async () => (await firstRowCams.count()) === 2, 60_000);
    const urls = await firstRowCams.evaluateAll((els) => els.map((el) => (el as HTMLElement).style.backgroundImage));
    // each overlay is read from its own run's folder, in the order of the column heads
    headTexts.forEach((head, i) => {
      const id = ids.find((d) => head.includes(d))!;
      assert.ok(urls[i].includes(encodeURIComponent(id)) || urls[i].includes(id), `overlay ${i} comes from ${id}: ${urls[i]}`);
    });
    await editor.screenshot('compare');
    await screenshotSection(editor, '#gallery', 'compare-gallery');
    await screenshotSection(editor, '.metrics-table', 'compare-metrics');
  });
});
