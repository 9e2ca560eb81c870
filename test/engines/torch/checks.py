"""The harness of the *_checks.py scripts the torch tests run: each check is a function whose
failure (its traceback) is recorded instead of stopping the others; `finish` prints one JSON
line {"results": {name: "ok" | traceback}, …} and exits 1 when any check failed."""
import json
import sys
import traceback

import numpy as np

results = {}


def check(fn):
    """Runs fn at once (as a decorator) and records how it went under its name."""
    try:
        fn()
        results[fn.__name__] = "ok"
    except Exception:  # report every failing check, not just the first
        results[fn.__name__] = traceback.format_exc()
    return fn


def assert_close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.allclose(a, b, rtol=tol, atol=tol), (a.tolist(), b.tolist())


def finish(**extra):
    print(json.dumps({"results": results, **extra}))
    sys.exit(0 if all(v == "ok" for v in results.values()) else 1)
