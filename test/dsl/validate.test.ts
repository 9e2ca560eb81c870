import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DIAGNOSTIC_CODES, type DiagnosticCode } from '../../server/src/dsl/diagnostics';
import { DataScanner } from '../../server/src/dsl/files';
import { analyze, didYouMean, type AnalyzeOptions, type Analysis } from '../../server/src/dsl/validate';
import { EXAMPLE_PATH, applyFix, codes, describe as show, expectOne, fixAndReanalyze, tempDir } from './helpers';

/** Codes produced by the tests of this file: the last test checks that every code was. */
const produced = new Set<DiagnosticCode>();

function check(text: string, options: AnalyzeOptions = {}): Analysis {
  const a = analyze(text, { scanner: new DataScanner(0), ...options });
  for (const d of a.diagnostics) produced.add(d.code);
  return a;
}

/** An experiment with a valid data source plus `body`. */
function exp(body: string, name = 'a'): string {
  return `experiment ${name} {\n  data { source = builtin("decoy-mnist") }\n${body}\n}\n`;
}

function clean(a: Analysis): void {
  assert.deepEqual(a.diagnostics, [], show(a));
}

describe('dsl validator', () => {
  it('finds nothing wrong in the Decoy MNIST example', () => {
    const text = fs.readFileSync(EXAMPLE_PATH, 'utf8');
    const a = check(text, { filePath: EXAMPLE_PATH, workspaceRoot: path.resolve(EXAMPLE_PATH, '..', '..', '..') });
    clean(a);
    assert.deepEqual([...a.experiments.keys()], ['decoy_ce', 'decoy_cyborg']);
  });

  it('accepts a minimal experiment (only data.source is required)', () => {
    clean(check('experiment a {\n  data { source = builtin("mnist") }\n}\n'));
  });

  describe('syntax errors are reported by analyze too', () => {
    it('syntax', () => {
      const a = check(exp('  seed 1'));
      expectOne(a, { code: 'syntax', severity: 'error', text: '1', words: ['Expected', "'seed'"] });
    });
    it('unterminated-string', () => {
      const a = check(exp('  description = "abc'));
      expectOne(a, { code: 'unterminated-string', severity: 'error', text: '"abc', words: ['closing quote'] });
    });
    it('unclosed-block', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist") }\n');
      expectOne(a, { code: 'unclosed-block', severity: 'error', text: '{', words: ['never closed'] });
    });
    it('unexpected-character', () => {
      const a = check(exp('  seed = 1 $'));
      expectOne(a, { code: 'unexpected-character', severity: 'error', text: '$', words: ["'$'"] });
    });
  });

  describe('structure', () => {
    it('unknown-key with a did-you-mean fix', () => {
      const a = check(exp('  sed = 1'));
      const d = expectOne(a, { code: 'unknown-key', severity: 'error', text: 'sed', words: ["'sed'", "Did you mean 'seed'?"] });
      assert.equal(d.fixes?.[0].title, "Change to 'seed'");
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-key that belongs in another block says where', () => {
      const a = check(exp('  lr = 0.1'));
      const d = expectOne(a, { code: 'unknown-key', severity: 'error', text: 'lr', words: ["'lr' belongs in", "'train.optimizer = sgd { … }'", "'train.optimizer = adam { … }'"] });
      assert.equal(d.fixes, undefined);
      const b = check(exp('  train { alpha = 0.5 }'));
      expectOne(b, { code: 'unknown-key', severity: 'error', text: 'alpha', words: ["in 'train'", "belongs in 'guidance'"] });
    });

    it('unknown-key with nothing close lists the valid keys', () => {
      const a = check(exp('  model { zzzzzz = 1 }'));
      expectOne(a, { code: 'unknown-key', severity: 'error', text: 'zzzzzz', words: ['Valid here', 'arch', 'width'] });
    });

    it('unknown-key inside call options', () => {
      const a = check(exp('  train { optimizer = adam { lrr = 0.1 } }'));
      const d = expectOne(a, { code: 'unknown-key', severity: 'error', text: 'lrr', words: ["'train.optimizer.adam'", "Did you mean 'lr'?"] });
      clean(fixAndReanalyze(a, d));
    });

    it('names of Object.prototype members are unknown keys and values, not crashes', () => {
      const a = check(exp('  constructor = 1\n  model { arch = toString }\n  train { optimizer = adam { hasOwnProperty = 1 } }'));
      assert.deepEqual(codes(a).sort(), ['unknown-key', 'unknown-key', 'unknown-value']);
    });

    it('unknown-block with a did-you-mean fix', () => {
      const a = check(exp('  trian { epochs = 1 }'));
      const d = expectOne(a, { code: 'unknown-block', severity: 'error', text: 'trian', words: ["block 'trian'", "Did you mean 'train'?"] });
      clean(fixAndReanalyze(a, d));
    });

    it('duplicate-key, fixed by removing the second one', () => {
      const a = check(exp('  seed = 1\n  seed = 2'));
      const d = expectOne(a, { code: 'duplicate-key', severity: 'error', text: 'seed', words: ["'seed' is already set on line 3"] });
      assert.equal(d.start, a.text.lastIndexOf('seed'));
      const fixed = fixAndReanalyze(a, d);
      clean(fixed);
      assert.ok(fixed.text.includes('seed = 1') && !fixed.text.includes('seed = 2'));
    });

    it('duplicate-experiment', () => {
      const a = check(exp('') + exp(''));
      const d = expectOne(a, { code: 'duplicate-experiment', severity: 'error', text: 'a', words: ["'a' is already defined on line 1"] });
      assert.ok(d.start > a.text.indexOf('}\n'));
    });

    it('missing-key with a fix that adds the block and the key', () => {
      const a = check('experiment a {\n  seed = 1\n}\n');
      const d = expectOne(a, { code: 'missing-key', severity: 'error', text: 'a', words: ["'data.source'", 'builtin("decoy-mnist")'] });
      const fixed = fixAndReanalyze(a, d);
      clean(fixed);
      assert.equal(fixed.text, 'experiment a {\n  data { source = builtin("decoy-mnist") }\n  seed = 1\n}\n');
    });

    it('missing-key with a fix that adds the key to the existing block', () => {
      const a = check('experiment a {\n  data {\n    image_size = 28\n  }\n}\n');
      const d = expectOne(a, { code: 'missing-key', severity: 'error', text: 'a', words: ["'data.source'"] });
      const fixed = fixAndReanalyze(a, d);
      assert.ok(!codes(fixed).includes('missing-key'), show(fixed));
      clean(fixed);
    });

    it('not-a-block, both ways', () => {
      const a = check(exp('  seed { x = 1 }'));
      expectOne(a, { code: 'not-a-block', severity: 'error', text: 'seed', words: ['takes a value, not a block', '`seed = …`'] });
      const b = check(exp('  train = 5'));
      expectOne(b, { code: 'not-a-block', severity: 'error', text: 'train', words: ["'train' is a block", '`train { … }`'] });
    });
  });

  describe('values', () => {
    it('wrong-type', () => {
      const a = check(exp('  seed = "x"'));
      expectOne(a, { code: 'wrong-type', severity: 'error', text: '"x"', words: ["'seed' must be", 'integer', '`"x"`'] });
      const b = check(exp('  allow_outside_workspace = yes'));
      expectOne(b, { code: 'wrong-type', severity: 'error', text: 'yes', words: ['`true` or `false`'] });
      const c = check(exp('  train { epochs = 2.5 }'));
      expectOne(c, { code: 'wrong-type', severity: 'error', text: '2.5', words: ['integer'] });
      const d = check(exp('  evaluate { metrics = [] }'));
      expectOne(d, { code: 'wrong-type', severity: 'error', text: '[]', words: ['at least 1 item'] });
    });

    it('wrong-type: a fraction for a percentage, fixed to a percentage', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist")  annotated = 0.5 }\n}\n');
      const d = expectOne(a, { code: 'wrong-type', severity: 'error', text: '0.5', words: ["'annotated' is a percentage", "'%'"] });
      assert.equal(d.fixes?.[0].title, 'Write 50%');
      clean(fixAndReanalyze(a, d));
    });

    it('wrong-type: an unquoted path, fixed by quoting it', () => {
      const a = check('experiment a {\n  data { source = folder(faces) }\n}\n');
      const d = expectOne(a, { code: 'wrong-type', severity: 'error', text: 'faces', words: ['folder path in double quotes'] });
      const fixed = fixAndReanalyze(a, d);
      assert.ok(fixed.text.includes('folder("faces")'));
      assert.ok(!codes(fixed).includes('wrong-type'));
    });

    it('wrong-type: a single value for a list, fixed by bracketing it', () => {
      const a = check(exp('  evaluate { metrics = accuracy }'));
      const d = expectOne(a, { code: 'wrong-type', severity: 'error', text: 'accuracy', words: ['list'] });
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-value with a did-you-mean fix', () => {
      const a = check(exp('  model { arch = small_cn }'));
      const d = expectOne(a, { code: 'unknown-value', severity: 'error', text: 'small_cn', words: ["'small_cn' is not a valid arch", "did you mean 'small_cnn'?", 'Allowed:', 'resnet18'] });
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-value for a call variant', () => {
      const a = check(exp('  train { optimizer = adma { lr = 0.01 } }'));
      const d = expectOne(a, { code: 'unknown-value', severity: 'error', text: 'adma', words: ["did you mean 'adam'?"] });
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-value in a list', () => {
      const a = check(exp('  evaluate { metrics = [accuracy, sailency_mse] }'));
      const d = expectOne(a, { code: 'unknown-value', severity: 'error', text: 'sailency_mse', words: ["did you mean 'saliency_mse'?"] });
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-builtin with a did-you-mean fix', () => {
      const a = check('experiment a {\n  data { source = builtin("decoy-mnsit") }\n}\n');
      const d = expectOne(a, { code: 'unknown-builtin', severity: 'error', text: '"decoy-mnsit"', words: ["'decoy-mnsit'", "did you mean 'decoy-mnist'?", 'mnist'] });
      clean(fixAndReanalyze(a, d));
    });

    it('out-of-range with clamp fixes', () => {
      const cases: [string, string, string, string][] = [
        ['  train { epochs = 0 }', '0', 'Clamp to 1', 'between 1 and 100000'],
        ['  guidance { loss = cyborg  alpha = 1.5 }', '1.5', 'Clamp to 1', 'between 0 and 1'],
        ['  model { width = 1000 }', '1000', 'Clamp to 512', 'between 4 and 512'],
        ['  seed = -1', '-1', 'Clamp to 0', 'between 0 and'],
      ];
      for (const [body, under, title, words] of cases) {
        const a = check(exp(body));
        const d = expectOne(a, { code: 'out-of-range', severity: 'error', text: under, words: [words, `found ${under}`] });
        assert.equal(d.fixes?.[0].title, title);
        clean(fixAndReanalyze(a, d));
      }
    });

    it('out-of-range for a percentage and an exclusive minimum', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist")  annotated = 150% }\n}\n');
      const d = expectOne(a, { code: 'out-of-range', severity: 'error', text: '150%', words: ['between 0% and 100%'] });
      assert.equal(d.fixes?.[0].title, 'Clamp to 100%');
      clean(fixAndReanalyze(a, d));
      const b = check(exp('  train { optimizer = adam { lr = 0 } }'));
      const e = expectOne(b, { code: 'out-of-range', severity: 'error', text: '0', words: ['(0 excluded)'] });
      assert.equal(e.fixes, undefined);
    });

    it('bad-unit: a unit where none is allowed, fixed by removing it', () => {
      const a = check(exp('  train { epochs = 5 steps }'));
      const d = expectOne(a, { code: 'bad-unit', severity: 'error', text: 'steps', words: ["'epochs' takes a plain integer", "not 'steps'"] });
      clean(fixAndReanalyze(a, d));
    });

    it('bad-unit: a duration without a unit, fixed by adding one', () => {
      const a = check(exp('  preview { every = 50 }'));
      const d = expectOne(a, { code: 'bad-unit', severity: 'error', text: '50', words: ['needs a unit', '`50 steps`', '`50 epochs`'] });
      const fixed = fixAndReanalyze(a, d);
      clean(fixed);
      assert.ok(fixed.text.includes('every = 50 steps'));
    });

    it('bad-unit: a misspelt unit, fixed by did-you-mean', () => {
      const a = check(exp('  preview { every = 50 stepz }'));
      const d = expectOne(a, { code: 'bad-unit', severity: 'error', text: 'stepz', words: ["not 'stepz'"] });
      clean(fixAndReanalyze(a, d));
    });

    it('bad-unit: a unit on a percentage', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist")  annotated = 50 px }\n}\n');
      expectOne(a, { code: 'bad-unit', severity: 'error', text: '50 px', words: ['percentage'] });
    });

    it('accepts the optional px on image_size', () => {
      clean(check('experiment a {\n  data { source = builtin("mnist")  image_size = 28 px }\n}\n'));
    });

    it('bad-arguments', () => {
      const a = check('experiment a {\n  data { source = builtin() }\n}\n');
      expectOne(a, { code: 'bad-arguments', severity: 'error', text: 'builtin()', words: ['takes 1 argument (name), found 0'] });
      const b = check('experiment a {\n  data { source = builtin }\n}\n');
      expectOne(b, { code: 'bad-arguments', severity: 'error', text: 'builtin', words: ["'builtin' needs name", '`builtin(name)`'] });
      const c = check(exp('  train { optimizer = adam(1) }'));
      expectOne(c, { code: 'bad-arguments', severity: 'error', text: 'adam(1)', words: ['takes no arguments in parentheses', '`adam { … }`'] });
      const d = check(exp('  train { schedule = cosine { x = 1 } }'));
      expectOne(d, { code: 'bad-arguments', severity: 'error', text: '{ x = 1 }', words: ["'cosine' takes no options"] });
    });

    it('duplicate-item', () => {
      const a = check(exp('  evaluate { metrics = [accuracy, accuracy] }'));
      const d = expectOne(a, { code: 'duplicate-item', severity: 'warning', text: 'accuracy', words: ['`accuracy` is listed twice', "'metrics'"] });
      assert.equal(d.start, a.text.lastIndexOf('accuracy'));
    });
  });

  describe('extends', () => {
    it('unknown-extends with a did-you-mean fix', () => {
      const text = exp('', 'base') + 'experiment child extends bsae {\n  seed = 2\n}\n';
      const a = check(text);
      const d = expectOne(a, { code: 'unknown-extends', severity: 'error', text: 'bsae', words: ["No experiment named 'bsae'", "did you mean 'base'?"] });
      clean(fixAndReanalyze(a, d));
    });

    it('unknown-extends with nothing close lists the experiments', () => {
      const a = check(exp('', 'base') + 'experiment child extends zzz {\n  seed = 2\n}\n');
      expectOne(a, { code: 'unknown-extends', severity: 'error', text: 'zzz', words: ['Experiments here: base'] });
    });

    it('cyclic-extends', () => {
      const text = 'experiment a extends b {\n  data { source = builtin("mnist") }\n}\nexperiment b extends a {\n  seed = 1\n}\n';
      const a = check(text);
      const found = a.diagnostics.filter((d) => d.code === 'cyclic-extends');
      assert.equal(found.length, 2, show(a));
      assert.deepEqual(
        found.map((d) => [d.severity, a.text.slice(d.start, d.end)]),
        [
          ['error', 'b'],
          ['error', 'a'],
        ],
      );
      assert.match(found[0].message, /a → b → a/);
      assert.equal(codes(a).length, 2, show(a));
    });

    it('a child inherits settings (loss) and required keys', () => {
      const text = 'experiment parent {\n  data { source = builtin("decoy-mnist") }\n  guidance { loss = cyborg  alpha = 0.3 }\n}\nexperiment child extends parent {\n  guidance { alpha = 0.7 }\n}\n';
      const a = check(text);
      clean(a);
      const child = a.experiments.get('child')!;
      assert.deepEqual(
        child.chain.map((e) => e.name?.name),
        ['child', 'parent'],
      );
      assert.equal(child.lookup('guidance.loss'), 'cyborg');
      assert.equal(child.settings.get('guidance.loss')!.from.name?.name, 'parent');
      assert.equal(child.lookup('guidance.alpha'), '0.7');
      assert.equal(child.lookup('data.source'), 'builtin("decoy-mnist")');
      // defaults fill what nobody sets
      assert.equal(child.lookup('train.epochs'), '5');
    });

    it('a child is not warned about its parent\'s settings, only its own', () => {
      const text = 'experiment parent {\n  data { source = builtin("decoy-mnist") }\n  guidance { loss = cyborg }\n}\nexperiment child extends parent {\n  guidance { lambda = 2 }\n}\n';
      const a = check(text);
      expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'lambda', words: ["'lambda' has no effect with guidance.loss = cyborg"] });
    });
  });

  describe('cross-key rules', () => {
    it('alpha only applies to cyborg', () => {
      const a = check(exp('  guidance { loss = energy  alpha = 0.5 }'));
      const d = expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'alpha', words: ["'alpha' has no effect with guidance.loss = energy", 'cyborg'] });
      const fixed = fixAndReanalyze(a, d);
      clean(fixed);
      assert.ok(!fixed.text.includes('alpha'));
      clean(check(exp('  guidance { loss = cyborg  alpha = 0.5 }')));
    });

    it('lambda only applies to energy, l1, ppce, rrr_star and rrr', () => {
      const a = check(exp('  guidance { loss = cyborg  lambda = 2 }'));
      expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'lambda', words: ['energy | l1 | ppce | rrr_star | rrr'] });
      for (const loss of ['energy', 'l1', 'ppce', 'rrr_star', 'rrr']) clean(check(exp(`  guidance { loss = ${loss}  lambda = 2 }`)));
    });

    it('a not-applicable key on a line of its own is removed with its line', () => {
      const a = check(exp('  guidance {\n    loss = none\n    alpha = 0.5\n  }'));
      const d = expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'alpha' });
      assert.equal(applyFix(a.text, d.fixes![0]), exp('  guidance {\n    loss = none\n  }'));
    });

    it('CAM needs a global-average-pool + linear head (not mlp)', () => {
      const a = check(exp('  model { arch = mlp }\n  guidance { loss = cyborg }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'cyborg', words: ["CAM needs a global-average-pool + linear head", "'mlp'"] });
      clean(check(exp('  model { arch = mlp }\n  guidance { loss = energy  attribution = ixg  layer = input }')));
    });

    it('attributions of an mlp only at the input (its hidden layers are not images)', () => {
      const a = check(exp('  model { arch = mlp }\n  guidance { loss = energy  attribution = ixg  layer = mid }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'mid', words: ["The mlp's hidden layers have no spatial layout", "layer 'mid'", '`layer = input`'] });
      // the default layer is final: reported at the attribution the experiment sets
      expectOne(check(exp('  model { arch = mlp }\n  guidance { loss = l1  attribution = gradcam }')), { code: 'incompatible', severity: 'error', text: 'gradcam', words: ["layer 'final'"] });
      clean(check(exp('  model { arch = mlp }\n  guidance { loss = rrr }')));
    });

    it('ImageNet normalisation on a grayscale built-in data set', () => {
      const a = check('experiment a {\n  data { source = builtin("decoy-mnist")  normalize = imagenet }\n}\n');
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'imagenet', words: ['RGB statistics', "'decoy-mnist' is grayscale", '`normalize = dataset`'] });
      clean(check('experiment a {\n  data { source = builtin("decoy-mnist")  normalize = dataset }\n}\n'));
    });

    it('CAM only at layer final', () => {
      const a = check(exp('  guidance { loss = cyborg  layer = mid }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'mid', words: ['CAM is defined at the final conv block only', '`layer = final`'] });
      clean(check(exp('  guidance { loss = energy  attribution = gradcam  layer = mid }')));
    });

    it('GradCAM not at the input', () => {
      const a = check(exp('  guidance { loss = energy  attribution = gradcam  layer = input }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'input', words: ['GradCAM at the input', '`attribution = ixg`'] });
      clean(check(exp('  guidance { loss = energy  attribution = ixg  layer = input }')));
    });

    it('torch-only architectures with engine tfjs', () => {
      const text = 'experiment a {\n  data { source = builtin("decoy-mnist")  image_size = 32 }\n  model { arch = resnet18 }\n  train { engine = tfjs }\n}\n';
      const a = check(text);
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'tfjs', words: ["'resnet18' is only available in the torch engine", '`engine = torch`'] });
      clean(check(text.replace('tfjs', 'torch')));
    });

    it('image_size below the architecture minimum, with a fix', () => {
      const a = check('experiment a {\n  data { source = builtin("decoy-mnist")  image_size = 16 }\n  model { arch = resnet18 }\n}\n');
      const d = expectOne(a, { code: 'incompatible', severity: 'error', text: '16', words: ["'resnet18' needs images of at least 32 px", 'image_size is 16'] });
      assert.equal(d.fixes?.[0].title, 'Set image_size = 32');
      clean(fixAndReanalyze(a, d));
    });

    it('image_size below the minimum through the default of a built-in data set', () => {
      const a = check(exp('  model { arch = inception_v3 }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'inception_v3', words: ['at least 75 px', 'image_size is 28'] });
    });

    it('devices > 1 needs the torch engine', () => {
      const a = check(exp('  train { engine = tfjs  devices = 2 }'));
      expectOne(a, { code: 'incompatible', severity: 'error', text: '2', words: ['Distributed training (devices = 2)', '`engine = torch`'] });
      clean(check(exp('  train { engine = torch  devices = 2 }')));
    });

    it('the tfjs engine trains every guidance loss, attribution and layer (second-order gradients): no engine error', () => {
      for (const guidance of ['loss = energy  attribution = gradcam  layer = mid', 'loss = cyborg  attribution = ixg  layer = input', 'loss = rrr_star  attribution = ixg  layer = final  irrelevant = shortcut', 'loss = cyborg  attribution = cam', 'loss = none']) {
        for (const engine of ['tfjs', 'torch', 'auto']) clean(check(exp(`  guidance { ${guidance} }\n  train { engine = ${engine} }`)));
      }
      clean(check(exp('  guidance { loss = rrr }\n  model { arch = mlp }\n  train { engine = tfjs }')));
    });

    it('auto with guidance keeps tfjs: no torch-unavailable warning', () => {
      const torch = () => ({ available: false, detail: 'PyTorch is not importable (tried python3: not found): install PyTorch' });
      clean(check(exp('  guidance { loss = rrr_star  attribution = gradcam }'), { torch }));
      clean(check(exp('  guidance { loss = cyborg }'), { torch }));
    });

    it('the torch engine unavailable here (an injected probe): a warning at the engine setting', () => {
      const torch = () => ({ available: false, detail: 'PyTorch is not importable (tried python3: not found): install PyTorch' });
      expectOne(check(exp('  train { engine = torch }'), { torch }), { code: 'engine-unavailable', severity: 'warning', text: 'torch', words: ['cannot run here: PyTorch is not importable'] });
      clean(check(exp('  train { engine = tfjs }'), { torch }));
    });

    it('annotation = boxes without a boxes file', () => {
      const a = check('experiment a {\n  data { source = folder("data")  annotation = boxes }\n}\n');
      expectOne(a, { code: 'missing-key', severity: 'error', text: 'boxes', words: ['`annotation = boxes` needs `boxes = "boxes.json"`'] });
      clean(check('experiment a {\n  data { source = folder("data")  annotation = boxes  boxes = "boxes.json" }\n}\n'));
    });

    it('annotation = boxes on a built-in data set', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist")  annotation = boxes }\n}\n');
      expectOne(a, { code: 'incompatible', severity: 'error', text: 'boxes', words: ['Built-in data sets come with saliency maps'] });
    });

    it('auc on a 10-class built-in data set', () => {
      const a = check(exp('  evaluate { metrics = [accuracy, auc] }'));
      expectOne(a, { code: 'incompatible', severity: 'warning', text: '[accuracy, auc]', words: ['ROC AUC', "'decoy-mnist' has 10 classes"] });
    });

    it('saliency metrics on an architecture without CAM', () => {
      const a = check(exp('  model { arch = mlp }\n  evaluate { metrics = [accuracy, saliency_mse] }'));
      expectOne(a, { code: 'incompatible', severity: 'warning', text: '[accuracy, saliency_mse]', words: ['saliency_mse', "'mlp'"] });
    });

    it('a step schedule that never steps', () => {
      const a = check(exp('  train { epochs = 5  schedule = step { every = 10 epochs } }'));
      expectOne(a, { code: 'incompatible', severity: 'warning', text: 'step { every = 10 epochs }', words: ['every 10 epochs', 'lasts 5'] });
      clean(check(exp('  train { epochs = 30  schedule = step { every = 10 epochs } }')));
    });

    it('folder-only keys with a built-in data set', () => {
      const a = check('experiment a {\n  data { source = builtin("mnist")  labels = "x.csv" }\n}\n');
      expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'labels', words: ['data.source = builtin', 'folder'] });
    });
  });

  describe('data files', () => {
    let ws: ReturnType<typeof tempDir>;
    let file: string;
    const opts = (): AnalyzeOptions => ({ filePath: file, workspaceRoot: ws.dir });
    const folderExp = (folder: string, extra = '', loss = 'cyborg') => `experiment a {\n  data {\n    source = folder("${folder}")\n${extra}  }\n  guidance { loss = ${loss} }\n}\n`;

    beforeEach(() => {
      ws = tempDir();
      file = path.join(ws.dir, 'exp.sgt');
    });
    afterEach(() => ws.cleanup());

    it('path-not-found: the folder is missing', () => {
      const a = check(folderExp('nope'), opts());
      expectOne(a, { code: 'path-not-found', severity: 'error', text: '"nope"', words: ["Folder 'nope' not found", 'relative to this .sgt file'] });
    });

    it('path-not-found: the folder is a file', () => {
      ws.write('data');
      const a = check(folderExp('data'), opts());
      expectOne(a, { code: 'path-not-found', severity: 'error', text: '"data"', words: ['is a file'] });
    });

    it('path-not-found: no images folder', () => {
      ws.mkdir('data');
      const a = check(folderExp('data'), opts());
      expectOne(a, { code: 'path-not-found', severity: 'error', text: '"data"', words: ['No images folder', 'data/images'] });
    });

    it('path-not-found: a guided loss without a saliency folder', () => {
      ws.write('data/images/a.png');
      ws.write('data/images/b.png');
      ws.write('data/labels.csv', 'file,label\na.png,0\nb.png,1\n');
      const a = check(folderExp('data'), opts());
      expectOne(a, { code: 'path-not-found', severity: 'error', text: '"data"', words: ['No saliency folder', '`loss = cyborg` needs human saliency'] });
      clean(check(folderExp('data', '', 'none'), opts()));
    });

    it('no-images', () => {
      ws.mkdir('data/images/empty');
      ws.write('data/images/notes.txt');
      const a = check(folderExp('data'), opts());
      expectOne(a, { code: 'no-images', severity: 'error', text: '"data"', words: ['No PNG or JPEG images', 'data/images'] });
    });

    it('no-labels', () => {
      ws.write('data/images/a.png');
      ws.write('data/saliency/a.png');
      const a = check(folderExp('data'), opts());
      expectOne(a, { code: 'no-labels', severity: 'error', text: '"data"', words: ['No labels', 'data/labels.csv', 'sub-folder per class'] });
    });

    it('class sub-folders serve as labels', () => {
      ws.write('data/images/cat/a.png');
      ws.write('data/images/dog/b.jpg');
      ws.write('data/saliency/a.png');
      ws.write('data/saliency/b.png');
      const a = check(folderExp('data'), opts());
      clean(a);
      const data = a.experiments.get('a')!.data!;
      assert.equal(data.kind, 'folder');
      assert.equal(data.images, 2);
      assert.equal(data.classes, 2);
      assert.equal(data.annotatedImages, 2);
    });

    it('labels.csv gives the classes', () => {
      ws.write('data/images/a.png');
      ws.write('data/images/b.png');
      ws.write('data/images/c.png');
      ws.write('data/labels.csv', 'file,label,split\na.png,cat,train\nb.png,dog,train\nc.png,bird,test\n');
      const a = check(folderExp('data', '', 'none'), opts());
      clean(a);
      assert.equal(a.experiments.get('a')!.data!.classes, 3);
    });

    it('custom sub-folder names', () => {
      ws.write('data/pics/a.png');
      ws.write('data/pics/b.png');
      ws.write('data/y.csv', 'a.png,0\nb.png,1\n');
      ws.write('data/human/a.png');
      ws.write('data/human/b.png');
      clean(check(folderExp('data', '    images = "pics"\n    labels = "y.csv"\n    saliency = "human"\n'), opts()));
      const a = check(folderExp('data', '    images = "pictures"\n'), opts());
      expectOne(a, { code: 'path-not-found', severity: 'error', text: '"pictures"', words: ['No images folder'] });
    });

    describe('annotation coverage', () => {
      beforeEach(() => {
        for (let i = 0; i < 4; i++) ws.write(`data/images/img${i}.png`);
        ws.write('data/labels.csv', 'img0.png,0\nimg1.png,1\nimg2.png,0\nimg3.png,1\n');
        ws.write('data/saliency/img0.png');
        ws.write('data/saliency/img1.png');
      });

      it('warns when fewer images have a map than `annotated` asks for', () => {
        const a = check(folderExp('data', '    annotated = 75%\n'), opts());
        expectOne(a, { code: 'annotation-coverage', severity: 'warning', text: '75%', words: ['Only 2 of 4 images (50%)', 'annotated = 75%'] });
      });

      it('warns on the folder when `annotated` is the default 100%', () => {
        const a = check(folderExp('data'), opts());
        expectOne(a, { code: 'annotation-coverage', severity: 'warning', text: '"data"', words: ['Only 2 of 4', 'annotated = 100%'] });
      });

      it('is quiet when there are enough maps', () => {
        clean(check(folderExp('data', '    annotated = 50%\n'), opts()));
        clean(check(folderExp('data', '    annotated = 10%\n'), opts()));
      });

      it('is quiet without guidance', () => {
        clean(check(folderExp('data', '', 'none'), opts()));
      });

      it('warns on the child\'s loss when a child turns guidance on over an under-annotated parent', () => {
        const text = folderExp('data', '', 'none').replace('experiment a', 'experiment parent') + 'experiment child extends parent {\n  guidance { loss = cyborg }\n}\n';
        const a = check(text, opts());
        expectOne(a, { code: 'annotation-coverage', severity: 'warning', text: 'cyborg', words: ['Only 2 of 4'] });
      });

      it('a child inherits the parent\'s folder; problems are reported on the parent only', () => {
        const text = folderExp('data', '    annotated = 50%\n').replace('experiment a', 'experiment parent') + 'experiment child extends parent {\n  seed = 3\n}\n';
        const a = check(text, opts());
        clean(a);
        const child = a.experiments.get('child')!;
        assert.equal(child.data?.root, path.join(ws.dir, 'data'));
        assert.equal(child.data?.annotatedImages, 2);
        const missing = check(text.replace('"data"', '"nope"'), opts());
        expectOne(missing, { code: 'path-not-found', severity: 'error', text: '"nope"' });
        assert.ok(missing.diagnostics[0].start < missing.text.indexOf('experiment child'));
      });
    });

    it('bad-boxes: a boxes.json problem, by line, on the `boxes` value (more in test/dsl/boxes.test.ts)', () => {
      ws.write('data/images/a.png');
      ws.write('data/labels.csv', 'a.png,cat\n');
      ws.write('data/boxes.json', '{\n  "b.png": [[0, 0, 1, 1]]\n}');
      const a = check(folderExp('data', '    annotation = boxes\n    boxes = "boxes.json"\n', 'energy'), opts());
      expectOne(a, { code: 'bad-boxes', severity: 'error', text: '"boxes.json"', words: ['boxes.json:2:1: "b.png" is not an image of the data set'] });
    });

    describe('workspace paths', () => {
      let outside: ReturnType<typeof tempDir>;
      beforeEach(() => {
        outside = tempDir('sgt-outside-');
        outside.write('images/a.png');
        outside.write('labels.csv', 'a.png,0\n');
      });
      afterEach(() => outside.cleanup());

      it('`../x` is outside the workspace', () => {
        const a = check(folderExp('../x'), opts());
        expectOne(a, { code: 'path-outside-workspace', severity: 'error', text: '"../x"', words: ['outside the workspace folder', '`allow_outside_workspace = true`'] });
      });

      it('an absolute path outside the workspace', () => {
        const a = check(folderExp(outside.dir), opts());
        expectOne(a, { code: 'path-outside-workspace', severity: 'error', text: JSON.stringify(outside.dir), words: ['outside the workspace folder'] });
      });

      it('an absolute path inside the workspace is fine', () => {
        ws.write('data/images/a.png');
        ws.write('data/labels.csv', 'a.png,0\n');
        clean(check(folderExp(path.join(ws.dir, 'data'), '', 'none'), opts()));
      });

      it('a symbolic link inside the workspace that points outside', function () {
        try {
          fs.symlinkSync(outside.dir, path.join(ws.dir, 'link'), 'dir');
        } catch {
          this.skip(); // no symlinks on this file system
        }
        const a = check(folderExp('link'), opts());
        expectOne(a, { code: 'path-outside-workspace', severity: 'error', text: '"link"', words: ['outside the workspace folder'] });
      });

      it('a sub-folder that escapes the data folder', () => {
        ws.write('data/images/a.png');
        const a = check(folderExp('data', '    images = "../../elsewhere"\n'), opts());
        expectOne(a, { code: 'path-outside-workspace', severity: 'error', text: '"../../elsewhere"' });
      });

      it('allow_outside_workspace = true lifts the rule', () => {
        for (const folder of ['../x', outside.dir]) {
          const text = folderExp(folder, '', 'none').replace('experiment a {\n', 'experiment a {\n  allow_outside_workspace = true\n');
          const a = check(text, opts());
          assert.ok(!codes(a).includes('path-outside-workspace'), show(a));
        }
        const ok = check(folderExp(outside.dir, '', 'none').replace('experiment a {\n', 'experiment a {\n  allow_outside_workspace = true\n'), opts());
        clean(ok);
      });

      it('no workspace folder: paths are not restricted', () => {
        const a = check(folderExp(outside.dir, '', 'none'), { filePath: file });
        clean(a);
      });
    });

    it('without a file path (an untitled document) files are not checked', () => {
      clean(check(folderExp('nope')));
    });
  });

  describe('didYouMean', () => {
    it('suggests close words only', () => {
      assert.equal(didYouMean('sed', ['seed', 'data']), 'seed');
      assert.equal(didYouMean('Seed', ['seed']), 'seed');
      assert.equal(didYouMean('zzzzzz', ['seed', 'data']), undefined);
      assert.equal(didYouMean('x', []), undefined);
    });
  });


  it('never throws on odd inputs', () => {
    const odd = ['', '\u0000', 'experiment', 'experiment a', 'experiment a extends', 'experiment a extends a {}', 'experiment a { data { source = folder("") } }', 'experiment a { data { source = builtin(1, 2) } }', `experiment a { data { source = folder("${os.tmpdir()}\u0000") } }`];
    for (const t of odd) assert.doesNotThrow(() => check(t, { filePath: path.join(os.tmpdir(), 'x.sgt'), workspaceRoot: os.tmpdir() }), t);
  });
  // last: mocha runs a describe's own tests before its nested describes
  describe('diagnostic codes', () => {
    it('every code is produced by some test above', () => {
      const missing = (Object.keys(DIAGNOSTIC_CODES) as DiagnosticCode[]).filter((c) => !produced.has(c));
      assert.deepEqual(missing, [], `no test produces: ${missing.join(', ')}`);
    });
  });
});
