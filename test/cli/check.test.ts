/**
 * `sgt check` end to end: exit statuses, the exact text and JSON output, and
 * bad input that must give a one-line message (exit 2) instead of a crash.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, fixtures, hasStackTrace, root, sgt } from './run-cli';

const fixture = (name: string) => path.relative(root, path.join(fixtures, name));

describe('sgt check', function () {
  this.timeout(120_000);
  let tmp: string;

  before(function () {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgt-cli-'));
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('results', () => {
    it('exits 0 with nothing on stdout for a clean file', () => {
      const r = sgt(['check', fixture('clean.sgt')]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '0 errors, 0 warnings in 1 file\n');
    });

    it('exits 1 and prints file:line:col: severity: message [code] for errors', () => {
      const file = fixture('errors.sgt');
      const r = sgt(['check', file]);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(r.stdout.trimEnd().split('\n'), [
        `${file}:4:32: error: Unknown key 'widht' in 'model'. Did you mean 'width'? [unknown-key]`,
        `${file}:5:27: warning: 'alpha' has no effect with guidance.loss = none; it applies to loss cyborg. [not-applicable]`,
        `${file}:6:23: error: 'epochs' must be between 1 and 100000, found 0. [out-of-range]`,
      ]);
      assert.equal(r.stderr, '2 errors, 1 warning in 1 file\n');
    });

    it('exits 0 when there are only warnings', () => {
      const file = fixture('warnings.sgt');
      const r = sgt(['check', file]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${file}:4:27: warning: 'alpha' has no effect with guidance.loss = none; it applies to loss cyborg. [not-applicable]\n`);
      assert.equal(r.stderr, '0 errors, 1 warning in 1 file\n');
    });

    it('--quiet reports errors only', () => {
      const r = sgt(['check', '--quiet', fixture('errors.sgt'), fixture('warnings.sgt')]);
      assert.equal(r.status, 1);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      for (const line of lines) assert.match(line, /: error: /);
      assert.equal(sgt(['check', '-q', fixture('warnings.sgt')]).stdout, '');
    });

    it('--format json lists every file with 1-based ranges and the counts', () => {
      const r = sgt(['check', '--format', 'json', fixture('errors.sgt'), fixture('clean.sgt')]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, '');
      const json = JSON.parse(r.stdout) as {
        files: { file: string; diagnostics: Record<string, unknown>[] }[];
        errors: number;
        warnings: number;
      };
      assert.equal(json.errors, 2);
      assert.equal(json.warnings, 1);
      assert.deepEqual(json.files.map((f) => [f.file, f.diagnostics.length]), [
        [fixture('errors.sgt'), 3],
        [fixture('clean.sgt'), 0],
      ]);
      assert.deepEqual(json.files[0].diagnostics[0], {
        line: 4,
        column: 32,
        endLine: 4,
        endColumn: 37,
        severity: 'error',
        message: "Unknown key 'widht' in 'model'. Did you mean 'width'?",
        code: 'unknown-key',
      });
    });

    it('checks the shipped examples without a single diagnostic', () => {
      const r = sgt(['check', 'examples']);
      assert.equal(r.stdout, '');
      assert.equal(r.status, 0, r.stderr);
      // stderr also lists the runs of the examples' sweeps (seeds.sgt) before the summary
      assert.match(r.stderr, /\n0 errors, 0 warnings in \d+ files\n$/);
      assert.match(r.stderr, /^examples\/decoy-mnist\/seeds\.sgt: 'seeds' sweeps 6 runs:$/m);
    });

    it('reports a binary file as diagnostics (exit 1), not a crash', () => {
      const file = path.join(tmp, 'garbage.sgt');
      // deterministic bytes covering every value, control characters and invalid UTF-8 included
      const bytes = Buffer.alloc(4096);
      let x = 12345;
      for (let i = 0; i < bytes.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        bytes[i] = i < 256 ? i : x >>> 24;
      }
      fs.writeFileSync(file, bytes);
      const r = sgt(['check', file]);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.doesNotMatch(r.stderr, /internal error/);
      const lines = r.stdout.trimEnd().split('\n');
      assert.ok(lines.length > 0);
      for (const line of lines) assert.match(line, /^.+:\d+:\d+: (error|warning|info): .+ \[[a-z-]+\]$/);
      // nothing from the file reaches the terminal raw
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    });
  });

  describe('directories', () => {
    it('checks every *.sgt file below a directory, skipping node_modules and .git', () => {
      const dir = path.join(tmp, 'project');
      const put = (rel: string, from: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(path.join(fixtures, from), path.join(dir, rel));
      };
      put('a.sgt', 'clean.sgt');
      put('nested/deeper/b.sgt', 'warnings.sgt');
      put('node_modules/pkg/c.sgt', 'errors.sgt');
      put('.git/d.sgt', 'errors.sgt');
      put('notes.txt', 'errors.sgt');
      const r = sgt(['check', 'project'], { cwd: tmp });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, `${path.join('project', 'nested', 'deeper', 'b.sgt')}:4:27: warning: 'alpha' has no effect with guidance.loss = none; it applies to loss cyborg. [not-applicable]\n`);
      assert.equal(r.stderr, '0 errors, 1 warning in 2 files\n');
    });

    it('exits 2 for a directory without .sgt files', () => {
      const empty = path.join(tmp, 'empty');
      fs.mkdirSync(empty);
      const r = sgt(['check', empty]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `sgt: no .sgt files in '${empty}'\n`);
    });
  });

  describe('workspace', () => {
    it('--workspace reports data paths that leave it', () => {
      const file = fixture('escape.sgt');
      const r = sgt(['check', '--workspace', fixture('.'), file]);
      assert.equal(r.status, 1);
      assert.match(r.stdout, new RegExp(`^${escapeRegExp(file)}:3:26: error: '.*examples/shapes' is outside the workspace folder .*\\[path-outside-workspace\\]\\n$`));
    });

    it('defaults to the file\'s own folder when the file is outside the current directory', () => {
      const r = sgt(['check', path.join(fixtures, 'escape.sgt')], { cwd: tmp });
      assert.equal(r.status, 1);
      assert.match(r.stdout, /\[path-outside-workspace\]/);
    });

    it('defaults to the current directory when the file is inside it', () => {
      const r = sgt(['check', fixture('escape.sgt')]);
      assert.equal(r.status, 0, r.stdout);
      assert.equal(r.stdout, '');
    });

    it('exits 2 when the workspace folder does not exist', () => {
      const r = sgt(['check', '--workspace', 'no-such-dir', fixture('clean.sgt')]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, "sgt: cannot use workspace 'no-such-dir': no such file or directory\n");
    });
  });

  describe('usage errors and unreadable input exit 2 without a stack trace', () => {
    const usage = (args: string[], message: RegExp) => {
      const r = sgt(args);
      assert.equal(r.status, 2, `sgt ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
    };

    it('a missing file', () => usage(['check', 'no-such-file.sgt'], /^sgt: cannot read 'no-such-file\.sgt': no such file or directory\n$/));
    it('a missing file among good ones', () => usage(['check', fixture('clean.sgt'), 'missing.sgt'], /^sgt: cannot read 'missing\.sgt': /));
    it('no arguments at all', () => usage([], /Usage: sgt/));
    it('check without files', () => usage(['check'], /^sgt: error: missing required argument 'files'/));
    it('an unknown option', () => usage(['check', '--frobnicate', fixture('clean.sgt')], /^sgt: error: unknown option '--frobnicate'/));
    it('an unknown command', () => usage(['chekc', 'x.sgt'], /^sgt: error: unknown command 'chekc'/));
    it('an invalid --format', () => usage(['check', '--format', 'xml', fixture('clean.sgt')], /argument 'xml' is invalid. Allowed choices are text, json/));

    it('an unreadable file', function () {
      if (process.platform === 'win32' || process.getuid?.() === 0) this.skip(); // root reads anything
      const file = path.join(tmp, 'secret.sgt');
      fs.writeFileSync(file, 'experiment x {}\n', { mode: 0o000 });
      const r = sgt(['check', file]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `sgt: cannot read '${file}': permission denied\n`);
    });
  });

  describe('help and version', () => {
    it('--version prints the package version', () => {
      const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
      const r = sgt(['--version']);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, `${version}\n`);
    });

    it('check --help documents the options and exit statuses', () => {
      const r = sgt(['check', '--help']);
      assert.equal(r.status, 0);
      for (const word of ['--format', '--workspace', '--quiet', 'Exit status']) assert.ok(r.stdout.includes(word), word);
    });
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
