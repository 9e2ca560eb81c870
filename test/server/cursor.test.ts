import * as assert from 'node:assert/strict';
import { contextAt, extendsKeywordSpan, type CursorContext } from '../../server/src/dsl/cursor';
import { parse } from '../../server/src/dsl/parser';

/** The context at the `|` in `marked` (the bar is removed before parsing). */
function at(marked: string): { ctx: CursorContext; text: string; offset: number } {
  const offset = marked.indexOf('|');
  assert.ok(offset >= 0, 'no cursor marker');
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  return { ctx: contextAt(parse(text).file, text, offset), text, offset };
}

function expectKind<K extends CursorContext['kind']>(ctx: CursorContext, kind: K): Extract<CursorContext, { kind: K }> {
  assert.equal(ctx.kind, kind, `expected a ${kind} context, got ${JSON.stringify({ ...ctx, experiment: undefined, block: undefined, entry: undefined, node: undefined })}`);
  return ctx as Extract<CursorContext, { kind: K }>;
}

describe('cursor context', () => {
  describe('keys', () => {
    it('an empty spot in the experiment body is a key position', () => {
      const ctx = expectKind(at('experiment a {\n  |\n}').ctx, 'key');
      assert.deepEqual(ctx.blockPath, []);
      assert.equal(ctx.prefix, '');
      assert.equal(ctx.entry, undefined);
      assert.equal(ctx.experiment.name?.name, 'a');
    });

    it('a half-typed key in a nested block', () => {
      const { ctx, text } = at('experiment a {\n  train {\n    epo|\n  }\n}');
      const k = expectKind(ctx, 'key');
      assert.deepEqual(k.blockPath, ['train']);
      assert.equal(k.prefix, 'epo');
      assert.equal(text.slice(k.range.start, k.range.end), 'epo');
      assert.equal(k.entry?.key.name, 'epo');
    });

    it('the cursor on an existing key reports that entry', () => {
      const k = expectKind(at('experiment a { guidance { lo|ss = none } }').ctx, 'key');
      assert.deepEqual(k.blockPath, ['guidance']);
      assert.equal(k.prefix, 'lo');
      assert.equal(k.entry?.key.name, 'loss');
    });

    it('after a complete value on the same line is a new key position', () => {
      const k = expectKind(at('experiment a { train { engine = auto | } }').ctx, 'key');
      assert.deepEqual(k.blockPath, ['train']);
      assert.equal(k.block.entries.length, 1);
    });

    it('inside the options of a call the block path names the key and the variant', () => {
      const k = expectKind(at('experiment a { train { optimizer = adam { | } } }').ctx, 'key');
      assert.deepEqual(k.blockPath, ['train', 'optimizer', 'adam']);
    });

    it('an unclosed block runs to the end of the file', () => {
      const k = expectKind(at('experiment a {\n  data {\n    |').ctx, 'key');
      assert.deepEqual(k.blockPath, ['data']);
    });

    it('a line after `key =` with no value is a key position', () => {
      expectKind(at('experiment a { guidance {\n loss =\n | } }').ctx, 'key');
    });
  });

  describe('values', () => {
    it('right after `key = ` is an empty value slot with the dotted key path', () => {
      const v = expectKind(at('experiment a { guidance { loss = | } }').ctx, 'value');
      assert.equal(v.keyPath, 'guidance.loss');
      assert.equal(v.key, 'loss');
      assert.equal(v.node, undefined);
      assert.deepEqual(v.trail, []);
    });

    it('on a half-typed word', () => {
      const { ctx, text } = at('experiment a { guidance { loss = cy| } }');
      const v = expectKind(ctx, 'value');
      assert.equal(v.prefix, 'cy');
      assert.equal(v.node?.kind, 'word');
      assert.equal(text.slice(v.range.start, v.range.end), 'cy');
    });

    it('a key path inside call options includes the variant', () => {
      const v = expectKind(at('experiment a { train { optimizer = sgd { momentum = | } } }').ctx, 'value');
      assert.equal(v.keyPath, 'train.optimizer.sgd.momentum');
      assert.deepEqual(v.blockPath, ['train', 'optimizer', 'sgd']);
    });

    it('on the name of a call', () => {
      const v = expectKind(at('experiment a { train { optimizer = ad|am { lr = 0.1 } } }').ctx, 'value');
      assert.equal(v.onCallee, true);
      assert.equal(v.node?.kind, 'call');
      assert.equal(v.prefix, 'ad');
    });

    it('list items carry an item step', () => {
      const v = expectKind(at('experiment a { evaluate { metrics = [accuracy, |] } }').ctx, 'value');
      assert.equal(v.keyPath, 'evaluate.metrics');
      assert.equal(v.trail.length, 1);
      assert.equal(v.trail[0].kind, 'item');
    });

    it('after a closed list there is nothing to complete', () => {
      assert.equal(at('experiment a { evaluate { metrics = [accuracy]| } }').ctx.kind, 'none');
    });

    it('between a key and its `=` there is nothing to complete', () => {
      assert.equal(at('experiment a { seed | = 1 }').ctx.kind, 'none');
    });
  });

  describe('units', () => {
    it('after a number and a space', () => {
      const u = expectKind(at('experiment a { preview { every = 50 | } }').ctx, 'unit');
      assert.equal(u.keyPath, 'preview.every');
      assert.equal(u.number.raw, '50');
      assert.equal(u.prefix, '');
    });

    it('after a bare number a unit may follow (completion falls back to keys where the key takes none)', () => {
      const u = expectKind(at('experiment a { train { epochs = 5 | } }').ctx, 'unit');
      assert.deepEqual(u.blockPath, ['train']);
      assert.equal(u.block.entries.length, 1);
    });

    it('on a half-typed unit', () => {
      const u = expectKind(at('experiment a { preview { every = 50 st| } }').ctx, 'unit');
      assert.equal(u.prefix, 'st');
    });
  });

  describe('strings', () => {
    it('inside folder("…") with the call name and argument index', () => {
      const { ctx, text } = at('experiment a { data { source = folder("da|ta") } }');
      const s = expectKind(ctx, 'string');
      assert.equal(s.keyPath, 'data.source');
      assert.deepEqual(s.trail, [{ kind: 'arg', callee: 'folder', index: 0 }]);
      assert.equal(s.prefix, 'da');
      assert.equal(text.slice(s.range.start, s.range.end), 'data');
    });

    it('inside an unterminated string', () => {
      const { ctx, text } = at('experiment a { data { images = "img|\n } }');
      const s = expectKind(ctx, 'string');
      assert.equal(s.keyPath, 'data.images');
      assert.equal(text.slice(s.range.start, s.range.end), 'img');
    });

    it('an empty argument slot of a call', () => {
      const v = expectKind(at('experiment a { data { source = folder(|) } }').ctx, 'value');
      assert.deepEqual(v.trail, [{ kind: 'arg', callee: 'folder', index: 0 }]);
    });
  });

  describe('experiment headers', () => {
    it('after `extends`', () => {
      const e = expectKind(at('experiment a {}\nexperiment b extends | {}').ctx, 'extends');
      assert.equal(e.experiment.name?.name, 'b');
      assert.equal(e.target, undefined);
    });

    it('on the name after `extends`', () => {
      const e = expectKind(at('experiment a {}\nexperiment b extends a| {}').ctx, 'extends');
      assert.equal(e.target?.name, 'a');
      assert.equal(e.prefix, 'a');
    });

    it('on an experiment name', () => {
      const e = expectKind(at('experiment ba|se {}').ctx, 'experimentName');
      assert.equal(e.name?.name, 'base');
    });

    it('after the name, where `extends` may follow', () => {
      expectKind(at('experiment b ext| {}').ctx, 'afterName');
    });

    it('outside every experiment', () => {
      expectKind(at('experiment a {}\n|').ctx, 'topLevel');
      expectKind(at('|').ctx, 'topLevel');
    });

    it('finds the `extends` keyword', () => {
      const text = 'experiment b extends a {}';
      const span = extendsKeywordSpan(text, parse(text).file.experiments[0]);
      assert.equal(span && text.slice(span.start, span.end), 'extends');
      const plain = 'experiment extendsx {}';
      assert.equal(extendsKeywordSpan(plain, parse(plain).file.experiments[0]), undefined);
    });
  });

  it('inside a comment', () => {
    assert.equal(at('experiment a {\n  # seed |\n}').ctx.kind, 'comment');
    // a `#` inside a string is not a comment
    expectKind(at('experiment a { description = "# no|" }').ctx, 'string');
  });

  it('never throws, wherever the cursor is', () => {
    const text = 'experiment a extends { data { source = folder("x" y = [1, 2 } }\nexperiment\n# c\nexperiment b { train { optimizer = adam { lr = } } }';
    const file = parse(text).file;
    for (let i = 0; i <= text.length; i++) contextAt(file, text, i);
  });
});
