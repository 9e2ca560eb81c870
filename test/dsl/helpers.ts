/** Shared helpers for the DSL tests. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Diagnostic, Fix } from '../../server/src/dsl/diagnostics';
import { analyze, type AnalyzeOptions, type Analysis } from '../../server/src/dsl/validate';

/** A syntax tree without positions, to compare the meaning of two texts. */
export function withoutPositions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutPositions);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== 'start' && k !== 'end') out[k] = withoutPositions(v);
    return out;
  }
  return node;
}

/** Applies a fix's edits (non-overlapping, any order) to a text. */
export function applyFix(text: string, fix: Fix): string {
  const edits = [...fix.edits].sort((a, b) => b.start - a.start);
  for (const e of edits) text = text.slice(0, e.start) + e.newText + text.slice(e.end);
  return text;
}

/** Source text under a diagnostic's range. */
export function under(text: string, d: Diagnostic): string {
  return text.slice(d.start, d.end);
}

export interface Expected {
  code: Diagnostic['code'];
  severity: Diagnostic['severity'];
  /** Exact source text under the range. */
  text: string;
  /** Words the message must contain. */
  words?: string[];
}

/** Asserts that the analysis has exactly one diagnostic with this code, and checks it. */
export function expectOne(a: Analysis, e: Expected): Diagnostic {
  const found = a.diagnostics.filter((d) => d.code === e.code);
  assert.equal(found.length, 1, `expected one '${e.code}', got: ${describe(a)}`);
  const d = found[0];
  assert.equal(d.severity, e.severity, d.message);
  assert.equal(under(a.text, d), e.text, d.message);
  for (const w of e.words ?? []) assert.ok(d.message.includes(w), `message lacks '${w}': ${d.message}`);
  return d;
}

/** Analyzes, applies the diagnostic's preferred fix (or the only one), re-analyzes. */
export function fixAndReanalyze(a: Analysis, d: Diagnostic, options: AnalyzeOptions = {}): Analysis {
  assert.ok(d.fixes && d.fixes.length > 0, `no fix for: ${d.message}`);
  const fix = d.fixes.find((f) => f.preferred) ?? d.fixes[0];
  return analyze(applyFix(a.text, fix), options);
}

export function describe(a: Analysis): string {
  return JSON.stringify(a.diagnostics.map((d) => `${d.code} ${d.severity} '${under(a.text, d)}': ${d.message}`), null, 1);
}

export function codes(a: Analysis): string[] {
  return a.diagnostics.map((d) => d.code);
}

/** A fresh temporary folder, removed by `cleanup()`. */
export function tempDir(prefix = 'sgt-test-'): { dir: string; write(rel: string, content?: string | Buffer): string; mkdir(rel: string): string; cleanup(): void } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return {
    dir,
    write(rel, content = 'x') {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      return p;
    },
    mkdir(rel) {
      const p = path.join(dir, rel);
      fs.mkdirSync(p, { recursive: true });
      return p;
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Decoy MNIST example shipped with the repository. */
export const EXAMPLE_PATH = path.resolve(__dirname, '..', '..', 'examples', 'decoy-mnist', 'cyborg.sgt');
