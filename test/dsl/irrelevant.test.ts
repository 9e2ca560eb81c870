/**
 * `guidance.irrelevant` (schema.ts): RRR's irrelevant region A is where the human map is 0
 * (`unannotated`, the default) or the data set's known shortcut (`shortcut`: Decoy MNIST's
 * swatch, Ross et al.'s A). The validator refuses `shortcut` where the data set has no
 * shortcut masks (clean MNIST, folders), and the resolver writes the key for RRR and RRR*.
 */
import * as assert from 'node:assert/strict';
import { DataScanner } from '../../server/src/dsl/files';
import { resolveExperiment } from '../../server/src/dsl/resolve';
import { analyze, type Analysis } from '../../server/src/dsl/validate';
import { describe as show, expectOne } from './helpers';

function check(text: string): Analysis {
  return analyze(text, { scanner: new DataScanner(0) });
}

function exp(source: string, guidance: string, extra = ''): string {
  return `experiment a {\n  data { source = ${source} }\n  model { arch = mlp }\n  guidance { ${guidance} }\n  train { engine = torch }\n${extra}}\n`;
}

function clean(a: Analysis): void {
  assert.deepEqual(a.diagnostics, [], show(a));
}

describe('dsl: guidance.irrelevant (RRR\'s region A)', () => {
  it('accepts shortcut on builtin("decoy-mnist") and unannotated anywhere', () => {
    clean(check(exp('builtin("decoy-mnist")', 'loss = rrr  lambda = 1000  irrelevant = shortcut')));
    clean(check(exp('builtin("decoy-mnist")', 'loss = rrr  irrelevant = unannotated')));
    clean(check(exp('builtin("mnist")', 'loss = rrr  irrelevant = unannotated')));
    clean(check('experiment a {\n  data { source = builtin("decoy-mnist") }\n  guidance { loss = rrr_star  attribution = cam  irrelevant = shortcut }\n  train { engine = torch }\n}\n'));
  });

  it('refuses shortcut where the data set marks no shortcut: clean MNIST, folders', () => {
    const mnist = check(exp('builtin("mnist")', 'loss = rrr  irrelevant = shortcut'));
    expectOne(mnist, { code: 'incompatible', severity: 'error', text: 'shortcut', words: ["'mnist' has no known shortcut region", 'builtin("decoy-mnist")', '`irrelevant = unannotated`'] });
    const folder = check(exp('folder("data")', 'loss = rrr  irrelevant = shortcut'));
    expectOne(folder, { code: 'incompatible', severity: 'error', text: 'shortcut', words: ['folder data sets have no shortcut masks'] });
  });

  it('reports an inherited shortcut on the child that changes the data source', () => {
    const text = `${exp('builtin("decoy-mnist")', 'loss = rrr  irrelevant = shortcut')}experiment b extends a {\n  data { source = builtin("mnist") }\n}\n`;
    const a = check(text);
    const d = expectOne(a, { code: 'incompatible', severity: 'error', text: 'builtin("mnist")', words: ['`irrelevant = shortcut`'] });
    assert.ok(d.start > text.indexOf('experiment b'), 'on experiment b, not on its parent');
  });

  it('is not applicable to losses without a region A', () => {
    const a = check(exp('builtin("decoy-mnist")', 'loss = energy  attribution = ixg  layer = input  irrelevant = shortcut'));
    expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'irrelevant', words: ['rrr | rrr_star'] });
  });

  it('resolves to unannotated by default for RRR, and is absent for other losses', () => {
    const guidance = (g: string) => (resolveExperiment(check(exp('builtin("decoy-mnist")', g)), 'a') as unknown as { guidance: Record<string, unknown> }).guidance;
    assert.equal(guidance('loss = rrr').irrelevant, 'unannotated');
    assert.equal(guidance('loss = rrr  irrelevant = shortcut').irrelevant, 'shortcut');
    assert.equal('irrelevant' in guidance('loss = none'), false);
  });
});
