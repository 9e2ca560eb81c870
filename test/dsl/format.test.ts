import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { MAX_INLINE_WIDTH, format } from '../../server/src/dsl/format';
import { parse } from '../../server/src/dsl/parser';
import { analyze } from '../../server/src/dsl/validate';
import { EXAMPLE_PATH, withoutPositions } from './helpers';

/** Formats, checks the invariants every output must keep, and returns the output. */
function fmt(input: string, options?: { indent?: string }): string {
  const out = format(input, options);
  assert.ok(out !== undefined, 'format refused a valid file');
  assert.equal(format(out, options), out, 'not idempotent');
  const a = parse(input);
  const b = parse(out);
  assert.deepEqual(b.diagnostics, []);
  assert.deepEqual(withoutPositions(b.file), withoutPositions(a.file), 'meaning changed');
  assert.deepEqual(
    b.comments.map((c) => c.text),
    a.comments.map((c) => c.text.trimEnd()),
    'comments changed',
  );
  return out;
}

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('dsl formatter', () => {
  it('formats the Decoy MNIST example', () => {
    const out = fmt(fs.readFileSync(EXAMPLE_PATH, 'utf8'));
    assert.equal(
      out,
      lines(
        '# Decoy MNIST (Ross et al. 2017): every training digit carries a grey swatch in a',
        '# corner whose shade encodes its label. A model trained on cross-entropy alone',
        '# learns the shortcut and loses accuracy on the test split, where the shade is random.',
        "# CYBORG pulls the model's class activation map towards the digit strokes.",
        '#',
        "# normalize = dataset standardises the inputs with the training split's statistics,",
        '# as a PyTorch pipeline would: with zero padding this is also what lets a CNN see',
        '# where the image corners are, and so learn the corner shortcut (docs/results.md).',
        '',
        'experiment decoy_ce {',
        '  seed = 1',
        '  data {',
        '    source     = builtin("decoy-mnist")',
        '    image_size = 28',
        '    annotated  = 100%',
        '    normalize  = dataset',
        '  }',
        '  model {',
        '    arch = small_cnn',
        '  }',
        '  guidance {',
        '    loss = none',
        '  }',
        '  train {',
        '    epochs    = 10',
        '    batch     = 64',
        '    optimizer = adam { lr = 0.001 }',
        '    engine    = auto',
        '  }',
        '  preview {',
        '    every   = 100 steps',
        '    samples = 8',
        '  }',
        '}',
        '',
        'experiment decoy_cyborg extends decoy_ce {',
        '  guidance {',
        '    loss        = cyborg',
        '    alpha       = 0.5',
        '    attribution = cam',
        '    layer       = final',
        '  }',
        '}',
      ),
    );
    assert.deepEqual(analyze(out).diagnostics, []);
  });

  it('formats a messy file', () => {
    const input = [
      '# head',
      'experiment   a{seed=1 # s',
      '  data{ source=builtin( "decoy-mnist" )   # src',
      '',
      '',
      '  # own',
      '  annotated = 50 %',
      '  }',
      '  train { optimizer = sgd { lr = 1e-3 momentum=0.9 }',
      '  epochs = 5  batch=64',
      '  schedule = step { every = 12 epochs # c',
      '   gamma = 0.1 }',
      '  }',
      '  evaluate { metrics = [accuracy, # a',
      '   saliency_mse',
      '   # last',
      '   ] sets=[val test] }',
      '  # end of a',
      '}',
      '# between',
      'experiment b extends a { description = "x\\"y\\\\z\\u" }',
      '# eof',
    ].join('\n');
    assert.equal(
      fmt(input),
      lines(
        '# head',
        'experiment a {',
        '  seed = 1  # s',
        '  data {',
        '    source = builtin("decoy-mnist")  # src',
        '',
        '    # own',
        '    annotated = 50%',
        '  }',
        '  train {',
        '    optimizer = sgd { lr = 1e-3  momentum = 0.9 }',
        '    epochs    = 5',
        '    batch     = 64',
        '    schedule = step {',
        '      every = 12 epochs  # c',
        '      gamma = 0.1',
        '    }',
        '  }',
        '  evaluate {',
        '    metrics = [',
        '      accuracy,  # a',
        '      saliency_mse,',
        '      # last',
        '    ]',
        '    sets = [val, test]',
        '  }',
        '  # end of a',
        '}',
        '',
        '# between',
        'experiment b extends a {',
        '  description = "x\\"y\\\\zu"',
        '}',
        '# eof',
      ),
    );
  });

  describe('alignment of `=`', () => {
    it('aligns a run of single-line assignments', () => {
      assert.equal(fmt('experiment a { seed = 1  description = "d"  allow_outside_workspace = false }'), lines('experiment a {', '  seed                    = 1', '  description             = "d"', '  allow_outside_workspace = false', '}'));
    });

    it('a blank line, a comment line and a nested block each end the run', () => {
      const input = lines('experiment a {', 'seed = 1', 'description = "d"', '', 'x = 1', 'longer_key = 2', '# note', 'y = 3', 'abc = 4', 'data { k = 1 }', 'z = 5', 'zz = 6', '}');
      assert.equal(
        fmt(input),
        lines(
          'experiment a {',
          '  seed        = 1',
          '  description = "d"',
          '',
          '  x          = 1',
          '  longer_key = 2',
          '  # note',
          '  y   = 3',
          '  abc = 4',
          '  data {',
          '    k = 1',
          '  }',
          '  z  = 5',
          '  zz = 6',
          '}',
        ),
      );
    });

    it('an end-of-line comment does not end the run', () => {
      assert.equal(fmt('experiment a {\n a = 1 # one\n bbb = 2\n}'), lines('experiment a {', '  a   = 1  # one', '  bbb = 2', '}'));
    });

    it('a multi-line assignment ends the run and is not aligned', () => {
      const input = 'experiment a {\n a = 1\n list = [x, # c\n y]\n bb = 2\n ccc = 3\n}';
      assert.equal(fmt(input), lines('experiment a {', '  a = 1', '  list = [', '    x,  # c', '    y,', '  ]', '  bb  = 2', '  ccc = 3', '}'));
    });

    it('aligns inside multi-line call options', () => {
      const input = 'experiment a { train { optimizer = sgd { # tuned\n lr = 0.005 momentum = 0.9 weight_decay = 1e-6 } } }';
      assert.equal(
        fmt(input),
        lines('experiment a {', '  train {', '    optimizer = sgd {  # tuned', '      lr           = 0.005', '      momentum     = 0.9', '      weight_decay = 1e-6', '    }', '  }', '}'),
      );
    });
  });

  describe('call options', () => {
    it('stay inline when short, without nested blocks or comments', () => {
      assert.equal(fmt('experiment a { train { optimizer = adam {\n lr = 0.001\n beta1 = 0.95\n } } }'), lines('experiment a {', '  train {', '    optimizer = adam { lr = 0.001  beta1 = 0.95 }', '  }', '}'));
      assert.equal(fmt('experiment a { x = adam {   } }'), lines('experiment a {', '  x = adam {}', '}'));
    });

    it('go multi-line when the line would pass the width limit', () => {
      const long = 'a'.repeat(MAX_INLINE_WIDTH);
      const out = fmt(`experiment a { train { optimizer = sgd { lr = 0.1  ${long} = 1 } } }`);
      assert.equal(out, lines('experiment a {', '  train {', '    optimizer = sgd {', `      ${'lr'.padEnd(long.length)} = 0.1`, `      ${long} = 1`, '    }', '  }', '}'));
      // exactly at the limit stays inline
      const prefix = '    optimizer = sgd { lr = ';
      const fits = '1'.repeat(MAX_INLINE_WIDTH - prefix.length - 2);
      const inline = fmt(`experiment a { train { optimizer = sgd { lr = ${fits} } } }`);
      assert.ok(inline.split('\n').includes(`${prefix}${fits} }`), inline);
      assert.equal(`${prefix}${fits} }`.length, MAX_INLINE_WIDTH);
    });

    it('go multi-line with a nested block or a call with options inside', () => {
      assert.equal(fmt('experiment a { x = f { inner { k = 1 } } }'), lines('experiment a {', '  x = f {', '    inner {', '      k = 1', '    }', '  }', '}'));
      assert.equal(fmt('experiment a { x = f { y = g { k = 1 } } }'), lines('experiment a {', '  x = f {', '    y = g { k = 1 }', '  }', '}'));
    });

    it('go multi-line with a comment inside', () => {
      assert.equal(fmt('experiment a { x = adam { lr = 0.1 # why\n } }'), lines('experiment a {', '  x = adam {', '    lr = 0.1  # why', '  }', '}'));
    });

    it('arguments print inline, or one per line with a comment inside', () => {
      assert.equal(fmt('experiment a { x = f( 1 ,"a"   b ) }'), lines('experiment a {', '  x = f(1, "a", b)', '}'));
      assert.equal(fmt('experiment a { x = f( # args\n 1 2 ) { k = 1 } }'), lines('experiment a {', '  x = f(  # args', '    1,', '    2,', '  ) { k = 1 }', '}'));
    });
  });

  describe('values', () => {
    it('keeps number literals, prints units canonically', () => {
      assert.equal(fmt('experiment a { a = 1e-3  b = 50steps  c = 10 %  d = .5  e = +2  f = 224   px }'), lines('experiment a {', '  a = 1e-3', '  b = 50 steps', '  c = 10%', '  d = .5', '  e = +2', '  f = 224 px', '}'));
    });

    it('re-escapes strings canonically', () => {
      assert.equal(fmt(String.raw`experiment a { a = "x\qy"  b = "tab\there"  c = "q\"\\" }`), lines('experiment a {', '  a = "xqy"', '  b = "tab\\there"', '  c = "q\\"\\\\"', '}'));
    });

    it('keeps characters JSON would escape but the lexer reads raw', () => {
      const out = fmt('experiment a { a = "\u0001\b\ud800" }');
      assert.ok(out.includes('"\u0001\b\ud800"'), JSON.stringify(out));
    });

    it('prints lists inline with commas', () => {
      assert.equal(fmt('experiment a { x = [ a b,c ,] y = [ ] z = [[1 2] [3]] }'), lines('experiment a {', '  x = [a, b, c]', '  y = []', '  z = [[1, 2], [3]]', '}'));
    });

    it('prints a list with a comment one item per line, nested lists too', () => {
      assert.equal(fmt('experiment a { x = [[1, # one\n 2], 3] }'), lines('experiment a {', '  x = [', '    [', '      1,  # one', '      2,', '    ],', '    3,', '  ]', '}'));
    });

    it('joins a value written on the line after `=`', () => {
      assert.equal(fmt('experiment a {\n  seed =\n    1\n}'), lines('experiment a {', '  seed = 1', '}'));
    });
  });

  describe('blocks and experiments', () => {
    it('prints nested blocks on several lines and empty blocks as {}', () => {
      assert.equal(fmt('experiment a { model { arch = mlp } guidance {} }'), lines('experiment a {', '  model {', '    arch = mlp', '  }', '  guidance {}', '}'));
      assert.equal(fmt('experiment a {}'), lines('experiment a {}'));
    });

    it('separates experiments by exactly one blank line', () => {
      assert.equal(fmt('experiment a {} experiment b extends a {}\n\n\n\nexperiment c {}'), lines('experiment a {}', '', 'experiment b extends a {}', '', 'experiment c {}'));
    });

    it('keeps single blank lines between entries, collapses more, drops them after { and before }', () => {
      const input = 'experiment a {\n\n\n  seed = 1\n\n\n\n  description = "x"\n  data {\n\n    image_size = 28\n\n  }\n\n}\n';
      assert.equal(fmt(input), lines('experiment a {', '  seed = 1', '', '  description = "x"', '  data {', '    image_size = 28', '  }', '}'));
    });

    it('uses the indent option', () => {
      assert.equal(fmt('experiment a { data { k = 1 } }', { indent: '\t' }), 'experiment a {\n\tdata {\n\t\tk = 1\n\t}\n}\n');
      assert.equal(fmt('experiment a { data { k = 1 } }', { indent: '    ' }), 'experiment a {\n    data {\n        k = 1\n    }\n}\n');
    });
  });

  describe('comments', () => {
    it('keeps own-line comments before their entry, at its indentation', () => {
      assert.equal(fmt('experiment a {\n# about seed\n      seed = 1\n  data {\n# about k\n k = 1 }\n}'), lines('experiment a {', '  # about seed', '  seed = 1', '  data {', '    # about k', '    k = 1', '  }', '}'));
    });

    it('keeps end-of-line comments at the end of their line, two spaces before #', () => {
      assert.equal(fmt('experiment a { # header\n seed = 1# tight\n data { k = 1 } # after block\n} # after experiment'), lines('experiment a {  # header', '  seed = 1  # tight', '  data {', '    k = 1', '  }  # after block', '}  # after experiment'));
    });

    it('keeps comments at the end of a block before its }', () => {
      assert.equal(fmt('experiment a {\n  seed = 1\n\n  # trailing note\n  # second\n}'), lines('experiment a {', '  seed = 1', '', '  # trailing note', '  # second', '}'));
      assert.equal(fmt('experiment a { data { # only a comment\n } }'), lines('experiment a {', '  data {  # only a comment', '  }', '}'));
    });

    it('moves comments from inside an entry above it, in order', () => {
      assert.equal(fmt('experiment a {\n  seed # one\n  = # two\n  1 # three\n}'), lines('experiment a {', '  # one', '  # two', '  seed = 1  # three', '}'));
      assert.equal(fmt('experiment a { x = f # c\n ("a") }'), lines('experiment a {', '  # c', '  x = f("a")', '}'));
      assert.equal(fmt('experiment # n\n a # e\n extends # b\n b { }\nexperiment b {}'), lines('# n', '# e', '# b', 'experiment a extends b {}', '', 'experiment b {}'));
    });

    it('keeps comments at the start and the end of the file, with their blank lines', () => {
      assert.equal(fmt('\n\n# top\n\n# about a\nexperiment a {}\n\n\n# bottom\n\n# last\n\n'), lines('# top', '', '# about a', 'experiment a {}', '', '# bottom', '', '# last'));
    });

    it('puts the blank line between experiments before the comments of the next one', () => {
      assert.equal(fmt('experiment a {}\n# about b\nexperiment b {}'), lines('experiment a {}', '', '# about b', 'experiment b {}'));
    });

    it('removes trailing spaces from comments', () => {
      assert.equal(fmt('# hi   \nexperiment a {} # there \t'), lines('# hi', 'experiment a {}  # there'));
    });

    it('formats a file of comments only, and an empty file', () => {
      assert.equal(fmt('  # just a comment  \n'), lines('# just a comment'));
      assert.equal(fmt(''), '');
      assert.equal(fmt('\n\n  \n'), '');
    });
  });

  describe('line endings', () => {
    it('keeps CRLF when the input mostly uses it', () => {
      const out = fmt('experiment a {\r\n  seed=1\r\n  data { k = 1 }\r\n}\r\n');
      assert.equal(out, 'experiment a {\r\n  seed = 1\r\n  data {\r\n    k = 1\r\n  }\r\n}\r\n');
    });

    it('uses LF for LF or mixed-but-mostly-LF input', () => {
      assert.equal(fmt('experiment a {\n seed = 1\r\n data { k = 1 }\n}\n'), lines('experiment a {', '  seed = 1', '  data {', '    k = 1', '  }', '}'));
    });

    it('ends with exactly one line break', () => {
      assert.ok(fmt('experiment a {}').endsWith('}\n'));
      assert.ok(fmt('experiment a {}\n\n\n\n').endsWith('}\n') && !fmt('experiment a {}\n\n\n\n').endsWith('\n\n'));
    });

    it('keeps a byte order mark', () => {
      assert.equal(fmt('\ufeffexperiment a {}'), '\ufeffexperiment a {}\n');
    });
  });

  describe('refuses broken text', () => {
    for (const text of ['experiment a {', 'experiment a { seed = }', 'experiment a { x = "abc }', 'experiment a { @ }', 'seed = 1', 'experiment a { x = [1 }']) {
      it(JSON.stringify(text), () => assert.equal(format(text), undefined));
    }
  });

  it('formats files with validation errors (only syntax errors stop it)', () => {
    assert.equal(fmt('experiment a { sed = 1 }'), lines('experiment a {', '  sed = 1', '}'));
  });
});
