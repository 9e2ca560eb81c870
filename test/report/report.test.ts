/**
 * The HTML report: built from real run directories (the fake engine's) and from
 * damaged or hostile ones, it must stay one self-contained, script-free file that
 * shows the runs, their numbers and their overlays — and never crash.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent } from '../../server/src/protocol';
import { loadRun } from '../../server/src/report/load';
import { embedPng } from '../../server/src/report/overlays';
import { buildReport, findRunDirs, RunNotFoundError, writeReport } from '../../server/src/report/report';
import { settingRows } from '../../server/src/report/settings';
import { niceTicks } from '../../server/src/report/svg-chart';
import { createRunDir, RUN_FILES } from '../../server/src/runs/run-dir';
import { startRun } from '../../server/src/runs/start-run';
import { fakeEngineEnv, tempDir, writeSgt } from '../runs/helpers';

const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`;
const T = '2024-01-01T00:00:00.000Z';
const EVIL = '<img src=x onerror=alert(1)>';

function writeEvents(dir: string, events: RunEvent[], tail = ''): void {
  fs.writeFileSync(path.join(dir, RUN_FILES.events), events.map((e) => JSON.stringify(e) + '\n').join('') + tail);
}

function started(experiment: string): RunEvent {
  return { time: T, type: 'started', run: 'r', experiment, engine: 'tfjs', backend: 'cpu', backendReason: '', seed: 1, epochs: 3, stepsPerEpoch: 2 };
}

function stepEvent(step: number): RunEvent {
  return { time: T, type: 'step', epoch: Math.ceil(step / 2), step, loss: 1 / step, ce: 1 / step, guidance: 0, accuracy: step / 6, lr: 0.001, imagesPerSecond: 100 };
}

describe('sgt report (HTML)', function () {
  this.timeout(30_000);
  let tmp: string;
  let runsDir: string;
  let plain: string;
  let guided: string;

  before(async () => {
    tmp = tempDir('sgt-report-');
    runsDir = path.join(tmp, 'runs');
    const file = writeSgt(tmp);
    for (const experiment of ['plain', 'guided']) {
      const r = await startRun({ file, workspaceRoot: tmp, experiment, runsDir, env: fakeEngineEnv() });
      assert.ok(r.ok && r.status === 'finished');
      if (experiment === 'plain') plain = r.runDir;
      else guided = r.runDir;
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('is one self-contained file with a strict CSP and no scripts', () => {
    const html = buildReport([plain, guided]);
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(html.includes(CSP), 'CSP meta tag');
    assert.ok(!/<script/i.test(html), 'no script elements');
    // nothing is fetched: every src is a data: URI, there are no links to resources
    for (const m of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) assert.ok(m[1].startsWith('data:image/png;base64,'), m[0]);
    assert.ok(!/url\(/.test(html), 'no CSS urls');
  });

  it('shows the runs side by side: names, the settings that differ, the final table', () => {
    const html = buildReport([plain, guided]);
    assert.match(html, /<title>Saliency Studio report: plain vs guided<\/title>/);
    assert.ok(html.includes('<code>guidance.loss</code>'), 'differing setting');
    // final numbers as the fake engine reported them (test split)
    assert.match(html, /<th scope="row">test accuracy<\/th><td class="num"><span class="">0\.520<\/span><\/td><td class="num"><span class="best">0\.930<\/span><\/td>/);
    assert.match(html, /<th scope="row">test saliency_mse<\/th><td class="num"><span class="">0\.2100<\/span><\/td><td class="num"><span class="best">0\.0600<\/span><\/td>/);
    assert.match(html, /<th scope="row">best epoch<\/th><td class="num">2<\/td><td class="num">2<\/td>/);
    assert.match(html, /<th scope="row">engine · backend<\/th><td>tfjs · fake<\/td>/);
    assert.ok(html.includes('How to read this') && html.includes('swatch shades are random'));
  });

  it('draws the curves as inline SVG', () => {
    const html = buildReport([plain, guided]);
    for (const title of ['Training loss', 'Training accuracy', 'Validation accuracy', 'Saliency agreement (validation)', 'Test metrics']) assert.ok(html.includes(`<b>${title}</b>`), title);
    assert.ok((html.match(/<svg /g) ?? []).length >= 5);
    // the guided run's loss is split into classification and guidance curves
    assert.ok(html.includes('<title>guided: guidance</title>') && html.includes('<title>guided: classification</title>'));
    assert.ok(!html.includes('<title>plain: guidance</title>'));
  });

  it('embeds the overlays: first and last step per run, and the shared samples side by side', () => {
    const html = buildReport([plain, guided]);
    const images = html.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) ?? [];
    // 2 samples × (2 runs side by side + 2 runs × first and last)
    assert.equal(images.length, 2 * (2 + 2 * 2));
    assert.ok(html.includes('Same samples across runs'));
    assert.ok(html.includes('first · epoch 1 · step 4') && html.includes('last · epoch 2 · step 8'));
  });

  it('escapes everything that comes from a run directory', () => {
    const dir = createRunDir(runsDir, 'evil', '', { name: EVIL, data: { note: '"><script>alert(2)</script>' } });
    writeEvents(dir, [
      started(EVIL),
      stepEvent(1),
      { time: T, type: 'epoch', epoch: 1, step: 2, split: 'val<b>' as 'val', metrics: { '<i>acc</i>': 0.5 } },
      { time: T, type: 'log', level: 'warning', message: '</li><script>alert(3)</script>' },
      { time: T, type: 'failed', error: `${EVIL} failed`, detail: '</pre><script>alert(4)</script>' },
    ]);
    const html = buildReport([plain, dir]);
    assert.ok(!/<script/i.test(html), 'no script element got through');
    assert.ok(!html.includes(EVIL));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('&lt;/pre&gt;&lt;script&gt;alert(4)&lt;/script&gt;'));
    assert.ok(html.includes('val&lt;b&gt; &lt;i&gt;acc&lt;/i&gt;'));
    assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;'));
  });

  it('reports damaged and interrupted runs instead of crashing', () => {
    // killed mid-write: no ending, a truncated last line, no summary, no overlays
    const killed = createRunDir(runsDir, 'killed', '', { name: 'killed' });
    writeEvents(killed, [started('killed'), stepEvent(1), stepEvent(2), { time: T, type: 'epoch', epoch: 1, step: 2, split: 'val', metrics: { accuracy: 0.61 } }], '{"time":"2024-01-01T00:00:01.000Z","type":"st');
    // nothing readable at all
    const empty = createRunDir(runsDir, 'empty', '', {});
    fs.writeFileSync(path.join(empty, RUN_FILES.resolved), '{ not json');
    fs.rmSync(path.join(empty, RUN_FILES.events));
    // events of the wrong shape
    const odd = createRunDir(runsDir, 'odd', '', { name: 'odd' });
    fs.writeFileSync(path.join(odd, RUN_FILES.events), '42\nnull\n"text"\n{"type":"step","step":"x"}\n{"type":"epoch","epoch":1}\n{"type":"nonsense"}\n');
    fs.writeFileSync(path.join(odd, RUN_FILES.overlayIndex), '{"not":"a list"}');

    const html = buildReport([killed, empty, odd, guided]);
    assert.match(html, /killed <span class="badge interrupted">interrupted<\/span>/);
    assert.ok(html.includes('No ending event: the run was killed or is still running'));
    assert.ok(html.includes('1 unreadable line in events.jsonl'));
    assert.ok(html.includes('0.610'), 'the last recorded validation accuracy of the killed run');
    assert.ok(html.includes('no readable resolved.json'));
    assert.ok(html.includes('no events: the run never started'));
    const info = loadRun(killed);
    assert.equal(info.status, 'interrupted');
    assert.equal(info.steps.length, 2);
  });

  it('reads only PNG files inside the run directory', () => {
    const dir = createRunDir(runsDir, 'sneaky', '', { name: 'sneaky' });
    const secret = path.join(tmp, 'secret.png');
    fs.copyFileSync(path.join(guided, 'overlays', '0000008', '0.png'), secret);
    fs.writeFileSync(path.join(dir, 'overlays', 'fake.png'), 'not a png');
    fs.symlinkSync(secret, path.join(dir, 'overlays', 'link.png'));
    assert.equal(embedPng(dir, '../../secret.png'), undefined);
    assert.equal(embedPng(dir, secret), undefined);
    assert.equal(embedPng(dir, 'overlays/link.png'), undefined);
    assert.equal(embedPng(dir, 'overlays/fake.png'), undefined);
    assert.equal(embedPng(dir, 'overlays/missing.png'), undefined);
    assert.equal(embedPng(dir, 42), undefined);
    const ok = embedPng(guided, 'overlays/0000008/0.png');
    assert.ok(ok);
    assert.equal(ok.height, 28);
    assert.equal(ok.width, 28 * 3 + 4);
  });

  it('writes the file atomically where asked', () => {
    const out = path.join(tmp, 'out', 'report.html');
    const html = writeReport([plain], out);
    assert.equal(fs.readFileSync(out, 'utf8'), html);
    assert.match(html, /<title>Saliency Studio report: plain<\/title>/);
    // a single run lists all its settings (there is nothing to diff)
    assert.ok(html.includes('<h2>Settings</h2>'));
  });

  it('finds runs by directory, id, id prefix and --latest', () => {
    const id = path.basename(guided);
    assert.deepEqual(findRunDirs([guided], { cwd: tmp, runsDir }), [guided]);
    assert.deepEqual(findRunDirs([id], { cwd: '/', runsDir }), [guided]);
    assert.deepEqual(findRunDirs(['guided-'], { cwd: '/', runsDir }), [guided]);
    assert.equal(findRunDirs([], { cwd: '/', runsDir, latest: 2 }).length, 2);
    assert.throws(() => findRunDirs(['nope'], { cwd: tmp, runsDir }), RunNotFoundError);
    assert.throws(() => findRunDirs([tmp], { cwd: tmp, runsDir }), /is not a run directory/);
  });

  it('diffs settings by dotted path', () => {
    const rows = settingRows([
      { name: 'a', train: { epochs: 5, optimizer: { type: 'adam', lr: 0.001 } }, data: { source: { type: 'builtin', name: 'decoy-mnist' } }, preview: { every: { value: 50, unit: 'steps' } } },
      { name: 'b', train: { epochs: 5, optimizer: { type: 'sgd', lr: 0.01 } }, data: { source: { type: 'builtin', name: 'decoy-mnist' } }, preview: { every: { value: 50, unit: 'steps' } } },
    ]);
    const byPath = Object.fromEntries(rows.map((r) => [r.path, r]));
    assert.deepEqual(byPath['train.optimizer'].values, ['adam', 'sgd']);
    assert.ok(byPath['train.optimizer.lr'].differs);
    assert.ok(!byPath['train.epochs'].differs);
    assert.deepEqual(byPath['data.source'].values, ['builtin("decoy-mnist")', 'builtin("decoy-mnist")']);
    assert.deepEqual(byPath['preview.every'].values, ['50 steps', '50 steps']);
    assert.ok(!('name' in byPath));
  });

  it('puts chart ticks on round numbers', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0.52, 0.93, 5), [0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });
});
