/**
 * Property-based tests: the parser, the validator and the formatter never
 * throw, whatever the input; on valid files generated from the schema the
 * formatter is idempotent and preserves meaning and comments.
 */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { format } from '../../server/src/dsl/format';
import { parse } from '../../server/src/dsl/parser';
import { EXPERIMENT_SCHEMA, type BlockSchema, type ValueType } from '../../server/src/dsl/schema';
import { analyze, type Analysis } from '../../server/src/dsl/validate';
import { quoteString } from '../../server/src/dsl/values';
import { withoutPositions } from './helpers';

/** Runs per property; raise it for a longer hunt: SGT_FUZZ_RUNS=20000 npx mocha test/dsl/fuzz.test.ts */
const RUNS = Number(process.env.SGT_FUZZ_RUNS) || 300;

// ---- arbitrary text -------------------------------------------------------------------------

/** Any Unicode code point (fast-check's own 'binary' unit is slow to generate). */
const codePoint = fc.integer({ min: 0, max: 0x10ffff }).map((c) => (c >= 0xd800 && c <= 0xdfff ? 'x' : String.fromCodePoint(c)));

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

const TOKENS = ['{', '}', '[', ']', '(', ')', '=', ',', '%', '#', '"', '\\', '-', '.', '@', 'experiment', 'extends', 'data', 'source', 'seed', 'builtin', 'a', 'b', '1', '2.5', '50', 'steps', '"s"', ' ', '  ', '\n', '\r\n', '\t'];
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => t.join(''));
const spacedTokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => t.join(' '));

const workspace = os.tmpdir();
const filePath = path.join(workspace, 'fuzz', 'x.sgt');

/** The parser, analyze (with file checks) and the formatter must not throw; what the formatter formats must be a fixed point with the same meaning. */
function survives(text: string): void {
  parse(text);
  analyze(text);
  analyze(text, { filePath, workspaceRoot: workspace });
  const out = format(text);
  if (out !== undefined) assertSameMeaning(text, out);
}

function assertSameMeaning(input: string, out: string): void {
  assert.equal(format(out), out, 'not idempotent');
  const a = parse(input);
  const b = parse(out);
  assert.deepEqual(b.diagnostics, []);
  assert.deepEqual(withoutPositions(b.file), withoutPositions(a.file), 'meaning changed');
  assert.deepEqual(
    b.comments.map((c) => c.text),
    a.comments.map((c) => c.text.trimEnd()),
    'comments changed',
  );
}

