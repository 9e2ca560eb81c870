#!/usr/bin/env python3
"""PyTorch CPU reference for bench/engine-tfjs.ts: the same small_cnn (models.ts), the same
losses (cross-entropy, CYBORG with the normalised CAM), the same batch and image sizes,
forward + backward + Adam step, images per second. Prints one JSON object.

    python3 bench/torch_cpu_reference.py [--steps N] [--threads T]

`<size>px_<loss>` is images per wall-clock second, `…_cpu` per second of CPU time (summed
over threads: with --threads 1 it is robust to other load on a shared machine).

Debian: `apt-get install -y python3-torch`. Nothing is asserted.
"""
import argparse
import json
import os
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    """engines/tfjs/models.ts small_cnn: conv3 blocks (w, 2w, 4w) + ReLU, 2×2 max-pool between, GAP, linear."""

    def __init__(self, width=32, channels=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.conv3 = nn.Conv2d(2 * width, 4 * width, 3, padding=1)
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(F.max_pool2d(h, 2)))
        f = F.relu(self.conv3(F.max_pool2d(h, 2)))
        return self.head(f.mean((2, 3))), f


def normalized_cam(features, weight, targets):
    cam = torch.einsum('nchw,nc->nhw', features, weight[targets])
    lo = cam.amin((1, 2), keepdim=True)
    rng = cam.amax((1, 2), keepdim=True) - lo
    flat = (rng <= 1e-12).float()
    return (cam - lo) / (rng + flat) * (1 - flat)


def bench(size, loss, steps, batch=64):
    torch.manual_seed(0)
    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, size, size)
    y = torch.arange(batch) % 10
    h = size // 4
    sal = torch.rand(batch, h, h)

    def step():
        opt.zero_grad()
        logits, f = model(x)
        ce = F.cross_entropy(logits, y)
        total = ce
        if loss == 'cyborg':
            mse = ((normalized_cam(f, model.head.weight, y) - sal) ** 2).mean()
            total = 0.5 * ce + 0.5 * mse
        total.backward()
        opt.step()
        return total.item()

    for _ in range(3):
        step()
    t = time.perf_counter()
    c = time.process_time()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    # images per wall-clock second, and per second of CPU time of all the process's threads
    return batch * steps / wall, batch * steps / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    out = {
        'engine': 'torch-cpu',
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'machine': {'cpus': os.cpu_count(), 'processor': platform.processor() or platform.machine(), 'load': os.getloadavg()[0]},
        'model': 'small_cnn width 32, batch 64, Adam',
        'imagesPerSecond': {},
    }
    for size in (28, 64):
        for loss in ('ce', 'cyborg'):
            wall, cpu = bench(size, loss, a.steps if size == 28 else max(3, a.steps // 4))
            out['imagesPerSecond'][f'{size}px_{loss}'] = round(wall, 1)
            out['imagesPerSecond'][f'{size}px_{loss}_cpu'] = round(cpu, 1)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
