"""Python side of the guidance conformance test (conformance-guidance.test.ts): every guided
loss × attribution × layer of the tfjs engine computed by the torch engine's modules, exactly
as Trainer.guided_loss composes them (tasks with "multi": as MultiLabel.loss composes them on
multi-label data), from the same weights, batch and human maps. Reads
tasks.json in the folder argv[1]; writes per task the loss terms (results.json), the
attribution maps and the parameter gradients (tfjs layout, concatenated in parameter order)."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from sgt_torch.attribution import attribution_maps, input_gradients
from sgt_torch.cam import normalize_maps, saliency_at_cam_size
from sgt_torch.metrics import PointingMetrics
from sgt_torch.losses import cyborg_from_mse, human_mask, lambda_loss, map_mse_per_image, rao_per_image, rrr_per_image
from sgt_torch.models import create_model, load_tfjs_layout, to_tfjs_layout
from sgt_torch.multilabel import bce_per_image

folder = sys.argv[1]
torch.set_num_threads(1)


def npy(name):
    return np.load(os.path.join(folder, name))


def save(name, a):
    np.save(os.path.join(folder, name), np.ascontiguousarray(a))


with open(os.path.join(folder, "tasks.json")) as f:
    tasks = json.load(f)
models = {}
results = {}
for t in tasks:
    m = t["model"]
    if m["id"] not in models:
        net = create_model(m["arch"], m["width"], m["hidden"], m["size"], m["channels"], m["classes"], 0)
        load_tfjs_layout(net, {name: npy(f"{m['id']}-w-{name}.npy") for name in m["names"]})
        mean = torch.tensor(m["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        inv_std = torch.tensor([1 / s for s in m["std"]], dtype=torch.float32).view(1, -1, 1, 1)
        models[m["id"]] = (net, mean, inv_std)
    net, mean, inv_std = models[m["id"]]
    mid = m["id"]
    x = torch.from_numpy(npy(f"{mid}-x.npy")).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(npy(f"{mid}-labels.npy")).long()
    human = torch.from_numpy(npy(t.get("human", f"{mid}-human.npy")))
    guided = torch.from_numpy(npy(f"{mid}-guided.npy"))
    shortcut = torch.from_numpy(npy(f"{mid}-shortcut.npy")).to(torch.float32) if t.get("irrelevant") == "shortcut" else None
    prep = lambda v: (v - mean) * inv_std  # noqa: E731  (Trainer.prep: data.normalize)
    net.zero_grad()
    loss, attribution, layer = t["loss"], t["attribution"], t["layer"]
    xr = x.detach().requires_grad_(True)
    if t.get("multi"):
        # multilabel.py MultiLabel.loss: BCE, the target class's attribution against its mask
        y = torch.from_numpy(npy(f"{mid}-multi.npy"))
        targets = torch.from_numpy(npy(f"{mid}-targets.npy")).long()
        mask = torch.from_numpy(npy(f"{mid}-mask.npy"))
        g = torch.from_numpy(npy(f"{mid}-mlguided.npy"))
        if loss == "none":
            logits, _ = net(prep(xr))
            per_image = torch.zeros(x.shape[0])
        elif loss == "rrr":
            logits, _, _ = net(prep(xr), with_mid=True)
            (grads,) = torch.autograd.grad(F.logsigmoid(logits).sum(), xr, create_graph=True)
            per_image = rrr_per_image(grads, mask)
        else:
            logits, feats, midf = net(prep(xr), with_mid=True)
            maps = attribution_maps(attribution, layer, logits, xr, feats, midf, net.head.weight, targets, "label")
            save(f"{t['id']}-maps.npy", maps.detach().numpy())
            per_image = map_mse_per_image(maps, mask) if loss == "cyborg" else rao_per_image(loss, maps, mask)
        ce = bce_per_image(logits, y).mean()
        gd = (per_image * g).sum() / g.sum().clamp(min=1)
        total = t["alpha"] * ce + (1 - t["alpha"]) * gd if loss == "cyborg" else ce + t["lambda"] * gd
        total.backward()
        params = dict(net.named_parameters())
        save(f"{t['id']}-grads.npy", np.concatenate([to_tfjs_layout(params[n].grad.numpy()).reshape(-1) for n in m["names"]]))
        results[t["id"]] = {"loss": float(total), "ce": float(ce), "guidance": float(gd)}
        continue
    if loss == "rrr":
        logits, _, _ = net(prep(xr), with_mid=True)
        grads = input_gradients(logits, xr)
        region = shortcut if shortcut is not None else (human <= 0).to(torch.float32)
        save(f"{t['id']}-maps.npy", grads.detach().permute(0, 2, 3, 1).numpy())
        total, ce, g = lambda_loss(logits, labels, rrr_per_image(grads, human, region), guided, t["lambda"])
    else:
        logits, feats, midf = net(prep(xr), with_mid=True)
        maps = attribution_maps(attribution, layer, logits, xr, feats, midf, net.head.weight, labels, "label")
        save(f"{t['id']}-maps.npy", maps.detach().numpy())
        pointing = PointingMetrics(human.shape[-1])
        pointing.add(maps.detach(), human)
        if loss == "cyborg":
            mse = ((normalize_maps(maps) - saliency_at_cam_size(human, maps.shape[-1])) ** 2).mean(dim=(1, 2))
            total, ce, g = cyborg_from_mse(logits, labels, mse, guided, t["alpha"])
        else:
            mask = 1 - shortcut if (shortcut is not None and loss == "rrr_star") else human_mask(human)
            total, ce, g = lambda_loss(logits, labels, rao_per_image(loss, maps, mask), guided, t["lambda"])
    total.backward()
    params = dict(net.named_parameters())
    save(f"{t['id']}-grads.npy", np.concatenate([to_tfjs_layout(params[n].grad.numpy()).reshape(-1) for n in m["names"]]))
    results[t["id"]] = {"loss": float(total), "ce": float(ce), "guidance": float(g)}
    if loss != "rrr":
        results[t["id"]]["pointing"] = pointing.result()
with open(os.path.join(folder, "results.json"), "w") as f:
    json.dump(results, f)