describe('dsl fuzzing', () => {
  describe('never throws', () => {
    it('on arbitrary ASCII strings', () => {
      fc.assert(fc.property(fc.string({ maxLength: 200 }), survives), { numRuns: RUNS });
    });

    it('on arbitrary Unicode strings', () => {
      fc.assert(fc.property(fc.string({ unit: codePoint, maxLength: 200 }), survives), { numRuns: RUNS });
    });

    it('on arbitrary UTF-16, lone surrogates and NUL included', () => {
      fc.assert(fc.property(fc.string({ unit: codeUnit, maxLength: 200 }), survives), { numRuns: RUNS });
    });

    it('on strings made of the language\'s tokens', () => {
      fc.assert(fc.property(tokenSoup, survives), { numRuns: RUNS });
      fc.assert(fc.property(spacedTokenSoup, survives), { numRuns: RUNS });
    });

    it('on valid files with one random edit', () => {
      fc.assert(
        fc.property(validFile, fc.nat(), fc.constantFrom(...TOKENS, ''), (file, at, insert) => {
          const i = at % (file.length + 1);
          survives(file.slice(0, i) + insert + file.slice(i + 1));
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe('the formatter on valid files generated from the schema', () => {
    it('is idempotent, keeps the meaning and the comments, adds no diagnostic', () => {
      fc.assert(
        fc.property(validFile, (text) => {
          assert.deepEqual(parse(text).diagnostics, [], text);
          const out = format(text);
          assert.ok(out !== undefined, text);
          assertSameMeaning(text, out);
          assert.deepEqual(diagnosticSummary(analyze(out)), diagnosticSummary(analyze(text)));
        }),
        { numRuns: RUNS },
      );
    });
  });
});

function diagnosticSummary(a: Analysis): string[] {
  return a.diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`).sort();
}

// ---- valid files from the schema ---------------------------------------------------------------

/** A token and what may separate it from the previous one. */
interface Tok {
  text: string;
  /** `any`: whitespace, line breaks, comments; `space`: spaces only (a unit after its number); `tight`: nothing or a space (`%`). */
  join: 'any' | 'space' | 'tight';
}

const any = (text: string): Tok => ({ text, join: 'any' });

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function numberText(value: number, exponent: boolean): string {
  return exponent ? value.toExponential() : String(value);
}

function valueArb(t: ValueType): fc.Arbitrary<Tok[]> {
  switch (t.type) {
    case 'int': {
      const n = fc.integer({ min: t.min ?? 0, max: Math.min(t.max ?? 1000, 1_000_000) });
      if (!t.unit) return n.map((v) => [any(String(v))]);
      const unit = t.unit;
      return fc.tuple(n, fc.boolean()).map(([v, u]) => (u ? [any(String(v)), { text: unit, join: 'space' }] : [any(String(v))]));
    }
    case 'number': {
      const min = t.min ?? 0;
      const max = t.max ?? 1000;
      return fc.tuple(fc.integer({ min: t.exclusiveMin ? 1 : 0, max: 1000 }), fc.boolean()).map(([k, e]) => [any(numberText(+(min + ((max - min) * k) / 1000).toPrecision(6), e))]);
    }
    case 'percent':
      return fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()).map(([k, spaced]) => [any(String(k / 10)), { text: '%', join: spaced ? 'space' : 'tight' }]);
    case 'duration':
      return fc.tuple(fc.integer({ min: 1, max: 500 }), fc.constantFrom(...t.units)).map(([n, u]) => [any(String(n)), { text: u, join: 'space' }]);
    case 'bool':
      return fc.constantFrom('true', 'false').map((w) => [any(w)]);
    case 'string':
      return stringContent.map((s) => [any(quoteString(s))]);
    case 'path':
      return fc.constantFrom('data', 'images', 'x/labels.csv', 'a b#c').map((p) => [any(JSON.stringify(p))]);
    case 'enum':
      return fc.constantFrom(...Object.keys(t.values)).map((v) => [any(IDENTIFIER.test(v) ? v : JSON.stringify(v))]);
    case 'list': {
      const items = t.unique && t.item.type === 'enum' ? fc.uniqueArray(valueArb(t.item), { minLength: t.minItems ?? 0, maxLength: 4, selector: (x) => x[0].text }) : fc.array(valueArb(t.item), { minLength: t.minItems ?? 0, maxLength: 4 });
      return fc.tuple(items, fc.boolean()).map(([xs, commas]) => [any('['), ...xs.flatMap((x, i) => (commas && i > 0 ? [any(','), ...x] : x)), any(']')]);
    }
    case 'call':
      return fc.oneof(
        ...Object.entries(t.variants).map(([name, v]) => {
          const args = fc.tuple(...(v.args ?? []).map((a) => valueArb(a.type)));
          const options = v.options ? fc.option(blockArb(v.options, 0), { nil: undefined }) : fc.constant(undefined);
          return fc.tuple(args, options).map(([as, opts]) => [
            any(name),
            ...(v.args ? [any('('), ...as.flatMap((x, i) => (i > 0 ? [any(','), ...x] : x)), any(')')] : []),
            ...(opts ?? []),
          ]);
        }),
      );
  }
}

/** String contents: quotes, backslashes, `#`, tabs, newlines, non-ASCII, control characters, a lone surrogate. */
const stringContent = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '#', '"', '\\', '\t', '\n', '{', '}', 'é', '😀', '\u0001', '\ud800'), maxLength: 12 });

/** `{ entries }` of a block: a random subset of its keys (in random order) and of its nested blocks. */
function blockArb(schema: BlockSchema, depth: number): fc.Arbitrary<Tok[]> {
  const names = Object.keys(schema.keys);
  const keys = fc.shuffledSubarray(names, { maxLength: Math.min(6, names.length) }).chain((ks) => fc.tuple(...ks.map((k) => valueArb(schema.keys[k].type).map((v) => [any(k), any('='), ...v]))));
  const blocks = depth > 0 ? fc.constant([] as Tok[][]) : fc.shuffledSubarray(Object.keys(schema.blocks ?? {})).chain((bs) => fc.tuple(...bs.map((b) => blockArb(schema.blocks![b], depth + 1).map((body) => [any(b), ...body]))));
  return fc.tuple(keys, blocks, fc.boolean()).map(([k, b, blocksFirst]) => [any('{'), ...(blocksFirst ? [...b, ...k] : [...k, ...b]).flat(), any('}')]);
}

function experimentArb(index: number): fc.Arbitrary<Tok[]> {
  return fc.tuple(blockArb(EXPERIMENT_SCHEMA, 0), fc.boolean()).map(([body, extend]) => [any('experiment'), any(`e${index}`), ...(extend && index > 0 ? [any('extends'), any(`e${index - 1}`)] : []), ...body]);
}

const commentText = fc.string({ unit: fc.constantFrom('a', ' ', '#', '"', '{', '\t', 'é'), maxLength: 10 });

/** What may stand between two tokens: `%s` is replaced by a comment. */
const ANY_SEPARATORS = [' ', '  ', '\n', '\n\n', '\n\n\n', '\t', ' \r\n', '\n    ', ' #%s\n', '\n#%s\n', '\n\n  #%s\n\n', ' #%s\n#%s\n'];
const SPACE_SEPARATORS = [' ', '  ', '\t'];
const TIGHT_SEPARATORS = ['', ' '];

const validFile: fc.Arbitrary<string> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => experimentArb(i))))
  .chain((exps) => {
    const toks = exps.flat();
    return fc.tuple(fc.constant(toks), fc.array(fc.nat(), { minLength: toks.length + 1, maxLength: toks.length + 1 }), fc.array(commentText, { minLength: 4, maxLength: 4 }));
  })
  .map(([toks, choices, comments]) => {
    let c = 0;
    const comment = () => comments[c++ % comments.length];
    const sep = (join: Tok['join'], choice: number) => {
      const options = join === 'any' ? ANY_SEPARATORS : join === 'space' ? SPACE_SEPARATORS : TIGHT_SEPARATORS;
      return options[choice % options.length].replace(/%s/g, comment);
    };
    // the first separator stands before the file's first token, the last after its last
    return toks.map((t, i) => sep(i === 0 ? 'any' : t.join, choices[i]) + t.text).join('') + sep('any', choices[toks.length]);
  });
