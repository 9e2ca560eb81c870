import * as assert from 'node:assert/strict';
import type { Assignment, BlockEntry, Entry, Experiment, Value } from '../../server/src/dsl/ast';
import { MAX_DEPTH, parse } from '../../server/src/dsl/parser';
import { withoutPositions } from './helpers';

function only(text: string): Experiment {
  const r = parse(text);
  assert.deepEqual(r.diagnostics, [], JSON.stringify(r.diagnostics));
  assert.equal(r.file.experiments.length, 1);
  return r.file.experiments[0];
}

/** The value of `v = …` in a one-entry experiment, without positions. */
function valueOf(valueText: string): unknown {
  const e = only(`experiment t {\n  v = ${valueText}\n}`);
  const entry = e.body.entries[0] as Assignment;
  assert.equal(entry.kind, 'assignment');
  return withoutPositions(entry.value);
}

const id = (name: string) => ({ kind: 'identifier', name });
const num = (raw: string, unit?: unknown) => ({ kind: 'number', value: Number(raw), raw, ...(unit ? { unit } : {}) });
const word = (name: string) => ({ kind: 'word', name });
const str = (value: string) => ({ kind: 'string', value });

/** Entry names of every experiment, blocks shown as `name{…}`: a compact picture of what was parsed. */
function outline(text: string): string[] {
  const show = (e: Entry): string => (e.kind === 'blockEntry' ? `${e.key.name}{${e.block.entries.map(show).join(' ')}}` : e.value ? e.key.name : `${e.key.name}=?`);
  return parse(text).file.experiments.map((x) => `${x.name?.name ?? '?'}: ${x.body.entries.map(show).join(' ')}`);
}

