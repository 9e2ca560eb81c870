import * as assert from 'node:assert/strict';
import { lex, type Token } from '../../server/src/dsl/lexer';

function kinds(tokens: Token[]): string[] {
  return tokens.map((t) => (t.kind === 'identifier' || t.kind === 'number' || t.kind === 'string' || t.kind === 'error' ? `${t.kind}:${t.text}` : t.kind));
}

describe('dsl lexer', () => {
  it('reads every kind of token with its range', () => {
    const text = 'experiment a_1 extends b {x = [1, 2.5]\n y = f("s") % }';
    const { tokens } = lex(text);
    assert.deepEqual(kinds(tokens), [
      'identifier:experiment',
      'identifier:a_1',
      'identifier:extends',
      'identifier:b',
      '{',
      'identifier:x',
      '=',
      '[',
      'number:1',
      ',',
      'number:2.5',
      ']',
      'identifier:y',
      '=',
      'identifier:f',
      '(',
      'string:s',
      ')',
      '%',
      '}',
      'eof',
    ]);
    for (const t of tokens.slice(0, -1)) {
      if (t.kind === 'string') assert.equal(text.slice(t.start, t.end), '"s"');
      else assert.equal(text.slice(t.start, t.end), t.text);
    }
    const eof = tokens[tokens.length - 1];
    assert.deepEqual([eof.start, eof.end], [text.length, text.length]);
  });

  it('marks tokens that start a line', () => {
    const { tokens } = lex('a = 1\nb = 2  c = 3 # note\nd');
    const starts = tokens.filter((t) => t.newlineBefore).map((t) => t.text);
    assert.deepEqual(starts, ['a', 'b', 'd', '']);
  });

  it('collects comments with their ranges and keeps them out of the tokens', () => {
    const text = '# head\nseed = 1 # tail\n  # indented\n';
    const { tokens, comments } = lex(text);
    assert.deepEqual(
      comments.map((c) => c.text),
      ['# head', '# tail', '# indented'],
    );
    for (const c of comments) assert.equal(text.slice(c.start, c.end), c.text);
    assert.deepEqual(kinds(tokens), ['identifier:seed', '=', 'number:1', 'eof']);
  });

  it('reads numbers: signs, fractions, exponents; keeps the literal text', () => {
    const { tokens } = lex('0 -1 +2 .5 -.5 1.25 1e-3 2.5E+4 7e');
    assert.deepEqual(kinds(tokens), ['number:0', 'number:-1', 'number:+2', 'number:.5', 'number:-.5', 'number:1.25', 'number:1e-3', 'number:2.5E+4', 'number:7', 'identifier:e', 'eof']);
  });

  it('never reads `..5` as an empty number (it used to loop forever)', () => {
    assert.deepEqual(kinds(lex('..5').tokens), ['error:..', 'number:5', 'eof']);
    assert.deepEqual(kinds(lex('-..5 +.5 -.5').tokens), ['error:-..', 'number:5', 'number:+.5', 'number:-.5', 'eof']);
  });

  it('reads a number directly followed by a unit as two tokens', () => {
    assert.deepEqual(kinds(lex('50steps 10%').tokens), ['number:50', 'identifier:steps', 'number:10', '%', 'eof']);
  });

  it('reads dotted identifiers as one name, without a trailing dot', () => {
    const { tokens } = lex('guidance.alpha small_cnn.');
    assert.deepEqual(kinds(tokens), ['identifier:guidance.alpha', 'identifier:small_cnn', 'error:.', 'eof']);
  });

  it('decodes string escapes', () => {
    const { tokens } = lex(String.raw`"a\"b" "c\\d" "e\nf" "g\th" "i\qj"`);
    assert.deepEqual(
      tokens.filter((t) => t.kind === 'string').map((t) => t.text),
      ['a"b', 'c\\d', 'e\nf', 'g\th', 'iqj'],
    );
    assert.ok(tokens.every((t) => t.kind !== 'string' || t.terminated));
  });

  it('ends an unterminated string at the end of its line', () => {
    const { tokens } = lex('x = "abc\ny = 1');
    const s = tokens.find((t) => t.kind === 'string')!;
    assert.equal(s.terminated, false);
    assert.equal(s.text, 'abc');
    assert.deepEqual(kinds(tokens).slice(-4), ['identifier:y', '=', 'number:1', 'eof']);
  });

  it('turns a run of unknown characters into one error token', () => {
    const { tokens } = lex('a @@$! b');
    assert.deepEqual(kinds(tokens), ['identifier:a', 'error:@@$!', 'identifier:b', 'eof']);
  });

  it('skips tabs, form feeds, vertical tabs and a byte order mark; CR, LF and CRLF end lines', () => {
    const { tokens } = lex('\ufeffa\t=\f1\vb\r\nc\rd');
    assert.deepEqual(kinds(tokens), ['identifier:a', '=', 'number:1', 'identifier:b', 'identifier:c', 'identifier:d', 'eof']);
    assert.deepEqual(
      tokens.filter((t) => t.newlineBefore).map((t) => t.text),
      ['a', 'c', 'd', ''],
    );
  });

  it('handles the empty text', () => {
    assert.deepEqual(kinds(lex('').tokens), ['eof']);
  });
});
