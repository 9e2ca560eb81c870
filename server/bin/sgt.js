#!/usr/bin/env node
'use strict';
// Thin launcher: the real code is the esbuild bundle dist/cli.js (scripts/build.mjs).
const path = require('node:path');
const fs = require('node:fs');
const root = path.resolve(__dirname, '..', '..');
const bundle = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('Saliency Studio is not built: run `npm run build` in ' + root + '\n');
  process.exit(2);
}
require(bundle);
