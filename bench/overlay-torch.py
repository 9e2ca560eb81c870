#!/usr/bin/env python3
"""What a preview costs the torch engine's training loop (sgt_torch/overlay.py): milliseconds
the training thread spends per preview of `--samples` overlays when the PNGs are encoded and
written on the training thread (`inline`, as before) and when they are handed to the overlay
thread (`background`: the training thread only submits; `poll` later emits the event), plus
the time the background thread takes to finish each one. Images of `--sizes` px, 3 channels,
written into a scratch run directory (PNG files + index.json, fsync'd as in a run).

    PYTHONPATH=server/src/engines/torch python3 bench/overlay-torch.py [--sizes 28,112,224] [--samples 8] [--previews 10]

Prints one JSON object; asserts nothing.
"""
import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np

from sgt_torch.events import RunWriter
from sgt_torch.overlay import OverlayRenderer


class Ctx:
    def __init__(self, run_dir):
        self.writer = RunWriter(run_dir)
        self.events = []

    def emit(self, e):
        self.events.append(e)


def measure(size, samples, previews, inline):
    rng = np.random.default_rng(0)
    batch = [(rng.random((size, size, 3), dtype=np.float32), rng.random((size, size), dtype=np.float32), rng.random((size, size)).astype(np.float32))
             for _ in range(samples)]
    with tempfile.TemporaryDirectory() as run_dir:
        ctx = Ctx(run_dir)
        renderer = OverlayRenderer(ctx, inline=inline)
        on_loop, finished = [], []
        for p in range(previews):
            t = time.perf_counter()
            renderer.submit(1, p + 1, batch)
            on_loop.append(time.perf_counter() - t)
            # the training steps between two previews: long enough for the thread to finish
            t = time.perf_counter()
            renderer.drain()
            finished.append(time.perf_counter() - t)
        renderer.close()
        ctx.writer.close()
        assert len(ctx.events) == previews
    ms = lambda v: round(1000 * float(np.median(v)), 2)  # noqa: E731
    return {"training_thread_ms": ms(on_loop), "drain_ms": ms(finished) if not inline else 0.0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="28,112,224")
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--previews", type=int, default=10)
    args = p.parse_args()
    out = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        out[f"{size}px"] = {"inline": measure(size, args.samples, args.previews, True), "background": measure(size, args.samples, args.previews, False)}
    print(json.dumps({"bench": "overlay-torch", "samples": args.samples, "previews": args.previews, "results": out,
                      "python": platform.python_version(), "cpus": os.cpu_count(), "loadAverage1m": round(os.getloadavg()[0], 2)}, indent=2))


if __name__ == "__main__":
    main()
