"""Hand-computed checks of sgt_torch/multilabel.py, run by multilabel.test.ts with the engine's
package on PYTHONPATH. argv[1]: JSON {"multi": [[0/1 …] …], "seed", "epochs", "targets": the
TypeScript draw per epoch (data/multi-label.ts)}. Prints one JSON line {check: "ok" | message}."""
import json
import math
import sys

import numpy as np
import torch

from sgt_torch.multilabel import (average_precision, bce_per_image, boxes_by_image, class_masks, exact_matches, f1_micro,
                                  mean_average_precision, sample_targets)

results = {}


def check(name, fn):
    try:
        fn()
        results[name] = "ok"
    except AssertionError as e:
        results[name] = f"failed: {e}"


spec = json.loads(sys.argv[1])


def targets_match_typescript():
    multi = np.array(spec["multi"], dtype=np.uint8)
    for e, want in enumerate(spec["targets"]):
        got = sample_targets(multi, spec["seed"], e).tolist()
        assert got == want, f"epoch {e}: {got} != {want}"
        for i, k in enumerate(got):
            assert (k == -1) if not multi[i].any() else multi[i, k] == 1, f"image {i}: class {k} is not one of its labels"


def masks_by_hand():
    # image 0: two boxes of class 1 overlapping, one of class 0; image 1: none
    rows = np.array([[0, 1, 0, 0, 2, 2], [0, 1, 1, 1, 3, 3], [0, 0, 3, 3, 4, 4]], dtype=np.int32)
    per = boxes_by_image(rows, 2)
    m, has = class_masks(per, [0, 0, 1], [1, 0, 1], 4)
    want1 = [[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    want0 = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert m[0].tolist() == want1, m[0].tolist()
    assert m[1].tolist() == want0, m[1].tolist()
    assert m[2].sum() == 0 and has.tolist() == [True, True, False], has.tolist()


def metrics_by_hand():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-3.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert exact_matches(logits, y).tolist() == [True, False, True]
    # BCE of one image: mean over classes of −[y log σ(z) + (1 − y) log(1 − σ(z))]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    want = -(math.log(sig(2.0)) + math.log(1 - sig(-1.0))) / 2
    assert abs(float(bce_per_image(logits, y)[0]) - want) < 1e-6
    # F1: predictions [[1,0],[1,1],[0,1]] vs truth [[1,0],[1,0],[0,1]]: TP 3, FP 1, FN 0 → 6/7
    assert abs(f1_micro((logits > 0).numpy(), y.numpy() > 0.5) - 6 / 7) < 1e-12
    assert math.isnan(f1_micro(np.zeros((2, 2), bool), np.zeros((2, 2), bool)))
    # AP: scores .9 (pos) .8 (neg) .7 (pos) .1 (neg): precision at the positives 1 and 2/3 → (1 + 2/3) / 2
    assert abs(average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) - (1 + 2 / 3) / 2) < 1e-12
    # ties share a threshold: .5 (pos) .5 (neg) → one step, recall 1 at precision 1/2
    assert abs(average_precision([0.5, 0.5], [1, 0]) - 0.5) < 1e-12
    assert math.isnan(average_precision([0.3, 0.2], [0, 0]))
    # mAP skips a class without positives in the split
    scores = np.array([[0.9, 0.2], [0.1, 0.4]])
    assert abs(mean_average_precision(scores, np.array([[1, 0], [0, 0]], bool)) - 1.0) < 1e-12


check("target classes = the TypeScript draw, only present labels", targets_match_typescript)
check("Rao's masks from boxes: union, exclusive end, class only", masks_by_hand)
check("exact match, BCE, micro F1, AP and mAP by hand", metrics_by_hand)
print(json.dumps(results))
