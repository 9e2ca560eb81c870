/** The torch engine's availability as the validator sees it (an injected, cached probe). */
import * as assert from 'node:assert/strict';
import { analyze } from '../../../server/src/dsl/validate';

const SGT = (train: string, model = 'small_cnn') => `experiment e {
  data { source = builtin("decoy-mnist") }
  model { arch = ${model} }
  train { ${train} }
}
`;

describe('torch availability in the validator', () => {
  const missing = { available: false, detail: 'PyTorch is not importable (tried python3: not found): install PyTorch' };

  it('warns on `engine = torch` when PyTorch is missing, at the engine setting, saying how to install it', () => {
    const text = SGT('engine = torch');
    const d = analyze(text, { torch: () => missing }).diagnostics.filter((x) => x.code === 'engine-unavailable');
    assert.equal(d.length, 1);
    assert.equal(d[0].severity, 'warning');
    assert.equal(text.slice(d[0].start, d[0].end), 'torch');
    assert.match(d[0].message, /^This experiment trains on the torch engine, which cannot run here: PyTorch is not importable .*install PyTorch$/);
  });

  it('also when `auto` must pick torch (a torch-only architecture), and never when PyTorch is there', () => {
    assert.equal(analyze(SGT('engine = auto', 'resnet18'), { torch: () => missing }).diagnostics.filter((x) => x.code === 'engine-unavailable').length, 1);
    assert.equal(analyze(SGT('engine = torch'), { torch: () => ({ available: true, detail: 'PyTorch 2' }) }).diagnostics.filter((x) => x.code === 'engine-unavailable').length, 0);
  });

  it('does not probe for tfjs experiments, nor without a probe', () => {
    let asked = 0;
    const probe = () => (asked++, missing);
    analyze(SGT('engine = tfjs'), { torch: probe });
    analyze(SGT('engine = auto'), { torch: probe });
    assert.equal(asked, 0);
    assert.equal(analyze(SGT('engine = torch')).diagnostics.filter((x) => x.code === 'engine-unavailable').length, 0);
  });
});
