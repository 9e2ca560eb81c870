/** The torch engine's availability as the validator sees it (an injected, cached probe). */
import * as assert from 'node:assert/strict';
import { analyze } from '../../../server/src/dsl/validate';
import { clearTorchProbeCache, findTorch, torchAvailabilityNow } from '../../../server/src/engines/torch/python';

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

  it('while the probe is still running there is no verdict and no warning', () => {
    assert.equal(analyze(SGT('engine = torch'), { torch: () => undefined }).diagnostics.filter((x) => x.code === 'engine-unavailable').length, 0);
  });

  it('the language server probes in the background: no answer at first, a callback, then the answer findTorch gives', async function () {
    this.timeout(120_000);
    const env = { ...process.env, SGT_PYTHON: '/nonexistent/python3' };
    clearTorchProbeCache();
    let done!: () => void;
    const called = new Promise<void>((resolve) => (done = resolve));
    assert.equal(torchAvailabilityNow(done, env), undefined, 'no blocking probe');
    assert.equal(torchAvailabilityNow(() => assert.fail('one probe at a time'), env), undefined);
    await called;
    const now = torchAvailabilityNow(() => assert.fail('cached: no second probe'), env);
    assert.ok(now, 'an answer once probed');
    clearTorchProbeCache();
    const sync = findTorch(env);
    assert.equal(now.available, sync.ok);
    if (!sync.ok) assert.match(now.detail, /SGT_PYTHON=\/nonexistent\/python3: not found/);
    else assert.match(now.detail, new RegExp(`^PyTorch ${sync.torch.replace(/[.+]/g, '\\$&')} \\(${sync.python}\\)`));
    clearTorchProbeCache();
  });
});
