/**
 * The dashboard panel host against a fake `vscode` module: `ready` gets `init` and the run's
 * history (overlays as webview URIs), appended events follow through the throttle, setState is
 * kept for the serializer, and the page carries the CSP and the local resource roots.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FromWebview, RunEvent, ToWebview } from '../../server/src/protocol';

class FakeUri {
  constructor(readonly fsPath: string, readonly scheme = 'file') {}
  static file(p: string) {
    return new FakeUri(p);
  }
  static joinPath(u: FakeUri, ...parts: string[]) {
    return new FakeUri(path.join(u.fsPath, ...parts), u.scheme);
  }
  toString() {
    return this.scheme === 'file' ? `file://${this.fsPath}` : `${this.scheme}:${this.fsPath}`;
  }
}

interface FakePanel {
  posted: ToWebview[];
  html: string;
  options: { localResourceRoots?: FakeUri[] };
  receive(msg: FromWebview): void;
  revealed: number;
  dispose(): void;
}

const panels: FakePanel[] = [];

function fakePanel(): unknown {
  let onMessage: (m: FromWebview) => void = () => {};
  let onDispose: () => void = () => {};
  const record: FakePanel = {
    posted: [],
    html: '',
    options: {},
    revealed: 0,
    receive: (m) => onMessage(m),
    dispose: () => onDispose(),
  };
  const webview = {
    cspSource: 'vscode-resource:',
    set html(h: string) {
      record.html = h;
    },
    set options(o: FakePanel['options']) {
      record.options = o;
    },
    asWebviewUri: (u: FakeUri) => new FakeUri(u.fsPath, 'vscode-resource'),
    postMessage: (m: ToWebview) => {
      record.posted.push(m);
      return Promise.resolve(true);
    },
    onDidReceiveMessage: (cb: (m: FromWebview) => void) => ((onMessage = cb), { dispose() {} }),
  };
  panels.push(record);
  return {
    webview,
    visible: true,
    title: '',
    reveal: () => record.revealed++,
    onDidDispose: (cb: () => void) => ((onDispose = cb), { dispose() {} }),
    onDidChangeViewState: () => ({ dispose() {} }),
  };
}

const fakeVscode = {
  Uri: FakeUri,
  ViewColumn: { Active: -1 },
  window: { createWebviewPanel: () => fakePanel() },
};

// route `import 'vscode'` to the fake (the real one exists only inside the extension host)
const mod = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
const originalResolve = mod._resolveFilename;

const step = (s: number): RunEvent => ({ time: 't', type: 'step', epoch: 1, step: s, loss: 1 / s, ce: 1 / s, guidance: 0, accuracy: 0.5, lr: 0.001, imagesPerSecond: 1 });

describe('dashboard panel host (fake vscode)', () => {
  let tmp: string;
  let DashboardPanel: typeof import('../../client/src/dashboard/panel').DashboardPanel;

  before(() => {
    mod._resolveFilename = function (req: string, ...rest: unknown[]) {
      return req === 'vscode' ? 'vscode' : originalResolve.call(this, req, ...rest);
    };
    mod._cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: fakeVscode };
    // required after the fake is in place (a dynamic import would go through the ESM loader)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ DashboardPanel } = require('../../client/src/dashboard/panel') as typeof import('../../client/src/dashboard/panel'));
  });

  after(() => {
    mod._resolveFilename = originalResolve;
    delete mod._cache['vscode'];
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers ready with init and the history, then streams appended events', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-panel-'));
    const runDir = path.join(tmp, 'runs', 'decoy_ce-20260101-000000-abcd');
    fs.mkdirSync(path.join(runDir, 'overlays'), { recursive: true });
    const started: RunEvent = { time: 't', type: 'started', run: 'x', experiment: 'decoy_ce', engine: 'tfjs', backend: 'wasm', backendReason: '', seed: 1, epochs: 1, stepsPerEpoch: 10 };
    fs.writeFileSync(path.join(runDir, 'events.jsonl'), [started, step(1)].map((e) => JSON.stringify(e)).join('\n') + '\n');
    fs.writeFileSync(path.join(runDir, 'overlays', 'index.json'), JSON.stringify([{ epoch: 1, step: 1, files: ['overlays/0000001/0.png'] }]));

    const ext = FakeUri.file('/ext') as never;
    const p = DashboardPanel.createOrShow(ext, [runDir]);
    const fake = panels[panels.length - 1];
    assert.match(fake.html, /script-src 'nonce-[^']+'/);
    assert.match(fake.html, /src="vscode-resource:\/ext\/dist\/webview\.js"/);
    assert.deepEqual(fake.options.localResourceRoots?.map((u) => u.fsPath), ['/ext/dist', path.join(tmp, 'runs')]);
    assert.equal(DashboardPanel.createOrShow(ext, [runDir]), p, 'the same runs reuse the open panel');
    assert.equal(fake.revealed, 1);

    fake.receive({ type: 'ready' });
    assert.deepEqual(fake.posted[0], { type: 'init', runs: [{ runDir, id: path.basename(runDir), experiment: 'decoy_ce' }], state: { overlayIndex: -1, camOpacity: 0.6, runDirs: [runDir] } });
    const history = fake.posted[1];
    assert.equal(history.type, 'batch');
    if (history.type !== 'batch') return;
    const [events, overlays] = history.messages;
    assert.ok(events.type === 'events' && events.events.length === 2);
    assert.ok(overlays.type === 'overlays');
    assert.deepEqual(overlays.entries[0].uris, [`vscode-resource:${path.join(runDir, 'overlays/0000001/0.png')}`]);

    fs.appendFileSync(path.join(runDir, 'events.jsonl'), JSON.stringify(step(2)) + '\n');
    for (let i = 0; i < 60 && fake.posted.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    const live = fake.posted[2];
    assert.ok(live?.type === 'events' && live.events[0].type === 'step' && live.events[0].step === 2, JSON.stringify(live));

    fake.receive({ type: 'setState', state: { runDirs: [runDir], overlayIndex: 0, camOpacity: 0.2 } });
    fake.receive({ type: 'ready' }); // the webview reloaded (hidden and shown again)
    const again = fake.posted.filter((m) => m.type === 'init').pop();
    assert.ok(again?.type === 'init' && again.state?.camOpacity === 0.2);

    fake.dispose();
    assert.notEqual(DashboardPanel.createOrShow(ext, [runDir]), p, 'a disposed panel is not reused');
    panels[panels.length - 1].dispose();
  });
});
