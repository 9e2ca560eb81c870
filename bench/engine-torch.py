#!/usr/bin/env python3
"""Training speed of the torch engine (server/src/engines/torch/sgt_torch/): one training step
of the engine's own code — create_model (the tfjs-identical small_cnn / small_resnet), the
engine's cross-entropy and CYBORG losses (CAM of the whole batch at once), backward, the
torch.optim update — on a batch of random images. Prints one JSON object; asserts nothing.

    PYTHONPATH=server/src/engines/torch python3 bench/engine-torch.py [--steps N] [--threads T]
        [--sizes 28,64] [--arch small_cnn] [--width 32] [--batch 64] [--device cpu|cuda]

`<size>px_<loss>` is images per wall-clock second, `..._cpu` per second of the process's CPU
time (robust to other load on a shared machine with --threads 1). On CUDA the steps are
synchronised before the clock is read.
"""
import argparse
import json
import os
import platform
import time

import torch

from sgt_torch.cam import saliency_at_cam_size
from sgt_torch.losses import cross_entropy_loss, cyborg_loss
from sgt_torch.models import create_model, feature_size
from sgt_torch.train import create_optimizer


def bench(arch, width, size, loss, steps, batch, device):
    model = create_model(arch, width, [50, 30], size, 1, 10, 1).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt = create_optimizer({"type": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0}, model.parameters())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, size, size, 1, generator=g).to(device).permute(0, 3, 1, 2)
    y = (torch.arange(batch) % 10).to(device)
    sal = saliency_at_cam_size(torch.rand(batch, size, size, generator=g), feature_size(arch, size)).to(device)
    guided = torch.ones(batch, device=device)

    def step():
        logits, feats = model(x)
        if loss == "cyborg":
            total, _, _ = cyborg_loss(logits, feats, model.head.weight, y, sal, guided, 0.5, "label")
        else:
            total, _, _ = cross_entropy_loss(logits, y)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return float(total)

    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return batch * steps / wall, batch * steps / cpu


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--sizes", default="28,64")
    p.add_argument("--arch", default="small_cnn")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    out = {"engine": "torch", "arch": a.arch, "width": a.width, "batch": a.batch, "steps": a.steps, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "device": str(device), "cpu": platform.processor() or platform.machine(), "load1": round(os.getloadavg()[0], 2)}
    for size in [int(s) for s in a.sizes.split(",")]:
        for loss in ("ce", "cyborg"):
            wall, cpu = bench(a.arch, a.width, size, loss, a.steps, a.batch, device)
            out[f"{size}px_{loss}"] = round(wall, 1)
            out[f"{size}px_{loss}_cpu"] = round(cpu, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
