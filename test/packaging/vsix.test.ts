/**
 * The .vsix: packs the extension from the current dist/ (what `npm run package` does after
 * its production build, which `vscode:prepublish` runs), then checks that it holds what the
 * extension needs at run time and nothing it should not, and that the packed bundles work
 * on their own: the files are extracted outside the repository (no node_modules to fall back
 * on) and the packed CLI checks the examples and trains the shapes example on the packed
 * tfjs engine with its wasm binaries.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { zipEntries, zipRead, type ZipEntry } from './zip';

const root = path.resolve(__dirname, '../..');
const BUNDLES = ['client', 'server', 'cli', 'daemon', 'engine-tfjs', 'engine-torch', 'webview'];
/** A production build packs to ≈3.4 MB; a development build (no minification) is larger. */
const MAX_VSIX_BYTES = 8 * 1024 * 1024;

/**
 * Packages the bundles may `require` beyond Node's built-ins, and why that is safe:
 * `vscode` is the extension host's; the native tfjs backends are optional and loaded at run
 * time when installed (engines/tfjs/backend.ts); `encoding` is node-fetch's optional
 * charset converter, required inside a try/catch.
 */
const OPTIONAL_REQUIRES = new Set(['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'encoding']);

interface Vsix {
  file: string;
  zip: Buffer;
  entries: Map<string, ZipEntry>;
}

/** Packs with vsce's own `pack` (the step of `vsce package` after prepublish), quietly. */
async function packVsix(out: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vsce = require('@vscode/vsce/out/package') as { pack(o: Record<string, unknown>): Promise<unknown> };
  const log = console.log;
  const warn = console.warn;
  console.log = () => undefined;
  console.warn = () => undefined;
  try {
    await vsce.pack({ cwd: root, packagePath: out, dependencies: false, allowMissingRepository: true, rewriteRelativeLinks: false });
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/** Files package.json points at (main, grammar, language configuration, icons, walkthrough media). */
export function manifestFiles(pkg: Record<string, unknown>): string[] {
  const files: string[] = [];
  const add = (p: unknown) => {
    if (typeof p === 'string' && !p.startsWith('$(')) files.push(path.posix.normalize(p.replace(/^\.\//, '')));
  };
  add(pkg.main);
  const c = (pkg.contributes ?? {}) as Record<string, unknown[]>;
  for (const l of (c.languages ?? []) as { configuration?: string; icon?: { light?: string; dark?: string } }[]) {
    add(l.configuration);
    add(l.icon?.light);
    add(l.icon?.dark);
  }
  for (const g of (c.grammars ?? []) as { path?: string }[]) add(g.path);
  for (const w of (c.walkthroughs ?? []) as { steps?: { media?: Record<string, unknown> }[] }[]) {
    for (const s of w.steps ?? []) {
      const m = s.media ?? {};
      add(m.markdown);
      add(m.svg);
      if (typeof m.image === 'object' && m.image) for (const v of Object.values(m.image)) add(v);
      else add(m.image);
    }
  }
  return files;
}

describe('packaging: the .vsix', function () {
  this.timeout(120_000);
  let tmp: string;
  let vsix: Vsix;

  before(async function () {
    if (!BUNDLES.every((b) => fs.existsSync(path.join(root, 'dist', `${b}.js`)))) {
      throw new Error('dist/ is incomplete: run `npm run build` (or `npm run package`) first');
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-vsix-'));
    const file = path.join(tmp, 'saliency-studio.vsix');
    await packVsix(file);
    const zip = fs.readFileSync(file);
    vsix = { file, zip, entries: new Map(zipEntries(zip).map((e) => [e.name, e])) };
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const names = () => [...vsix.entries.keys()];
  const has = (rel: string) => vsix.entries.has(`extension/${rel}`);

  it('holds every file the runtime and the manifest need', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    const needed = [
      ...manifestFiles(pkg),
      ...BUNDLES.map((b) => `dist/${b}.js`),
      'dist/webview.css',
      'dist/tfjs-backend-wasm.wasm',
      'dist/tfjs-backend-wasm-simd.wasm',
      'dist/tfjs-backend-wasm-threaded-simd.wasm',
      ...Array.from({ length: 10 }, (_, d) => `dist/mnist-digits/${d}.json`),
      'dist/mnist-digits/LICENSE',
      'dist/torch/sgt_torch/__main__.py',
      'dist/torch/sgt_torch/train.py',
      'examples/decoy-mnist/cyborg.sgt',
      'examples/shapes/shapes.sgt',
      'examples/shapes/labels.csv',
      'package.json',
      'docs/dsl.md',
    ];
    assert.ok(manifestFiles(pkg).includes('dist/client.js'));
    const missing = needed.filter((f) => !has(f));
    assert.deepEqual(missing, [], `missing from the .vsix: ${missing.join(', ')}`);
    // vsce renames these two
    assert.ok(has('readme.md'), 'README');
    assert.ok(has('LICENSE.txt'), 'LICENSE');
    assert.ok(vsix.entries.has('extension.vsixmanifest'));
  });

  it('holds no sources, tests, source maps, node_modules or run directories, and stays small', () => {
    const forbidden = names().filter(
      (n) =>
        /\.ts$|\.map$|\.tsx$/.test(n) ||
        /^extension\/(test|client|server|webview|scripts|bench|node_modules|\.sgt|\.ci|\.git)\//.test(n) ||
        /\/node_modules\//.test(n) ||
        /(^|\/)\.sgt\//.test(n) ||
        /\.vsix$/.test(n) ||
        /^extension\/(tsconfig\.json|eslint\.config\.mjs|package-lock\.json|\.mocharc\.json|\.vscodeignore)$/.test(n),
    );
    assert.deepEqual(forbidden, []);
    const size = fs.statSync(vsix.file).size;
    assert.ok(size < MAX_VSIX_BYTES, `the .vsix is ${(size / 1048576).toFixed(2)} MiB (bound ${MAX_VSIX_BYTES / 1048576} MiB)`);
  });

  it('its bundles require nothing that is not bundled, except the optional packages', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const strays: string[] = [];
    for (const b of BUNDLES) {
      const text = zipRead(vsix.zip, vsix.entries.get(`extension/dist/${b}.js`)!).toString('utf8');
      for (const m of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        const id = m[1];
        if (!builtins.has(id) && !OPTIONAL_REQUIRES.has(id)) strays.push(`${b}.js: ${id}`);
      }
    }
    assert.deepEqual([...new Set(strays)], []);
  });

  describe('extracted outside the repository', () => {
    let ext: string;
    let ws: string;
    /** Runs the packed CLI; its stdout and stderr together (it reports on stderr). */
    const cli = (args: string[], cwd: string) => {
      const r = spawnSync(process.execPath, [path.join(ext, 'dist/cli.js'), ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, SGT_DAEMON_DIR: path.join(tmp, 'daemon'), NODE_PATH: '' },
      });
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 0, `sgt ${args.join(' ')} exited ${r.status}:\n${out}`);
      return out;
    };

    before(() => {
      ext = path.join(tmp, 'x');
      for (const e of vsix.entries.values()) {
        if (!e.name.startsWith('extension/') || e.name.endsWith('/')) continue;
        const dest = path.join(ext, e.name.slice('extension/'.length));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, zipRead(vsix.zip, e));
      }
      ws = path.join(tmp, 'ws');
      fs.cpSync(path.join(ext, 'examples'), ws, { recursive: true });
    });

    it('the packed CLI checks the packed examples', () => {
      const out = cli(['check', '.'], ws);
      assert.match(out, /0 errors/);
    });

    it('the packed CLI trains the shapes example on the packed tfjs engine (wasm backend)', () => {
      const shapes = path.join(ws, 'shapes');
      cli(['train', 'shapes.sgt', '-e', 'shapes_ce', '--epochs', '1', '--foreground'], shapes);
      const runs = fs.readdirSync(path.join(shapes, '.sgt/runs'));
      assert.equal(runs.length, 1);
      const events = fs
        .readFileSync(path.join(shapes, '.sgt/runs', runs[0], 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; backend?: string });
      assert.equal(events[0].type, 'started');
      assert.equal(events[0].backend, 'wasm', 'the wasm binaries in dist/ were found');
      assert.equal(events.at(-1)!.type, 'finished');
      assert.ok(fs.existsSync(path.join(shapes, '.sgt/runs', runs[0], 'overlays/index.json')));
    });
  });
});
