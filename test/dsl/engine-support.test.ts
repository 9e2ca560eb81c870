/**
 * dsl/engine-support.ts: the tfjs engine trains every guidance value of the schema (so the
 * validator refuses none of them on `engine = tfjs`), and a value outside its list would be
 * named as torch-only; the tfjs engine's configuration accepts exactly that list.
 */
import * as assert from 'node:assert/strict';
import { EXPERIMENT_SCHEMA } from '../../server/src/dsl/schema';
import { TFJS_GUIDANCE, torchOnlyGuidance } from '../../server/src/dsl/engine-support';
import { ConfigError, parseConfig } from '../../server/src/engines/tfjs/config';

const guidanceValues = (key: string): string[] => {
  const t = EXPERIMENT_SCHEMA.blocks!.guidance.keys[key].type as { type: string; values?: Record<string, string> };
  assert.equal(t.type, 'enum', key);
  return Object.keys(t.values!);
};

describe('engine support of guidance settings', () => {
  it('the tfjs engine trains every loss, attribution, layer and irrelevant region of the schema', () => {
    for (const key of ['loss', 'attribution', 'layer', 'irrelevant'] as const) {
      assert.deepEqual([...guidanceValues(key)].sort(), [...TFJS_GUIDANCE[key]].sort(), key);
    }
    for (const loss of guidanceValues('loss')) {
      for (const attribution of guidanceValues('attribution')) {
        for (const layer of guidanceValues('layer')) {
          for (const irrelevant of guidanceValues('irrelevant')) assert.equal(torchOnlyGuidance({ loss, attribution, layer, irrelevant }), undefined);
        }
      }
    }
  });

  it('names a setting the tfjs engine lacks; no guidance is never torch-only', () => {
    assert.deepEqual(torchOnlyGuidance({ loss: 'gradient_penalty' }), { key: 'guidance.loss', setting: 'loss = gradient_penalty' });
    assert.deepEqual(torchOnlyGuidance({ loss: 'energy', layer: 'stage4' }), { key: 'guidance.layer', setting: 'layer = stage4' });
    assert.equal(torchOnlyGuidance({ loss: 'none', attribution: 'anything' }), undefined);
  });

  it("the tfjs engine's configuration accepts exactly these values", () => {
    const base = { data: { source: { type: 'builtin', name: 'decoy-mnist' } }, model: { arch: 'small_cnn' } };
    for (const key of ['loss', 'attribution', 'layer', 'irrelevant'] as const) {
      for (const value of TFJS_GUIDANCE[key]) {
        const guidance = { loss: 'energy', attribution: 'ixg', layer: 'final', [key]: value };
        if (key === 'attribution' && value === 'cam') guidance.layer = 'final';
        assert.equal(parseConfig({ ...base, guidance }, '/r').guidance[key], value);
      }
      assert.throws(() => parseConfig({ ...base, guidance: { loss: 'energy', [key]: 'other' } }, '/r'), (e: Error) => e instanceof ConfigError && e.message.includes(`guidance.${key} = other is not supported by the tfjs engine`));
    }
  });
});
