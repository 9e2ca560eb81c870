import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { resolveExperiment, toJson } from '../../server/src/dsl/resolve';
import { EXPERIMENT_SCHEMA, type BlockSchema } from '../../server/src/dsl/schema';
import { analyze } from '../../server/src/dsl/validate';
import { parseValueText } from '../../server/src/dsl/values';
import { EXAMPLE_PATH } from './helpers';

function resolve(text: string, name: string) {
  return resolveExperiment(analyze(text), name);
}

describe('dsl resolver', () => {
  it('fills every default of a minimal experiment', () => {
    const r = resolve('experiment a {\n  data { source = builtin("decoy-mnist") }\n}\n', 'a');
    assert.deepEqual(r, {
      name: 'a',
      extends: [],
      seed: 0,
      allow_outside_workspace: false,
      data: {
        source: { type: 'builtin', name: 'decoy-mnist' },
        image_size: 28,
        annotated: 1,
        annotation: 'saliency',
        normalize: 'none',
        val_split: 0.1,
      },
      model: { arch: 'small_cnn', width: 32 },
      guidance: { loss: 'none' },
      train: {
        epochs: 5,
        batch: 64,
        optimizer: { type: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, weight_decay: 0 },
        schedule: { type: 'constant' },
        engine: 'auto',
        backend: 'auto',
        device: 'auto',
        devices: 1,
        nodes: 1,
        workers: 2,
        checkpoint: 'best',
      },
      preview: { every: { value: 50, unit: 'steps' }, samples: 8 },
      evaluate: { sets: ['val', 'test'], metrics: ['accuracy', 'saliency_mse', 'saliency_corr'] },
    });
  });

  it('has a value for every key that applies, and only for those', () => {
    const r = resolve('experiment a {\n  data { source = folder("d") }\n  guidance { loss = cyborg }\n}\n', 'a')!;
    const walk = (schema: BlockSchema, obj: Record<string, unknown>, prefix: string) => {
      for (const key of Object.keys(schema.keys)) {
        const applies = !['model.hidden', 'model.pretrained', 'data.boxes', 'description', 'guidance.lambda', 'guidance.irrelevant'].includes(prefix + key);
        assert.equal(key in obj, applies, prefix + key);
      }
      for (const [name, sub] of Object.entries(schema.blocks ?? {})) walk(sub, obj[name] as Record<string, unknown>, `${prefix}${name}.`);
    };
    walk(EXPERIMENT_SCHEMA, r as Record<string, unknown>, '');
    assert.deepEqual(r.data, {
      source: { type: 'folder', path: 'd' },
      image_size: 224,
      annotated: 1,
      annotation: 'saliency',
      images: 'images',
      labels: 'labels.csv',
      saliency: 'saliency',
      normalize: 'none',
      val_split: 0.1,
      test_split: 0.1,
    });
    assert.deepEqual(r.guidance, { loss: 'cyborg', alpha: 0.5, attribution: 'cam', layer: 'final', cam_class: 'label', missing_saliency: 'skip' });
  });

  it('converts percentages to fractions, durations to {value, unit}, calls to {type, …}', () => {
    const text = `experiment a {
  data { source = builtin("mnist")  annotated = 5%  val_split = 12.5% }
  train {
    optimizer = sgd { lr = 0.005  weight_decay = 1e-6 }
    schedule  = step { every = 12 epochs }
  }
  preview { every = 2 epochs }
}
`;
    const r = resolve(text, 'a')!;
    const data = r.data as Record<string, unknown>;
    assert.equal(data.annotated, 0.05);
    assert.equal(data.val_split, 0.125);
    const train = r.train as Record<string, unknown>;
    assert.deepEqual(train.optimizer, { type: 'sgd', lr: 0.005, momentum: 0.9, weight_decay: 1e-6 });
    assert.deepEqual(train.schedule, { type: 'step', every: { value: 12, unit: 'epochs' }, gamma: 0.1 });
    assert.deepEqual((r.preview as Record<string, unknown>).every, { value: 2, unit: 'epochs' });
  });

  it('fills defaults that depend on other settings', () => {
    const r = resolve('experiment a {\n  data { source = builtin("mnist") }\n  guidance { loss = rrr }\n}\n', 'a')!;
    assert.equal((r.guidance as Record<string, unknown>).lambda, 1000);
    const e = resolve('experiment a {\n  data { source = builtin("mnist") }\n  guidance { loss = energy }\n}\n', 'a')!;
    assert.equal((e.guidance as Record<string, unknown>).lambda, 1);
  });

  it('inherits through extends, nearest setting first', () => {
    const text = `experiment a {
  seed = 1
  data { source = builtin("decoy-mnist") }
  guidance { loss = cyborg  alpha = 0.3 }
  train { optimizer = sgd { lr = 0.005  momentum = 0.5 } }
}
experiment b extends a {
  guidance { alpha = 0.6 }
}
experiment c extends b {
  seed = 3
  train { optimizer = sgd { lr = 0.01 } }
}
`;
    const r = resolve(text, 'c')!;
    assert.deepEqual(r.extends, ['b', 'a']);
    assert.equal(r.seed, 3);
    assert.deepEqual(r.data && (r.data as Record<string, unknown>).source, { type: 'builtin', name: 'decoy-mnist' });
    assert.equal((r.guidance as Record<string, unknown>).loss, 'cyborg');
    assert.equal((r.guidance as Record<string, unknown>).alpha, 0.6);
    // a call value is replaced whole: the parent's momentum does not carry over
    assert.deepEqual((r.train as Record<string, unknown>).optimizer, { type: 'sgd', lr: 0.01, momentum: 0.9, weight_decay: 0 });
    assert.equal(resolve(text, 'a')!.seed, 1);
  });

  it('resolves the Decoy MNIST pair', () => {
    const a = analyze(fs.readFileSync(EXAMPLE_PATH, 'utf8'));
    const ce = resolveExperiment(a, 'decoy_ce')!;
    const cyborg = resolveExperiment(a, 'decoy_cyborg')!;
    assert.equal((ce.guidance as Record<string, unknown>).loss, 'none');
    assert.deepEqual(cyborg.guidance, { loss: 'cyborg', alpha: 0.5, attribution: 'cam', layer: 'final', cam_class: 'label', missing_saliency: 'skip' });
    assert.deepEqual(cyborg.train, ce.train);
    assert.deepEqual(cyborg.data, ce.data);
  });

  it('returns undefined when the experiment or what it extends has errors', () => {
    assert.equal(resolve('experiment a {\n  data { source = builtin("mnist") }\n  seed = -1\n}\n', 'a'), undefined);
    assert.equal(resolve('experiment a {\n  seed = 1\n}\n', 'a'), undefined);
    const text = 'experiment a {\n  data { source = builtin("mnist") }\n  train { epochs = 0 }\n}\nexperiment b extends a {\n  seed = 2\n}\nexperiment c {\n  data { source = builtin("mnist") }\n}\n';
    assert.equal(resolve(text, 'b'), undefined);
    assert.notEqual(resolve(text, 'c'), undefined);
    assert.equal(resolve(text, 'nope'), undefined);
    assert.equal(resolve('experiment a extends b { data { source = builtin("mnist") } }\nexperiment b extends a {}', 'a'), undefined);
  });

  it('resolves despite warnings', () => {
    const r = resolve('experiment a {\n  data { source = builtin("mnist") }\n  evaluate { metrics = [accuracy, accuracy] }\n}\n', 'a');
    assert.deepEqual((r!.evaluate as Record<string, unknown>).metrics, ['accuracy', 'accuracy']);
  });

  it('toJson converts each value type', () => {
    const v = (t: string) => parseValueText(t)!;
    assert.equal(toJson(v('7'), { type: 'int' }), 7);
    assert.equal(toJson(v('25%'), { type: 'percent' }), 0.25);
    assert.deepEqual(toJson(v('3 epoch'), { type: 'duration', units: ['steps', 'epochs'] }), { value: 3, unit: 'epochs' });
    assert.equal(toJson(v('true'), { type: 'bool' }), true);
    assert.equal(toJson(v('"x"'), { type: 'path', pathKind: 'dir' }), 'x');
    assert.deepEqual(toJson(v('[1, 2]'), { type: 'list', item: { type: 'int' } }), [1, 2]);
    assert.equal(toJson(v('nope'), { type: 'call', variants: { a: { doc: '' } } }), null);
  });
});
