/**
 * Tokenizes `.sgt` text with the real TextMate engine VS Code uses (vscode-textmate +
 * the oniguruma wasm shipped in vscode-oniguruma) and checks the scopes themes colour.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';

const root = path.resolve(__dirname, '..', '..');
const grammarPath = path.join(root, 'syntaxes', 'sgt.tmLanguage.json');

const EXAMPLE = `# examples/decoy-mnist/cyborg.sgt
experiment decoy_ce {
  seed = 1
  data {
    source     = builtin("decoy-mnist")     # or folder("data/faces")
    image_size = 28
    annotated  = 100%
  }
  model    { arch = small_cnn }
  guidance { loss = none }
  train    { epochs = 5  batch = 64  optimizer = adam { lr = 0.001 }  engine = auto }
  preview  { every = 50 steps  samples = 8 }
  evaluate { metrics = [accuracy, saliency_mse] }
}
experiment decoy_cyborg extends decoy_ce {
  guidance { loss = cyborg  alpha = 0.5  attribution = cam  layer = final }
}
`;

interface Token {
  text: string;
  scopes: string[];
}

let grammar: vsctm.IGrammar;

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) =>
      scopeName === 'source.sgt' ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath) : null,
  });
  const g = await registry.loadGrammar('source.sgt');
  assert.ok(g, 'grammar source.sgt did not load');
  return g;
}

function tokenize(text: string): Token[][] {
  let state = vsctm.INITIAL;
  return text.split('\n').map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** Scopes of the token that is exactly `text`, the `nth` such token in the file (0-based). */
function scopesOf(lines: Token[][], text: string, nth = 0): string[] {
  const hits = lines.flat().filter((t) => t.text === text);
  assert.ok(hits.length > nth, `no token ${JSON.stringify(text)} #${nth}; tokens: ${JSON.stringify(lines.flat().map((t) => t.text))}`);
  return hits[nth].scopes;
}

function assertScope(lines: Token[][], text: string, scope: string, nth = 0): void {
  const scopes = scopesOf(lines, text, nth);
  assert.ok(
    scopes.includes(scope),
    `${JSON.stringify(text)} #${nth} has scopes ${scopes.join(' ')}, expected ${scope}`,
  );
}

describe('sgt TextMate grammar', () => {
  before(async () => {
    grammar = await loadGrammar();
  });

  it('scopes the design example', () => {
    const lines = tokenize(EXAMPLE);
    // keywords
    assertScope(lines, 'experiment', 'keyword.other.experiment.sgt');
    assertScope(lines, 'extends', 'keyword.other.extends.sgt');
    // comments, including a trailing one that contains a string-like `("…")`
    assertScope(lines, '#', 'punctuation.definition.comment.sgt');
    assertScope(lines, ' examples/decoy-mnist/cyborg.sgt', 'comment.line.number-sign.sgt');
    assertScope(lines, ' or folder("data/faces")', 'comment.line.number-sign.sgt');
    // strings
    assertScope(lines, 'decoy-mnist', 'string.quoted.double.sgt');
    // numbers and units
    assertScope(lines, '100', 'constant.numeric.sgt');
    assertScope(lines, '%', 'keyword.other.unit.percentage.sgt');
    assertScope(lines, '0.001', 'constant.numeric.sgt');
    assertScope(lines, 'steps', 'keyword.other.unit.steps.sgt');
    // keys
    assertScope(lines, 'image_size', 'variable.other.property.sgt');
    assertScope(lines, 'lr', 'variable.other.property.sgt');
    // experiment names (declared and extended)
    assertScope(lines, 'decoy_ce', 'entity.name.type.experiment.sgt', 0);
    assertScope(lines, 'decoy_cyborg', 'entity.name.type.experiment.sgt');
    assertScope(lines, 'decoy_ce', 'entity.name.type.experiment.base.sgt', 1);
    // calls after `=`
    assertScope(lines, 'builtin', 'entity.name.function.sgt');
    assertScope(lines, 'adam', 'entity.name.function.sgt');
    // punctuation
    assertScope(lines, '{', 'punctuation.section.block.begin.sgt');
    assertScope(lines, '[', 'punctuation.section.brackets.begin.sgt');
    assertScope(lines, '(', 'punctuation.section.parens.begin.sgt');
  });

  it('scopes escapes, booleans, signed/exponent numbers, units and dotted keys', () => {
    const lines = tokenize('x = "a\\"b\\\\c\\nd\\te"  y = true  z = -1.5e-3  w = 28px  n = 3 epochs  guidance.alpha = +2');
    assertScope(lines, '\\"', 'constant.character.escape.sgt');
    assertScope(lines, '\\\\', 'constant.character.escape.sgt');
    assertScope(lines, '\\n', 'constant.character.escape.sgt');
    assertScope(lines, '\\t', 'constant.character.escape.sgt');
    assertScope(lines, 'true', 'constant.language.boolean.sgt');
    assertScope(lines, '-1.5e-3', 'constant.numeric.sgt');
    assertScope(lines, 'px', 'keyword.other.unit.px.sgt');
    assertScope(lines, 'epochs', 'keyword.other.unit.epochs.sgt');
    assertScope(lines, 'guidance.alpha', 'variable.other.property.sgt');
    assertScope(lines, '+2', 'constant.numeric.sgt');
  });

  it('does not let an unterminated string swallow the next line', () => {
    const lines = tokenize('x = "oops\ny = 1');
    assertScope(lines, 'y', 'variable.other.property.sgt');
    assertScope(lines, '1', 'constant.numeric.sgt');
  });
});