describe('dsl parser', () => {
  describe('grammar', () => {
    it('parses an experiment header, with and without extends', () => {
      const r = parse('experiment a {}\nexperiment b extends a {}');
      assert.deepEqual(r.diagnostics, []);
      assert.deepEqual(withoutPositions(r.file), {
        kind: 'file',
        experiments: [
          { kind: 'experiment', name: id('a'), body: { kind: 'block', entries: [], closed: true } },
          { kind: 'experiment', name: id('b'), extends: id('a'), body: { kind: 'block', entries: [], closed: true } },
        ],
      });
    });

    it('gives every node its source range', () => {
      const text = 'experiment b extends a {\n  data { source = builtin("mnist") }\n}\n';
      const e = only(text);
      const slice = (n: { start: number; end: number }) => text.slice(n.start, n.end);
      assert.equal(slice(e), text.trimEnd());
      assert.equal(slice(e.name!), 'b');
      assert.equal(slice(e.extends!), 'a');
      assert.equal(slice(e.body), '{\n  data { source = builtin("mnist") }\n}');
      const data = e.body.entries[0] as BlockEntry;
      assert.equal(slice(data), 'data { source = builtin("mnist") }');
      assert.equal(slice(data.key), 'data');
      assert.equal(slice(data.block), '{ source = builtin("mnist") }');
      const source = data.block.entries[0] as Assignment;
      assert.equal(slice(source), 'source = builtin("mnist")');
      const call = source.value as Extract<Value, { kind: 'call' }>;
      assert.equal(slice(call), 'builtin("mnist")');
      assert.equal(slice(call.callee), 'builtin');
      assert.equal(slice(call.args![0]), '"mnist"');
      assert.equal(parse(text).file.end, text.length);
    });

    it('gives numbers with units and percentages ranges that include the unit', () => {
      const text = 'experiment t { a = 50 steps  b = 10 %  c = 1e-3 }';
      const [a, b, c] = only(text).body.entries as Assignment[];
      assert.equal(text.slice(a.value!.start, a.value!.end), '50 steps');
      assert.equal(text.slice(b.value!.start, b.value!.end), '10 %');
      assert.equal(text.slice(c.value!.start, c.value!.end), '1e-3');
      const unit = (a.value as Extract<Value, { kind: 'number' }>).unit!;
      assert.equal(text.slice(unit.start, unit.end), 'steps');
    });

    it('parses strings, with escapes decoded', () => {
      assert.deepEqual(valueOf('"data/faces"'), str('data/faces'));
      assert.deepEqual(valueOf(String.raw`"say \"hi\"\n"`), str('say "hi"\n'));
    });

    it('parses numbers, keeping the literal', () => {
      assert.deepEqual(valueOf('0.5'), num('0.5'));
      assert.deepEqual(valueOf('1e-3'), num('1e-3'));
      assert.deepEqual(valueOf('-2'), num('-2'));
      assert.deepEqual(valueOf('.25'), num('.25'));
    });

    it('parses units: identifiers and percent', () => {
      assert.deepEqual(valueOf('50 steps'), num('50', id('steps')));
      assert.deepEqual(valueOf('2 epochs'), num('2', id('epochs')));
      assert.deepEqual(valueOf('224 px'), num('224', id('px')));
      assert.deepEqual(valueOf('100%'), num('100', { kind: 'percent' }));
      assert.deepEqual(valueOf('1.5 %'), num('1.5', { kind: 'percent' }));
    });

    it('parses words and booleans', () => {
      assert.deepEqual(valueOf('small_cnn'), word('small_cnn'));
      assert.deepEqual(valueOf('true'), word('true'));
      assert.deepEqual(valueOf('false'), word('false'));
    });

    it('parses lists, with or without commas, nested and empty', () => {
      const list = (...items: unknown[]) => ({ kind: 'list', items, closed: true });
      assert.deepEqual(valueOf('[val, test]'), list(word('val'), word('test')));
      assert.deepEqual(valueOf('[val test]'), list(word('val'), word('test')));
      assert.deepEqual(valueOf('[50, 30,]'), list(num('50'), num('30')));
      assert.deepEqual(valueOf('[]'), list());
      assert.deepEqual(valueOf('[[1], "a", 10%]'), list(list(num('1')), str('a'), num('10', { kind: 'percent' })));
      assert.deepEqual(valueOf('[\n  a,\n  b\n]'), list(word('a'), word('b')));
    });

    it('parses calls: arguments, options, both, and empty parentheses', () => {
      assert.deepEqual(valueOf('builtin("decoy-mnist")'), { kind: 'call', callee: id('builtin'), args: [str('decoy-mnist')] });
      assert.deepEqual(valueOf('f()'), { kind: 'call', callee: id('f'), args: [] });
      assert.deepEqual(valueOf('f(1, two "3")'), { kind: 'call', callee: id('f'), args: [num('1'), word('two'), str('3')] });
      const lr = { kind: 'assignment', key: id('lr'), value: num('0.001') };
      assert.deepEqual(valueOf('adam { lr = 0.001 }'), { kind: 'call', callee: id('adam'), options: { kind: 'block', entries: [lr], closed: true } });
      assert.deepEqual(valueOf('f(1) { lr = 0.001 }'), { kind: 'call', callee: id('f'), args: [num('1')], options: { kind: 'block', entries: [lr], closed: true } });
      assert.deepEqual(valueOf('adam {}'), { kind: 'call', callee: id('adam'), options: { kind: 'block', entries: [], closed: true } });
    });

    it('parses nested blocks and several entries on one line', () => {
      const e = only('experiment t {\n  train { epochs = 5  batch = 64  inner { x = 1 } }\n  seed = 2\n}');
      assert.deepEqual(withoutPositions(e.body.entries), [
        {
          kind: 'blockEntry',
          key: id('train'),
          block: {
            kind: 'block',
            closed: true,
            entries: [
              { kind: 'assignment', key: id('epochs'), value: num('5') },
              { kind: 'assignment', key: id('batch'), value: num('64') },
              { kind: 'blockEntry', key: id('inner'), block: { kind: 'block', closed: true, entries: [{ kind: 'assignment', key: id('x'), value: num('1') }] } },
            ],
          },
        },
        { kind: 'assignment', key: id('seed'), value: num('2') },
      ]);
    });

    it('reads a value on the line after `=`', () => {
      assert.deepEqual(valueOf('\n  5'), num('5'));
    });

    it('returns the comments', () => {
      const r = parse('# a\nexperiment t { # b\n  seed = 1 # c\n}\n# d');
      assert.deepEqual(
        r.comments.map((c) => c.text),
        ['# a', '# b', '# c', '# d'],
      );
      assert.equal(r.file.experiments[0].body.entries.length, 1);
    });

    it('parses an empty file and a comment-only file', () => {
      assert.deepEqual(parse('').file.experiments, []);
      assert.deepEqual(parse('').diagnostics, []);
      assert.deepEqual(parse('# nothing here\n').diagnostics, []);
    });
  });

  describe('units vs the next key on the same line', () => {
    it('`epochs = 5  batch = 64`: batch is a key', () => {
      const train = only('experiment t { train { epochs = 5  batch = 64 } }').body.entries[0] as BlockEntry;
      const [epochs, batch] = train.block.entries as Assignment[];
      assert.deepEqual(withoutPositions(epochs.value), num('5'));
      assert.equal(batch.key.name, 'batch');
      assert.deepEqual(withoutPositions(batch.value), num('64'));
    });

    it('`every = 50 steps  samples = 8`: steps is a unit, samples a key', () => {
      const block = (only('experiment t { preview { every = 50 steps  samples = 8 } }').body.entries[0] as BlockEntry).block;
      const [every, samples] = block.entries as Assignment[];
      assert.deepEqual(withoutPositions(every.value), num('50', id('steps')));
      assert.equal(samples.key.name, 'samples');
      assert.deepEqual(withoutPositions(samples.value), num('8'));
    });

    it('a number before a nested block on the same line has no unit', () => {
      const e = only('experiment t { seed = 1 data { image_size = 28 } }');
      assert.deepEqual(withoutPositions((e.body.entries[0] as Assignment).value), num('1'));
      assert.equal(e.body.entries[1].kind, 'blockEntry');
    });

    it('a word on the next line is not a unit', () => {
      const e = only('experiment t {\n  a = 5\n  steps = 1\n}');
      assert.deepEqual(
        e.body.entries.map((x) => x.key.name),
        ['a', 'steps'],
      );
    });
  });

  describe('error recovery: one typo, one diagnostic, the rest still parsed', () => {
    const cases: { name: string; text: string; code: string; under: string; outline: string[] }[] = [
      {
        name: 'missing `}` before the next experiment',
        text: 'experiment a {\n  seed = 1\n  data { image_size = 28 }\n\nexperiment b {\n  seed = 2\n}\n',
        code: 'unclosed-block',
        under: '{',
        outline: ['a: seed data{image_size}', 'b: seed'],
      },
      {
        name: 'missing value `key =`',
        text: 'experiment a {\n  seed =\n  description = "x"\n}\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: 'seed =',
        outline: ['a: seed=? description', 'b: seed'],
      },
      {
        name: 'unterminated string',
        text: 'experiment a {\n  description = "abc\n  seed = 1\n}\nexperiment b { seed = 2 }\n',
        code: 'unterminated-string',
        under: '"abc',
        outline: ['a: description seed', 'b: seed'],
      },
      {
        name: 'stray `@`',
        text: 'experiment a {\n  seed = 1 @\n  description = "x"\n}\nexperiment b { seed = 2 }\n',
        code: 'unexpected-character',
        under: '@',
        outline: ['a: seed description', 'b: seed'],
      },
      {
        name: 'stray `@` on its own line',
        text: 'experiment a {\n  @\n  description = "x"\n}\nexperiment b { seed = 2 }\n',
        code: 'unexpected-character',
        under: '@',
        outline: ['a: description', 'b: seed'],
      },
      {
        name: 'missing `=`',
        text: 'experiment a {\n  seed 1\n  description = "x"\n}\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: '1',
        outline: ['a: seed=? description', 'b: seed'],
      },
      {
        name: 'missing `]`',
        text: 'experiment a {\n  evaluate {\n    metrics = [accuracy, auc\n    sets = [val]\n  }\n}\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: '[',
        outline: ['a: evaluate{metrics sets}', 'b: seed'],
      },
      {
        name: 'unclosed `(`',
        text: 'experiment a {\n  data {\n    source = builtin("mnist"\n    image_size = 28\n  }\n}\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: '(',
        outline: ['a: data{source image_size}', 'b: seed'],
      },
      {
        name: 'missing experiment name',
        text: 'experiment {\n  seed = 1\n}\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: '{',
        outline: ['?: seed', 'b: seed'],
      },
      {
        name: 'text outside any experiment',
        text: 'seed = 1\nexperiment b { seed = 2 }\n',
        code: 'syntax',
        under: 'seed',
        outline: ['b: seed'],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = parse(c.text);
        assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
        const d = r.diagnostics[0];
        assert.equal(d.code, c.code);
        assert.equal(d.severity, 'error');
        assert.equal(c.text.slice(d.start, d.end), c.under);
        assert.deepEqual(outline(c.text), c.outline);
      });
    }

    it('says what is missing', () => {
      const msg = (text: string) => parse(text).diagnostics[0].message;
      assert.match(msg('experiment a { seed = }'), /needs a value/);
      assert.match(msg('experiment a { seed 1 }'), /Expected `=` or `\{` after 'seed', found '1'/);
      assert.match(msg('experiment a { x = [1, 2 }'), /never closed: add `\]`/);
      assert.match(msg('experiment a {\n x = 1'), /never closed: add `\}`/);
      assert.match(msg('experiment a { x = "abc }'), /no closing quote/);
    });
  });

  describe('robustness', () => {
    it(`100,000 nested '[' : no stack overflow, one error`, () => {
      const r = parse('experiment a { x = ' + '['.repeat(100_000) + ' }');
      assert.equal(r.diagnostics.length, 1, r.diagnostics.map((d) => d.message).join('\n'));
      assert.match(r.diagnostics[0].message, new RegExp(`deeper than ${MAX_DEPTH}`));
      assert.equal(r.file.experiments.length, 1);
    });

    it(`100,000 nested blocks: no stack overflow, one error`, () => {
      const r = parse('experiment a { ' + 'x { '.repeat(100_000) + '}'.repeat(100_000) + ' }\nexperiment b { seed = 1 }');
      assert.equal(r.diagnostics.length, 1, r.diagnostics.map((d) => d.message).join('\n'));
      assert.match(r.diagnostics[0].message, new RegExp(`deeper than ${MAX_DEPTH}`));
      assert.deepEqual(
        r.file.experiments.map((e) => e.name?.name),
        ['a', 'b'],
      );
    });

    it(`100,000 balanced '[' and '(' : one error, the next experiment still parsed`, () => {
      const n = 100_000;
      for (const [open, close] of [['[', ']'], ['f(', ')']]) {
        const r = parse(`experiment a { x = ${open.repeat(n)}${close.repeat(n)} }\nexperiment b { seed = 1 }`);
        assert.equal(r.diagnostics.length, 1, r.diagnostics.map((d) => d.message).join('\n'));
        assert.deepEqual(
          r.file.experiments.map((e) => e.name?.name),
          ['a', 'b'],
        );
      }
    });

    it(`100,000 unclosed '{' : one error`, () => {
      assert.equal(parse('experiment a { ' + 'x {'.repeat(100_000)).diagnostics.length, 1);
      assert.equal(parse('experiment a ' + '{'.repeat(100_000)).diagnostics.length, 1);
      assert.equal(parse('experiment a { x = ' + 'f('.repeat(100_000)).diagnostics.length, 1);
    });

    it('never throws on binary garbage', () => {
      let seed = 12345;
      const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      for (let n = 0; n < 200; n++) {
        const len = Math.floor(rand() * 400);
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
        const r = parse(s);
        assert.ok(Array.isArray(r.diagnostics));
      }
      const nasty = ['\u0000', '\u0000experiment\u0000a{}', '\ud800', '\udc00\ud800', 'experiment a { x = "\ud800" }', '"\\', '\\', '#\ud800', 'experiment a { \u0000 = 1 }', '\ufffd\ufffe\uffff'];
      for (const s of nasty) {
        const r = parse(s);
        assert.ok(Array.isArray(r.diagnostics));
        for (const d of r.diagnostics) {
          assert.ok(d.start >= 0 && d.end <= s.length && d.start <= d.end);
          // unknown characters are shown as code points, never raw control characters
          assert.ok(!d.message.includes('\u0000'), d.message);
        }
      }
    });

    it('parses a 5,000-line file', () => {
      const lines: string[] = [];
      for (let i = 0; lines.length < 5000; i++) {
        lines.push(
          `# experiment ${i}`,
          `experiment e${i}${i > 0 ? ` extends e${i - 1}` : ''} {`,
          `  seed = ${i}`,
          '  data {',
          '    source = builtin("decoy-mnist")',
          '    annotated = 50%',
          '  }',
          '  train { epochs = 5  optimizer = sgd { lr = 0.01 } }',
          '  evaluate { metrics = [accuracy, saliency_mse] }',
          '}',
        );
      }
      const r = parse(lines.join('\n'));
      assert.deepEqual(r.diagnostics, []);
      assert.equal(r.file.experiments.length, 500);
      assert.equal(r.comments.length, 500);
    });
  });
});
