import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataScanner } from '../../server/src/dsl/files';
import { resolveExperiment } from '../../server/src/dsl/resolve';
import { MAX_RUN_NAME_LENGTH, MAX_SWEEP_RUNS, allRuns, runsNamed, valueLabels } from '../../server/src/dsl/sweep';
import { parseValueText } from '../../server/src/dsl/values';
import { analyze, type Analysis } from '../../server/src/dsl/validate';
import { applyFix, describe as show, expectOne, under } from './helpers';

function check(text: string): Analysis {
  return analyze(text, { scanner: new DataScanner(0) });
}

/** An experiment on Decoy MNIST with `body` and a sweep block holding `sweep`. */
function sweepExp(body: string, sweep: string, name = 'methods'): string {
  return `experiment ${name} {\n  data { source = builtin("decoy-mnist") }\n${body}\n  sweep {\n${sweep}\n  }\n}\n`;
}

/** A resolved run as plain JSON objects, for reading nested settings in assertions. */
type Resolved = Record<string, Record<string, unknown>>;

function resolved(a: Analysis, name: string): Resolved {
  const r = resolveExperiment(a, name);
  assert.ok(r, `'${name}' does not resolve: ${show(a)}`);
  return r as unknown as Resolved;
}

function runNames(a: Analysis): string[] {
  return allRuns(a.experiments).map((m) => m.name);
}

