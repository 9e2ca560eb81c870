/**
 * Infrastructure smoke test: the esbuild bundles exist (`npm test` builds before mocha)
 * and the extension manifest's language contribution points at real, parseable files.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const readJson = (rel: string): unknown => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));

interface Manifest {
  main: string;
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string; icon: { light: string; dark: string } }[];
    grammars: { language: string; scopeName: string; path: string }[];
  };
}

describe('build output', () => {
  const bundles = [
    { out: 'dist/client.js', entry: 'client/src/extension.ts' },
    { out: 'dist/server.js', entry: 'server/src/language-server/main.ts' },
    { out: 'dist/cli.js', entry: 'server/src/cli/main.ts' },
  ];
  for (const { out, entry } of bundles) {
    it(`${out} is built from ${entry}`, () => {
      const stat = fs.statSync(path.join(root, out));
      assert.ok(stat.size > 0, `${out} is empty`);
    });
  }

  it('the manifest main is the client bundle', () => {
    const manifest = readJson('package.json') as Manifest;
    assert.equal(path.normalize(manifest.main), path.normalize('./dist/client.js'));
  });

  it('`sgt --help` runs through the bin launcher', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'server/bin/sgt.js'), '--help'], {
      encoding: 'utf8',
    });
    assert.match(out, /sgt/);
  });
});

describe('language contribution', () => {
  const manifest = readJson('package.json') as Manifest;
  const language = manifest.contributes.languages.find((l) => l.id === 'sgt');

  it('contributes the sgt language for .sgt files', () => {
    assert.ok(language, 'no `sgt` language contributed');
    assert.deepEqual(language.extensions, ['.sgt']);
    for (const icon of [language.icon.light, language.icon.dark]) {
      assert.ok(fs.existsSync(path.join(root, icon)), `${icon} is missing`);
    }
    const config = readJson(language.configuration) as { comments: { lineComment: string } };
    assert.equal(config.comments.lineComment, '#');
  });

  it('contributes a grammar file that exists and is valid JSON', () => {
    const grammar = manifest.contributes.grammars.find((g) => g.language === 'sgt');
    assert.ok(grammar, 'no grammar for `sgt`');
    assert.equal(grammar.scopeName, 'source.sgt');
    const parsed = readJson(grammar.path) as { scopeName: string; patterns: unknown[] };
    assert.equal(parsed.scopeName, grammar.scopeName);
    assert.ok(parsed.patterns.length > 0);
  });
});
