/**
 * Language benchmark: how fast the DSL core handles a large `.sgt` file.
 *
 *   npm run bench          (= npx tsx bench/language.ts)
 *
 * Generates a 5,000-line file from the schema (and a copy with ~50 mistakes),
 * then times, over warm-up + measured iterations: parsing, parsing + analysis
 * (no file-system checks), completion and formatting. Prints one JSON object.
 * Targets (docs/benchmarks.md): parse + analyze < 50 ms, completion < 10 ms.
 * Nothing here asserts timings; tests never depend on machine speed.
 */
import * as os from 'node:os';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { parse } from '../server/src/dsl/parser';
import { LineIndex } from '../server/src/dsl/text';
import { analyze } from '../server/src/dsl/validate';
import { complete, type ContextAt } from './completion-standin';
import { generateBrokenFile, generateCleanFile } from './corpus';
import { loadOptional, pickFunction } from './optional-modules';
import { time, type Timing } from './stats';

const LINES = 5000;
const MISTAKES = 50;
const RUNS = { warmup: 20, iterations: 100 };
const FAST_RUNS = { warmup: 200, iterations: 1000 };

/**
 * Cursor offsets for completion, spread over the file: two characters into a
 * key (`  ep|ochs = 12`, key completion) or into a word value (`  loss = cy|borg`).
 */
function completionOffsets(text: string, count: number): number[] {
  const candidates: { offset: number; indent: number; value: number }[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const m = /^(\s+)\w+ = ([a-z]\w+)$/.exec(line);
    if (m) candidates.push({ offset, indent: m[1].length, value: line.length - m[2].length });
    offset += line.length + 1;
  }
  const step = candidates.length / count;
  return Array.from({ length: count }, (_, i) => {
    const c = candidates[Math.floor(i * step)];
    return c.offset + (i % 2 ? c.value : c.indent) + 2;
  });
}

async function measureCompletion(text: string): Promise<Record<string, unknown>> {
  const offsets = completionOffsets(text, 60);
  const parsed = parse(text).file;
  const handler = await loadOptional('server/src/language-server/completion.ts');
  const real = pickFunction(handler, ['completions', 'complete', 'getCompletions', 'provideCompletions']);
  if (real) {
    // completions(doc, offset): doc is the language server's cached analysis of the open document
    const document = (t: string) => ({ uri: 'file:///bench/large.sgt', version: 1, analysis: analyze(t), lines: new LineIndex(t) });
    const doc = document(text);
    try {
      const probe = real.fn(doc, offsets[0]);
      if (Array.isArray(probe)) {
        const cached = time((i) => real.fn(doc, offsets[i % offsets.length]), FAST_RUNS);
        const fresh = time((i) => real.fn(document(text), offsets[i % offsets.length]), RUNS);
        const items = offsets.map((o) => (real.fn(doc, o) as unknown[]).length);
        return {
          ...cached,
          with_analysis: { median: fresh.median, p95: fresh.p95 },
          measured:
            `server/src/language-server/completion.ts ${real.name}(doc, offset) on the cached analysis of the document ` +
            '(with_analysis: analysing the 5,000-line text first, as after a keystroke)',
          requests: offsets.length,
          items_per_request: mean(items),
        };
      }
    } catch (err) {
      console.error(`bench: ${real.name}(doc, offset) failed (${String(err)}); measuring the stand-in instead`);
    }
  }
  const cursor = pickFunction(await loadOptional('server/src/dsl/cursor.ts'), ['contextAt']);
  const contextAt = cursor?.fn as ContextAt | undefined;
  const cached = time((i) => complete(parsed, text, offsets[i % offsets.length], contextAt), FAST_RUNS);
  const withParse = time((i) => complete(parse(text).file, text, offsets[i % offsets.length], contextAt), RUNS);
  const items = offsets.map((o) => complete(parsed, text, o, contextAt).length);
  return {
    ...cached,
    with_reparse: { median: withParse.median, p95: withParse.p95 },
    measured:
      `${handler ? 'server/src/language-server/completion.ts has no usable completion function' : 'no language-server completion module yet'}; ` +
      `stand-in bench/completion-standin.ts: ${contextAt ? 'contextAt (server/src/dsl/cursor.ts)' : 'a block-path walk'} + schema keys/values with type and docs, ` +
      'on a cached parse (with_reparse: parsing the 5,000-line file first)',
    requests: offsets.length,
    items_per_request: mean(items),
  };
}

function mean(xs: number[]): number {
  return Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
}

async function measureFormat(text: string): Promise<(Timing & { measured: string; unchanged: boolean }) | { skipped: string }> {
  const mod = await loadOptional('server/src/dsl/format.ts');
  const fmt = pickFunction(mod, ['format', 'formatText', 'formatDocument', 'formatFile']);
  if (!fmt) return { skipped: mod ? 'server/src/dsl/format.ts exports no format function' : 'server/src/dsl/format.ts does not exist yet' };
  // a formatter that declines (returns undefined) would be timed doing almost nothing
  const probe = fmt.fn(text);
  if (typeof probe !== 'string') return { skipped: `${fmt.name}(text) returned ${typeof probe}, not formatted text` };
  return { ...time(() => fmt.fn(text), RUNS), measured: `server/src/dsl/format.ts ${fmt.name}(text)`, unchanged: probe === text };
}

/** Heap retained by one analysis of the file (what the language server keeps per open document). */
function retainedHeapMb(text: string): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = analyze(text);
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept.diagnostics.length < 0) console.log(kept);
  return Math.round(((after - before) / 2 ** 20) * 10) / 10;
}

async function main(): Promise<void> {
  const clean = generateCleanFile(LINES);
  const broken = generateBrokenFile(LINES, MISTAKES);
  const cleanDiagnostics = analyze(clean).diagnostics.length;
  const brokenDiagnostics = analyze(broken).diagnostics.length;
  const cpus = os.cpus();
  const result = {
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model.trim() ?? 'unknown',
      node: process.version,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      // other work on the machine inflates wall-clock figures; compare runs at similar load
      loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
    },
    file: {
      lines: clean.split('\n').length - 1,
      bytes: Buffer.byteLength(clean),
      experiments: parse(clean).file.experiments.length,
      diagnostics: cleanDiagnostics,
      broken_diagnostics: brokenDiagnostics,
    },
    parse_ms: time(() => parse(clean), RUNS),
    analyze_ms: time(() => analyze(clean), RUNS),
    analyze_broken_ms: time(() => analyze(broken), RUNS),
    completion_ms: await measureCompletion(clean),
    format_ms: await measureFormat(clean),
    heap_mb: { retained_per_analysis: retainedHeapMb(clean), heap_used: Math.round(process.memoryUsage().heapUsed / 2 ** 20) },
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