describe('dsl sweep', () => {
  describe('expansion', () => {
    it('expands the cartesian product, the first key varying slowest, with names from the written order', () => {
      const a = check(sweepExp('  seed = 1\n  guidance { loss = cyborg }', '    seed = [1, 2, 3]\n    guidance.alpha = [0.1, 0.5]'));
      assert.deepEqual(a.diagnostics, [], show(a));
      assert.deepEqual(runNames(a), [
        'methods@seed=1,alpha=0.1',
        'methods@seed=1,alpha=0.5',
        'methods@seed=2,alpha=0.1',
        'methods@seed=2,alpha=0.5',
        'methods@seed=3,alpha=0.1',
        'methods@seed=3,alpha=0.5',
      ]);
      // the written experiment stays one experiment; its name stands for all its runs
      assert.deepEqual([...a.experiments.keys()], ['methods']);
      assert.equal(runsNamed(a.experiments, 'methods')?.length, 6);
      assert.deepEqual(runsNamed(a.experiments, 'methods@seed=2,alpha=0.5')?.map((m) => m.name), ['methods@seed=2,alpha=0.5']);
      assert.equal(runsNamed(a.experiments, 'methods@seed=9,alpha=0.5'), undefined);
      assert.equal(runsNamed(a.experiments, 'other'), undefined);
    });

    it('resolves a run with its swept values, the sweep recorded in `sweep`, and no sweep block', () => {
      const a = check(sweepExp('  seed = 7\n  guidance { loss = cyborg  alpha = 0.9 }', '    seed = [1, 2]\n    guidance.alpha = [0.1, 0.5]'));
      const r = resolved(a, 'methods@seed=2,alpha=0.1');
      assert.equal(r.name, 'methods@seed=2,alpha=0.1');
      assert.equal(r.seed, 2);
      assert.equal(r.guidance.alpha, 0.1);
      assert.equal(r.guidance.loss, 'cyborg');
      assert.deepEqual(r.sweep, { of: 'methods', point: { seed: 2, 'guidance.alpha': 0.1 } });
      // the sweep's own name is several runs, not one resolved experiment
      assert.equal(resolveExperiment(a, 'methods'), undefined);
      // a plain experiment resolves without `sweep`
      const plain = resolved(check('experiment p {\n  data { source = builtin("mnist") }\n}\n'), 'p');
      assert.equal('sweep' in plain, false);
    });

    it('converts swept values like set values: percentages, durations, calls, lists', () => {
      const a = check(
        sweepExp('  model { arch = mlp }', '    data.annotated = [1%, 100%]\n    train.optimizer = [adam { lr = 0.01 }, sgd]\n    model.hidden = [[50, 30], [100]]'),
      );
      assert.deepEqual(a.diagnostics, [], show(a));
      const names = runNames(a);
      assert.equal(names.length, 8);
      assert.equal(names[0], 'methods@annotated=1pct,optimizer=adam-lr-0.01,hidden=50-30');
      const r = resolved(a, names[0]);
      assert.equal(r.data.annotated, 0.01);
      assert.deepEqual(r.train.optimizer, { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weight_decay: 0 });
      assert.deepEqual(r.model.hidden, [50, 30]);
      assert.deepEqual(r.sweep.point, { 'data.annotated': 0.01, 'train.optimizer': { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weight_decay: 0 }, 'model.hidden': [50, 30] });
    });

    it('names values safely for files and shells, by position when two would read the same', () => {
      const items = (text: string) => {
        const v = parseValueText(text);
        assert.ok(v?.kind === 'list');
        return v.items;
      };
      assert.deepEqual(valueLabels(items('[0.1, 1e-3, 10%, cyborg, "a/b c"]')), ['0.1', '1e-3', '10pct', 'cyborg', 'a-b-c']);
      assert.deepEqual(valueLabels(items('["a/b", "a b"]')), ['v1', 'v2']);
      for (const label of valueLabels(items('[adam { lr = 0.01 }, sgd { lr = 0.1  momentum = 0.5 }]'))) assert.match(label, /^[A-Za-z0-9._+-]+$/);
    });

    it('leaves a swept key out of the runs where it has no effect, and merges the runs that become equal', () => {
      const a = check(sweepExp('', '    guidance.loss = [none, cyborg, rrr]\n    guidance.alpha = [0.1, 0.5]\n    seed = [1, 2]'));
      assert.deepEqual(a.diagnostics, [], show(a));
      assert.deepEqual(runNames(a), [
        'methods@loss=none,seed=1',
        'methods@loss=none,seed=2',
        'methods@loss=cyborg,alpha=0.1,seed=1',
        'methods@loss=cyborg,alpha=0.1,seed=2',
        'methods@loss=cyborg,alpha=0.5,seed=1',
        'methods@loss=cyborg,alpha=0.5,seed=2',
        'methods@loss=rrr,seed=1',
        'methods@loss=rrr,seed=2',
      ]);
      const none = resolved(a, 'methods@loss=none,seed=1');
      assert.equal('alpha' in none.guidance, false);
      assert.deepEqual(none.sweep.point, { 'guidance.loss': 'none', seed: 1 });
    });

    it('does not warn about a body key that has an effect in some runs of the sweep', () => {
      // alpha applies with cyborg only; the runs with loss = none simply do not use it
      const a = check(sweepExp('  guidance { alpha = 0.3 }', '    guidance.loss = [none, cyborg]'));
      assert.deepEqual(a.diagnostics, [], show(a));
      assert.equal(resolved(a, 'methods@loss=cyborg').guidance.alpha, 0.3);
    });

    it('inherits a sweep through extends, merged key by key', () => {
      const text = `${sweepExp('  guidance { loss = cyborg }', '    seed = [1, 2]\n    guidance.alpha = [0.1, 0.5]', 'base')}
experiment more extends base {
  sweep {
    seed = [3, 4, 5]
  }
}
`;
      const a = check(text);
      assert.deepEqual(a.diagnostics, [], show(a));
      assert.deepEqual(
        runsNamed(a.experiments, 'more')?.map((m) => m.name),
        ['more@seed=3,alpha=0.1', 'more@seed=3,alpha=0.5', 'more@seed=4,alpha=0.1', 'more@seed=4,alpha=0.5', 'more@seed=5,alpha=0.1', 'more@seed=5,alpha=0.5'],
      );
      assert.equal(runsNamed(a.experiments, 'base')?.length, 4);
      assert.deepEqual(resolved(a, 'more@seed=5,alpha=0.5').extends, ['base']);
    });

    it('examples/decoy-mnist/seeds.sgt is the six runs of docs/results.md: CE and CYBORG (alpha 0.5) × seeds 1, 2, 3', () => {
      const file = path.resolve(__dirname, '..', '..', 'examples', 'decoy-mnist', 'seeds.sgt');
      const a = analyze(fs.readFileSync(file, 'utf8'), { filePath: file, scanner: new DataScanner(0) });
      assert.deepEqual(a.diagnostics, [], show(a));
      const runs = runNames(a).map((name) => {
        const r = resolved(a, name);
        return [name, r.seed, r.guidance.loss, r.guidance.alpha, r.train.epochs, r.data.normalize];
      });
      assert.deepEqual(runs, [
        ['seeds@loss=none,seed=1', 1, 'none', undefined, 10, 'dataset'],
        ['seeds@loss=none,seed=2', 2, 'none', undefined, 10, 'dataset'],
        ['seeds@loss=none,seed=3', 3, 'none', undefined, 10, 'dataset'],
        ['seeds@loss=cyborg,seed=1', 1, 'cyborg', 0.5, 10, 'dataset'],
        ['seeds@loss=cyborg,seed=2', 2, 'cyborg', 0.5, 10, 'dataset'],
        ['seeds@loss=cyborg,seed=3', 3, 'cyborg', 0.5, 10, 'dataset'],
      ]);
    });

    it('an experiment without a sweep is its own single run', () => {
      const a = check('experiment p {\n  data { source = builtin("mnist") }\n}\n');
      assert.deepEqual(runNames(a), ['p']);
      assert.equal(a.experiments.get('p')?.runs, undefined);
    });
  });

  describe('diagnostics', () => {
    it('a key that is not an experiment key, with the dotted path as the fix for a bare name', () => {
      const a = check(sweepExp('  guidance { loss = cyborg }', '    alpha = [0.1, 0.5]'));
      const d = expectOne(a, { code: 'unknown-key', severity: 'error', text: 'alpha', words: ["'guidance.alpha'"] });
      const fixed = check(applyFix(a.text, d.fixes![0]));
      assert.deepEqual(fixed.diagnostics, [], show(fixed));
      expectOne(check(sweepExp('', '    guidance.alhpa = [0.1]')), { code: 'unknown-key', severity: 'error', text: 'guidance.alhpa', words: ["'guidance.alpha'"] });
      // call options are swept through their call: train.optimizer = [adam { lr = 0.01 }, …]
      expectOne(check(sweepExp('', '    train.optimizer.lr = [0.1]')), { code: 'unknown-key', severity: 'error', text: 'train.optimizer.lr' });
      expectOne(check(sweepExp('', '    sweep.seed = [1]')), { code: 'unknown-key', severity: 'error', text: 'sweep.seed' });
    });

    it('a value outside the key\'s range, at the list item', () => {
      const a = check(sweepExp('  guidance { loss = cyborg }', '    guidance.alpha = [0.1, 1.5]'));
      expectOne(a, { code: 'out-of-range', severity: 'error', text: '1.5', words: ["'alpha'", 'between 0 and 1'] });
      assert.equal(resolveExperiment(a, 'methods@alpha=0.1'), undefined, 'a sweep with an error runs nothing');
      expectOne(check(sweepExp('', '    guidance.loss = [none, cybrog]')), { code: 'unknown-value', severity: 'error', text: 'cybrog', words: ["'cyborg'"] });
      expectOne(check(sweepExp('', '    seed = [1, 2.5]')), { code: 'wrong-type', severity: 'error', text: '2.5' });
    });

    it('the diagnostic is on the offending item\'s line', () => {
      const text = sweepExp('  guidance { loss = cyborg }', '    seed = [1, 2]\n    guidance.alpha = [\n      0.1,\n      -2,\n    ]');
      const a = check(text);
      const d = expectOne(a, { code: 'out-of-range', severity: 'error', text: '-2' });
      assert.equal(text.slice(0, d.start).split('\n').length, text.split('\n').findIndex((l) => l.includes('-2')) + 1);
    });

    it('a value that is not a list, with a fix that makes it one', () => {
      const a = check(sweepExp('', '    seed = 3'));
      const d = expectOne(a, { code: 'wrong-type', severity: 'error', text: '3', words: ['list'] });
      const fixed = check(applyFix(a.text, d.fixes!.find((f) => f.preferred)!));
      assert.deepEqual(fixed.diagnostics, [], show(fixed));
      assert.deepEqual(runNames(fixed), ['methods@seed=3']);
    });

    it('an empty list', () => {
      expectOne(check(sweepExp('', '    seed = []')), { code: 'wrong-type', severity: 'error', text: '[]', words: ['no values'] });
    });

    it('the same value twice', () => {
      expectOne(check(sweepExp('', '    seed = [1, 2, 1]')), { code: 'duplicate-item', severity: 'error', text: '1' });
    });

    it('the same key twice, and a nested block instead of a dotted path', () => {
      expectOne(check(sweepExp('', '    seed = [1]\n    seed = [2]')), { code: 'duplicate-key', severity: 'error', text: 'seed' });
      expectOne(check(sweepExp('', '    guidance { alpha = [0.1] }')), { code: 'not-a-block', severity: 'error', text: 'guidance', words: ['guidance.KEY'] });
      expectOne(check('experiment a {\n  data { source = builtin("mnist") }\n  sweep = [1]\n}\n'), { code: 'not-a-block', severity: 'error', text: 'sweep' });
    });

    it(`more than ${MAX_SWEEP_RUNS} combinations`, () => {
      const seeds = Array.from({ length: 17 }, (_, i) => i).join(', ');
      const widths = Array.from({ length: 16 }, (_, i) => i + 4).join(', ');
      const a = check(sweepExp('', `    seed = [${seeds}]\n    model.width = [${widths}]`));
      expectOne(a, { code: 'out-of-range', severity: 'error', text: 'sweep', words: ['272 combinations', `${MAX_SWEEP_RUNS}`] });
      assert.deepEqual(runNames(a), []);
      // exactly the limit is fine
      const ok = check(sweepExp('', `    seed = [${Array.from({ length: 16 }, (_, i) => i).join(', ')}]\n    model.width = [${widths}]`));
      assert.deepEqual(ok.diagnostics, [], show(ok));
      assert.equal(runNames(ok).length, MAX_SWEEP_RUNS);
    });

    it('run names too long for a file name', () => {
      const sweep = [
        `description = ["${'x'.repeat(32)}"]`,
        'guidance.loss = [cyborg]',
        'guidance.cam_class = [predicted]',
        'data.annotated = [50%]',
        'model.width = [16]',
        'train.optimizer = [sgd { lr = 0.01  momentum = 0.5 }]',
        'train.schedule = [step { every = 2 epochs  gamma = 0.5 }]',
        'preview.every = [10 steps]',
        'evaluate.sets = [[val, test]]',
        'evaluate.metrics = [[accuracy, epg, iou]]',
      ];
      const a = check(sweepExp('', sweep.map((l) => `    ${l}`).join('\n')));
      const d = expectOne(a, { code: 'out-of-range', severity: 'error', text: 'sweep', words: ['Run names of this sweep are up to', `at most ${MAX_RUN_NAME_LENGTH}`] });
      assert.equal(a.diagnostics.length, 1, show(a));
      assert.deepEqual(runNames(a), []);
      assert.ok(d.message.length < 400, d.message);
    });

    it('too many combinations through extends, on the experiment that merges them', () => {
      const seeds = Array.from({ length: 16 }, (_, i) => i).join(', ');
      const text = `${sweepExp('', `    seed = [${seeds}]`, 'base')}
experiment big extends base {
  sweep {
    model.width = [${Array.from({ length: 17 }, (_, i) => i + 4).join(', ')}]
  }
}
`;
      const a = check(text);
      expectOne(a, { code: 'out-of-range', severity: 'error', text: 'big', words: ['272 combinations'] });
      assert.equal(runsNamed(a.experiments, 'base')?.length, 16);
    });

    it('a swept key that has an effect in no run: a warning with a fix that removes it', () => {
      const a = check(sweepExp('  guidance { loss = rrr }', '    seed = [1, 2]\n    guidance.alpha = [0.1, 0.5]'));
      const d = expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'guidance.alpha', words: ['no effect in any run'] });
      // the runs do not differ in alpha, so there are two, not four
      assert.deepEqual(runNames(a), ['methods@seed=1', 'methods@seed=2']);
      const fixed = check(applyFix(a.text, d.fixes![0]));
      assert.deepEqual(fixed.diagnostics.filter((x) => x.code !== 'engine-unavailable'), [], show(fixed));
    });

    it('a value set for a key that the parent sweeps: a warning that the sweep replaces it', () => {
      const text = `${sweepExp('  guidance { loss = cyborg }', '    seed = [1, 2]', 'base')}
experiment child extends base {
  seed = 5
  guidance { alpha = 0.3 }
}
`;
      const a = check(text);
      const d = expectOne(a, { code: 'not-applicable', severity: 'warning', text: 'seed', words: ["swept by 'base' (line 5)", 'sweep { seed = [5] }'] });
      assert.ok(a.text.slice(0, d.start).includes('experiment child'));
      assert.deepEqual(runsNamed(a.experiments, 'child')?.map((m) => m.name), ['child@seed=1', 'child@seed=2']);
      // the same experiment writing a value and sweeping it is not warned about (the design example)
      assert.deepEqual(check(sweepExp('  seed = 1', '    seed = [1, 2]')).diagnostics, []);
    });

    it('a combination that breaks a cross-key rule: on the swept value, naming the runs', () => {
      const a = check(sweepExp('  guidance { loss = cyborg }', '    guidance.layer = [final, mid]\n    seed = [1, 2]'));
      const d = expectOne(a, { code: 'incompatible', severity: 'error', text: 'mid', words: ['CAM', 'in 2 of 4 runs', 'methods@layer=mid,seed=1', 'methods@layer=mid,seed=2'] });
      assert.equal(under(a.text, d), 'mid');
      // a problem every run has reads as for a plain experiment
      const all = check(sweepExp('  guidance { loss = cyborg  layer = mid }', '    seed = [1, 2]'));
      const e = expectOne(all, { code: 'incompatible', severity: 'error', text: 'mid' });
      assert.ok(!e.message.includes(' runs'), e.message);
    });

    it('never throws on a sweep cut off anywhere', () => {
      const text = sweepExp('  guidance { loss = cyborg }', '    seed = [1, 2]\n    guidance.alpha = [0.1, 0.5]\n    guidance.loss = [none, cyborg]');
      for (let i = 0; i <= text.length; i++) {
        const a = check(text.slice(0, i));
        assert.ok(Array.isArray(a.diagnostics));
        allRuns(a.experiments);
      }
    });
  });
});
