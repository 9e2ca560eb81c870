/** The editor's view of sweeps without VS Code: the runs per sweep and the CodeLens texts. */
import { strict as assert } from 'node:assert';
import { runLensTitle, sweepLensText, sweepRuns } from '../../client/src/run-labels';

const FILE = `experiment plain {
  data { source = builtin("decoy-mnist") }
}

experiment m extends plain {
  guidance { loss = cyborg }
  sweep {
    guidance.alpha = [0.1, 0.5]
    seed = [1, 2, 3]
  }
}

experiment broken extends plain {
  sweep {
    seed = [1, -1]
  }
}
`;

describe('client sweep labels', () => {
  it('lists the runs of each sweep in training order; plain experiments are not sweeps', () => {
    const runs = sweepRuns(FILE);
    assert.deepEqual([...runs.keys()], ['m', 'broken']);
    assert.deepEqual(runs.get('m'), ['m@alpha=0.1,seed=1', 'm@alpha=0.1,seed=2', 'm@alpha=0.1,seed=3', 'm@alpha=0.5,seed=1', 'm@alpha=0.5,seed=2', 'm@alpha=0.5,seed=3']);
    // the valid values still expand (the error stops `sgt train`, not the listing)
    assert.deepEqual(runs.get('broken'), ['broken@seed=1']);
    assert.deepEqual(sweepRuns('experiment a {'), new Map());
  });

  it('titles the Run lens of a sweep with its number of runs', () => {
    assert.equal(runLensTitle(undefined), '▶ Run');
    assert.equal(runLensTitle(['m@seed=1']), '▶ Run sweep (1 run)');
    assert.equal(runLensTitle(sweepRuns(FILE).get('m')), '▶ Run sweep (6 runs)');
  });

  it('sums up what the newest runs of a sweep are doing', () => {
    assert.equal(sweepLensText(6, []), undefined);
    assert.equal(sweepLensText(6, ['finished', 'finished', 'running', 'queued', 'finished', 'failed']), '3/6 finished · 1 running · 1 queued · 1 failed');
    assert.equal(sweepLensText(2, ['finished', 'finished']), '2/2 finished');
  });
});
