/**
 * End to end, in a real VS Code (code-server): an untrusted workspace still opens the
 * example, but refuses to train (client/src/trust.ts): the CodeLens says why, the palette
 * does not offer Run Experiment, the command itself answers with an error, and no run
 * directory or daemon appears.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Editor, REPO } from './harness';

describe('e2e: an untrusted workspace', function () {
  this.timeout(300_000);
  let editor: Editor;

  before(async () => {
    editor = await Editor.start({
      name: 'untrusted',
      trusted: false,
      prepare: (ws) => fs.copyFileSync(path.join(REPO, 'examples/decoy-mnist/cyborg.sgt'), path.join(ws, 'cyborg.sgt')),
    });
  });

  afterEach(async function () {
    await editor?.captureFailure(this.currentTest);
  });

  after(async () => {
    await editor?.close();
  });

  it('refuses to train', async () => {
    const page = editor.page;
    // VS Code asks on first open; answer as a cautious user
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: /No, I don.t trust/ }).click({ timeout: 120_000 });
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor();

    await editor.openFile('cyborg.sgt');
    await page.locator('.codelens-decoration', { hasText: 'Training disabled: workspace not trusted' }).first().waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('.codelens-decoration', { hasText: '▶ Run' }).count(), 0);

    const rows = await editor.quickInputRows('>Saliency Studio:');
    assert.ok(rows.some((r) => r.includes('Open Run Dashboard')), `the palette lists the extension's commands: ${JSON.stringify(rows)}`);
    assert.ok(!rows.some((r) => r.includes('Run Experiment')), `Run Experiment is not offered: ${JSON.stringify(rows)}`);

    // the Runs view's welcome link still reaches the command: it must refuse
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Saliency Runs' }) });
    const header = pane.locator('.pane-header');
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await pane.getByRole('button', { name: 'Run Experiment' }).click();
    await editor.waitForNotification('training is disabled because this workspace is not trusted', 30_000);
    await editor.screenshot('refused');

    // requireTrust() answered before anything was created or spawned, and the language server
    // keeps its hover previews in memory: nothing at all is written into the workspace
    const sgt = path.join(editor.workspace, '.sgt');
    const written = fs.existsSync(sgt) ? fs.readdirSync(sgt, { recursive: true }).map(String) : [];
    assert.deepEqual(written, [], 'nothing written under .sgt/ (no run directory, no preview cache)');
    assert.ok(!fs.existsSync(sgt), 'no .sgt/ folder');
    assert.equal(editor.daemonPid(), undefined, 'no daemon');
  });
});
