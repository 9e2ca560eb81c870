/**
 * The end-to-end harness: a real VS Code (code-server 4.100.3 from test/e2e/node_modules,
 * installed by test/e2e/setup.sh) with the extension installed from its .vsix (`npm run
 * package`, built once per suite run), driven by Debian's chromium through playwright-core. Each `Editor` lives in its own temp folder
 * (workspace, HOME, TMPDIR, user data, extensions dir, SGT_DAEMON_DIR, browser profile)
 * and `close()` leaves no process behind: the code-server process group, then every
 * process that still carries this editor's marker in its environment (the training
 * daemon and its engines start detached, in their own groups).
 *
 * Waits are on real conditions (selectors, files) with generous limits: CI machines are
 * 2-core and slow. Selectors are VS Code 1.100's DOM (the code-server version is pinned).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const REPO = path.resolve(__dirname, '../..');
const CODE_SERVER = path.join(__dirname, 'node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.SGT_E2E_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots (and logs of failed tests) land here; git-ignored. */
export const ARTIFACTS = path.resolve(process.env.SGT_E2E_ARTIFACTS ?? path.join(__dirname, '.artifacts'));
const MANIFEST = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; publisher: string; version: string };
/** Where `npm run package` (vsce) writes the extension, and the folder code-server installs it as. */
export const VSIX = path.join(REPO, `${MANIFEST.name}-${MANIFEST.version}.vsix`);
const EXTENSION_ID = `${MANIFEST.publisher}.${MANIFEST.name}`;
/** The environment variable that marks every process an editor starts (see `close`). */
const MARKER = 'SGT_E2E_SESSION';

