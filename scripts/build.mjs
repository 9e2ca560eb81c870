#!/usr/bin/env node
// Builds every bundle of Saliency Studio with esbuild.
//
//   node scripts/build.mjs               development build (sourcemaps)
//   node scripts/build.mjs --production  minified build (what goes into the .vsix)
//   node scripts/build.mjs --watch       rebuild on change
//
// Runs as the root `prepare` script, so `npm ci` leaves a working dist/ and the
// `sgt` / `sgt-language-server` bins (server/bin/*.js require ../../dist/*.js).
import { existsSync, statSync } from 'node:fs';
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

/** @type {{ name: string, entry: string, out: string }[]} */
const bundles = [
  { name: 'client', entry: 'client/src/extension.ts', out: 'dist/client.js' },
  { name: 'server', entry: 'server/src/language-server/main.ts', out: 'dist/server.js' },
  { name: 'cli', entry: 'server/src/cli/main.ts', out: 'dist/cli.js' },
  { name: 'daemon', entry: 'server/src/daemon/main.ts', out: 'dist/daemon.js' },
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
  selected.map((b) => esbuild.context({ ...common, entryPoints: [b.entry], outfile: b.out })),
);

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
