/** `consistency` in evaluate.metrics: valid with a CAM, a warning that says why there will be none without one. */
import * as assert from 'node:assert/strict';
import { DataScanner } from '../../server/src/dsl/files';
import { resolveExperiment } from '../../server/src/dsl/resolve';
import { analyze } from '../../server/src/dsl/validate';
import { describe as show, expectOne } from './helpers';

const exp = (arch: string) => `experiment a {\n  data { source = builtin("decoy-mnist") }\n  model { arch = ${arch} }\n  evaluate { metrics = [accuracy, consistency] }\n}\n`;
const check = (text: string) => analyze(text, { scanner: new DataScanner(0) });

describe('dsl: the consistency metric', () => {
  it('is accepted for a model with a CAM and reaches resolved.json (what makes the engines write the CAM file)', () => {
    const a = check(exp('small_cnn'));
    assert.deepEqual(a.diagnostics, [], show(a));
    const resolved = resolveExperiment(a, 'a') as unknown as { evaluate: { metrics: string[] } };
    assert.deepEqual(resolved.evaluate.metrics, ['accuracy', 'consistency']);
  });

  it('warns that an architecture without a CAM gives no consistency (not "input×gradient instead")', () => {
    const a = check(exp('mlp'));
    const d = expectOne(a, { code: 'incompatible', severity: 'warning', text: '[accuracy, consistency]', words: ["'mlp' has no CAM", 'no CAM file is written'] });
    assert.ok(!d.message.includes('input×gradient'), d.message);
  });
});