export interface EditorOptions {
  /** Short name: temp folder prefix and screenshot prefix. */
  name: string;
  /** Adds `--disable-workspace-trust` (for tests that are not about trust). */
  trusted: boolean;
  /** Fills the workspace folder before the editor opens it. */
  prepare?: (workspace: string) => void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(intervalMs);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Newest modification time of any file under `dir` (ms). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

let packaged: string | undefined;

/**
 * The packaged extension the editors install, built once per suite run: a .vsix newer than
 * everything in dist/ is reused, anything else is rebuilt with `npm run package` (which
 * rebuilds dist/ itself). There is no fallback: a failed packaging fails the test with
 * vsce's output, so the suite always proves what a user would install.
 */
export function packagedExtension(): string {
  if (packaged) return packaged;
  const dist = path.join(REPO, 'dist');
  const fresh = fs.existsSync(VSIX) && fs.existsSync(dist) && fs.statSync(VSIX).mtimeMs > newestMtime(dist);
  if (!fresh) {
    const started = Date.now();
    const r = spawnSync('npm', ['run', 'package'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    if (r.error || r.status !== 0) throw new Error(`npm run package failed (${r.error ? String(r.error) : `exit ${r.status}`}):\n${output}`);
    if (!fs.existsSync(VSIX) || fs.statSync(VSIX).mtimeMs < started - 1000) throw new Error(`npm run package did not write ${VSIX}:\n${output}`);
  }
  packaged = VSIX;
  return packaged;
}

export class Editor {
  private shots = 0;
  private constructor(
    readonly name: string,
    readonly root: string,
    readonly workspace: string,
    readonly daemonDir: string,
    readonly url: string,
    private readonly server: ChildProcess,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Starts code-server on a free port and opens the workspace in chromium. */
  static async start(options: EditorOptions): Promise<Editor> {
    if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server is not installed: run bash test/e2e/setup.sh (looked for ${CODE_SERVER})`);
    // the extension a user installs: the .vsix (built before any temp folder exists)
    const vsix = packagedExtension();
    // this editor's screenshots and logs of an earlier run would be mistaken for this run's
    if (fs.existsSync(ARTIFACTS)) for (const f of fs.readdirSync(ARTIFACTS)) if (f.startsWith(`${options.name}-`)) fs.rmSync(path.join(ARTIFACTS, f), { force: true });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `sgt-e2e-${options.name}-`));
    const dir = (name: string) => {
      const d = path.join(root, name);
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      return d;
    };
    const workspace = dir('ws');
    options.prepare?.(workspace);
    const extensions = dir('extensions');
    // a fresh profile: no welcome page or walkthrough taking the editor area or the focus
    const userSettings = path.join(root, 'user-data/User/settings.json');
    fs.mkdirSync(path.dirname(userSettings), { recursive: true });
    fs.writeFileSync(
      userSettings,
      JSON.stringify({
        'workbench.startupEditor': 'none',
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'workbench.tips.enabled': false,
        'extensions.autoCheckUpdates': false,
        'extensions.ignoreRecommendations': true,
        'telemetry.telemetryLevel': 'off',
      }),
    );
    const daemonDir = path.join(root, 'daemon');
    const env = {
      ...process.env,
      HOME: dir('home'),
      TMPDIR: dir('tmp'),
      SGT_DAEMON_DIR: daemonDir,
      [MARKER]: root,
      // no marketplace: nothing to reach offline
      EXTENSIONS_GALLERY: '{"serviceUrl":"http://127.0.0.1:9/none"}',
    };
    installExtension(vsix, extensions, dir('user-data'), env);
    const port = await freePort();
    const args = [
      CODE_SERVER,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--user-data-dir', dir('user-data'),
      '--extensions-dir', extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      ...(options.trusted ? ['--disable-workspace-trust'] : []),
      workspace,
    ];
    const log = fs.openSync(path.join(root, 'code-server.log'), 'a');
    const server = spawn(process.execPath, args, {
      // its own process group, killed as a whole in close() (a file watcher outlives its parent)
      detached: true,
      stdio: ['ignore', log, log],
      env,
    });
    fs.closeSync(log);
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    let context: BrowserContext | undefined;
    try {
      await waitFor('code-server /healthz', async () => server.exitCode === null && (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);
      context = await chromium.launchPersistentContext(dir('profile'), {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1400, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(60_000);
      const editor = new Editor(options.name, root, workspace, daemonDir, url, server, context, page);
      await page.goto(url);
      await editor.waitForWorkbench();
      return editor;
    } catch (e) {
      await context?.close().catch(() => undefined);
      killTree(server, root);
      throw e;
    }
  }

  /** The workbench is up when the explorer lists the workspace. */
  async waitForWorkbench(): Promise<void> {
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 120_000 });
  }

  /** Saves a full-page screenshot as ARTIFACTS/<name>-<n>-<label>.png and returns its path. */
  async screenshot(label: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${this.name}-${String(++this.shots).padStart(2, '0')}-${label}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Opens a file of the workspace from the explorer and waits for its editor. */
  async openFile(name: string): Promise<void> {
    await this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().click();
    await this.page.locator(`.tabs-container .tab.active`, { hasText: name }).waitFor();
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
  }

  /**
   * Opens the quick input with `prefix` + `text` (F1's `>` for commands) and picks the row
   * whose label matches `row`. Typing into a quick input that is still opening can lose
   * keys, so it retries: the text is filled, then the row awaited, a few times.
   */
  async quickPick(text: string, row: RegExp | string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input');
    const match = this.page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
    let last: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        if (!(await input.isVisible())) await this.page.keyboard.press('F1');
        await input.waitFor({ state: 'visible', timeout: 15_000 });
        await input.fill(text);
        await match.waitFor({ state: 'visible', timeout: 15_000 });
        await match.click();
        return;
      } catch (e) {
        last = e;
        await this.page.keyboard.press('Escape').catch(() => undefined);
      }
    }
    throw new Error(`quick input: no row ${String(row)} for ${JSON.stringify(text)}: ${String(last)}`);
  }

  /** Runs a palette command by its title ("Saliency Studio: Run Experiment"). */
  async command(title: string): Promise<void> {
    const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await this.quickPick(`>${title}`, new RegExp(`^${escaped}`));
  }

  /** Rows of the quick input list for `text`, after it settles (for "is not offered"). */
  async quickInputRows(text: string): Promise<string[]> {
    const input = this.page.locator('.quick-input-widget input.input');
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(text);
    // the list renders synchronously for commands; give it a few frames, then read it
    await this.page.locator('.quick-input-list').waitFor({ state: 'attached' });
    await sleep(500);
    const rows = await this.page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    await this.page.keyboard.press('Escape');
    return rows;
  }

  /** Moves the cursor to line:column (1-based) with the quick input's `:` provider. */
  async goToLine(line: number, column: number): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input');
    for (let attempt = 0; ; attempt++) {
      await this.page.keyboard.press('F1');
      await input.waitFor({ state: 'visible' });
      await input.fill(`:${line}:${column}`);
      // the go-to-line provider shows "Go to line L, character C" once it parsed the text
      const ok = await this.page
        .locator('.quick-input-widget', { hasText: `line ${line}` })
        .waitFor({ timeout: 10_000 })
        .then(() => true, () => false);
      if (ok) {
        await this.page.keyboard.press('Enter');
        await this.page.locator('.editor-instance .monaco-editor.focused').first().waitFor({ timeout: 10_000 });
        return;
      }
      await this.page.keyboard.press('Escape');
      if (attempt >= 3) throw new Error(`could not go to ${line}:${column}`);
    }
  }

  /** The toast notification whose text matches. */
  notification(text: RegExp | string): Locator {
    return this.page.locator('.notifications-toasts .notification-toast', { hasText: text });
  }

  /** Waits for a toast whose text matches to be shown and (for screenshots) done sliding in. */
  async waitForNotification(text: RegExp | string, timeoutMs = 60_000): Promise<void> {
    const toast = this.notification(text).first();
    await toast.waitFor({ timeout: timeoutMs });
    // VS Code marks the end of the slide-in transition; without transitions it never comes
    await this.page
      .locator('.notifications-toasts .notification-toast.notification-fade-in-done', { hasText: text })
      .first()
      .waitFor({ timeout: 5_000 })
      .catch(() => undefined);
  }

  /** The active webview's content document (a webview is two iframes deep). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
  }

  /** Reloads the window with VS Code's own command and waits for the workbench again. */
  async reloadWindow(): Promise<void> {
    const navigated = this.page.waitForEvent('framenavigated', { predicate: (f) => f === this.page.mainFrame(), timeout: 60_000 });
    await this.command('Developer: Reload Window');
    await navigated;
    await this.page.waitForLoadState('domcontentloaded');
    await this.waitForWorkbench();
  }

  /** The training daemon's pid, while its lock file exists. */
  daemonPid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(path.join(this.daemonDir, 'daemon.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Closes the browser and ends code-server, the daemon and its engines. */
  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    killTree(this.server, this.root);
    await waitFor('the editor processes to exit', () => markedProcesses(this.root).length === 0, 20_000).catch(() => {
      for (const pid of markedProcesses(this.root)) tryKill(pid, 'SIGKILL');
    });
    const left = markedProcesses(this.root);
    if (left.length) throw new Error(`processes left behind: ${left.join(', ')}`);
    if (!process.env.SGT_E2E_KEEP) fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Copies code-server's and the daemon's logs next to the screenshots (for a failed test). */
  /** After a failed test: a screenshot named after it and the editor's logs, as CI artefacts. */
  async captureFailure(test: Mocha.Test | undefined): Promise<void> {
    if (test?.state !== 'failed') return;
    await this.screenshot(`failed-${test.title.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => undefined);
    this.saveLogs();
  }

  saveLogs(): void {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const [from, to] of [
      [path.join(this.root, 'code-server.log'), `${this.name}-code-server.log`],
      [path.join(this.daemonDir, 'daemon.log'), `${this.name}-daemon.log`],
    ]) {
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(ARTIFACTS, to));
    }
  }
}

/**
 * Installs the .vsix as a user would (`code-server --install-extension`, offline) into this
 * editor's extensions dir, and checks it landed as a real folder holding the bundles.
 */
function installExtension(vsix: string, extensions: string, userData: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [CODE_SERVER, '--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', vsix], {
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.error || r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.error ? String(r.error) : `exit ${r.status}`}):\n${output}`);
  const installed = fs.readdirSync(extensions).filter((d) => d.startsWith(`${EXTENSION_ID}-`));
  if (installed.length !== 1) throw new Error(`expected one installed ${EXTENSION_ID} in ${extensions}, found ${JSON.stringify(fs.readdirSync(extensions))}:\n${output}`);
  const folder = path.join(extensions, installed[0]);
  if (fs.lstatSync(folder).isSymbolicLink() || !fs.existsSync(path.join(folder, 'dist/client.js'))) throw new Error(`${folder} is not an installed copy of the .vsix`);
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** code-server's group, then every process marked with this editor's root (detached daemon, engines). */
function killTree(server: ChildProcess, root: string): void {
  if (server.pid) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // the group is gone
    }
  }
  for (const pid of markedProcesses(root)) tryKill(pid, 'SIGTERM');
}

/** Pids of live processes whose environment carries MARKER=root (Linux /proc). */
function markedProcesses(root: string): number[] {
  const needle = Buffer.from(`\0${MARKER}=${root}\0`);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${pid}/environ`), Buffer.from([0])]);
      if (!env.includes(needle)) continue;
      // a zombie has exited already (its parent has not reaped it yet)
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      pids.push(pid);
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}
