#!/usr/bin/env python3
"""How the torch engine's data feed (server/src/engines/torch/sgt_torch/data.py) performs on a
folder-sized data set: peak memory and images per second of training `small_cnn` with
cross-entropy, one pass over the training split in the engine's seeded batch order, for

  memory      the pixels copied into memory (storage = memory), indexed in the training process
  mapped-0    memory-mapped, batches read in the training process (train.workers = 0)
  mapped-N    memory-mapped, N DataLoader workers reading ahead (train.workers = N)
  float32     the previous export (float32 pixels, copied into memory): the baseline

and the feed alone (no model: how fast batches arrive, the best of three passes). Each mode runs in its own Python
process so its peak RSS is its own. The data set is written once by this script in the
export's layout (random 8-bit RGB pixels, like PNG/JPEG photos resized by the Node side).

    PYTHONPATH=server/src/engines/torch python3 bench/data-feed-torch.py [--images 2000]
        [--size 112] [--batch 64] [--width 32] [--modes memory,mapped-0,mapped-1,mapped-2,float32]
        [--threads 1] [--dir DIR]

Prints one JSON object; asserts nothing. The files are in the page cache after they are
written, so `mapped` reads come from memory here: a data set larger than RAM is read from
disk at the disk's speed, which is what the workers' read-ahead hides.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def write_dataset(directory, images, size, classes, float32):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    counts = {"train": images, "val": 0, "test": 0}
    encodings = {}
    for split, n in counts.items():
        pixels = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
        maps = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        if float32:
            pixels = (pixels.astype(np.float64) / 255).astype(np.float32)
            maps = (maps.astype(np.float64) / 255).astype(np.float32)
        np.save(os.path.join(directory, f"{split}-images.npy"), pixels)
        np.save(os.path.join(directory, f"{split}-saliency.npy"), maps)
        np.save(os.path.join(directory, f"{split}-labels.npy"), (np.arange(n) % classes).astype(np.int32))
        np.save(os.path.join(directory, f"{split}-has-saliency.npy"), np.ones(n, dtype=np.uint8))
        encodings[f"{split}-images"] = encodings[f"{split}-saliency"] = "float32" if float32 else "unit8"
    np.save(os.path.join(directory, "train-guided.npy"), np.ones(images, dtype=np.uint8))
    with open(os.path.join(directory, "meta.json"), "w") as f:
        json.dump({"format": "sgt-data/3", "key": "bench", "classes": classes, "size": size, "channels": 3, "counts": counts,
                   "annotatedCount": images, "warnings": [], "encodings": encodings}, f)


def proc_status():
    """This process's resident memory in MiB: anonymous (the heap: copies), file-backed (mapped
    pages, which the kernel can drop and re-read) and the peak of both together (VmHWM)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmHWM"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def run_mode(args, mode):
    """One mode, in this process: returns its figures."""
    import torch

    before = proc_status()
    from sgt_torch.data import BatchFeed, RunData
    from sgt_torch.losses import cross_entropy_loss
    from sgt_torch.models import create_model
    from sgt_torch.rng import Rng
    from sgt_torch.train import create_optimizer

    torch.set_num_threads(args.threads)
    directory = os.path.join(args.dir, "float32" if mode == "float32" else "unit8")
    t0 = time.perf_counter()
    data = RunData(directory, env={"SGT_TORCH_IN_MEMORY_MB": "0" if mode.startswith("mapped") else "1000000"})
    load_s = time.perf_counter() - t0
    tr = data.train
    workers = int(mode.split("-")[1]) if mode.startswith("mapped-") else 0
    feed = BatchFeed(tr, workers, pin_memory=False) if workers > 0 else None
    cpu = torch.device("cpu")
    order = np.array(Rng(1, 2000).shuffle(list(range(tr.count))), dtype=np.int64)
    batches = [order[i:i + args.batch] for i in range(0, tr.count, args.batch)]

    def batches_of_epoch():
        if feed:
            for stored in feed.epoch(batches):
                yield tr.to_input(stored, cpu)
        else:
            for idx in batches:
                yield tr.batch(torch.from_numpy(idx), cpu)

    # the feed alone: every batch decoded to float32 N×C×S×S, nothing else
    list(batches_of_epoch())  # warm-up: workers started, pages touched
    feed_ips = 0.0
    for _ in range(3):  # the best of three passes: other load on a shared machine only slows a pass down
        t = time.perf_counter()
        n = sum(int(x.shape[0]) for x in batches_of_epoch())
        feed_ips = max(feed_ips, n / (time.perf_counter() - t))
    # every page of the split touched once: what holding the data costs this process
    fed = proc_status()

    model = create_model("small_cnn", args.width, [50, 30], tr.size, tr.channels, data.classes, 1)
    opt = create_optimizer({"type": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0}, model.parameters())
    labels = tr.labels
    t, c = time.perf_counter(), time.process_time()
    n = 0
    for x, idx in zip(batches_of_epoch(), batches[:args.train_batches or len(batches)]):
        logits, _ = model(x)
        loss, _, _ = cross_entropy_loss(logits, labels[torch.from_numpy(idx)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(idx)
    train_wall, train_cpu = time.perf_counter() - t, time.process_time() - c
    if feed:
        feed.close()
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"storage": data.storage, "workers": workers, "load_s": round(load_s, 3), "feed_images_per_s": round(feed_ips, 1),
            "after_feed_rss_mb": {"anon": round(fed["RssAnon"] - before["RssAnon"], 1), "file": round(fed["RssFile"] - before["RssFile"], 1), "peak": fed["VmHWM"]},
            "train_images_per_s": round(n / train_wall, 1), "train_images_per_cpu_s": round(n / train_cpu, 1),
            "peak_rss_mb": round(self_rss, 1), "peak_rss_worker_mb": round(workers_rss, 1) if workers else 0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-batches", type=int, default=0, help="batches in the timed training pass (0: the whole split)")
    p.add_argument("--modes", default="memory,mapped-0,mapped-1,mapped-2,float32")
    p.add_argument("--dir", default="/tmp/sgt-bench-feed")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_mode(args, args.one)))
        return
    modes = args.modes.split(",")
    for kind, float32 in (("unit8", False), ("float32", True)):
        if kind == "float32" and "float32" not in modes:
            continue
        write_dataset(os.path.join(args.dir, kind), args.images, args.size, 10, float32)
    results = {}
    for mode in modes:
        cmd = [sys.executable, __file__, "--one", mode, "--images", str(args.images), "--size", str(args.size), "--batch", str(args.batch),
               "--width", str(args.width), "--threads", str(args.threads), "--dir", args.dir, "--train-batches", str(args.train_batches)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    import torch

    print(json.dumps({
        "bench": "data-feed-torch", "images": args.images, "size": args.size, "channels": 3, "batch": args.batch, "arch": f"small_cnn width {args.width}",
        "threads": args.threads, "train_batches": args.train_batches or -(-args.images // args.batch), "pixel_mb": {"unit8": round(args.images * args.size * args.size * 4 / 2 ** 20, 1),
                                              "float32": round(args.images * args.size * args.size * 16 / 2 ** 20, 1)},
        "results": results, "torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(), "loadAverage1m": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
