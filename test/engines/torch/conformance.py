"""Python side of the engine conformance tests (conformance.test.ts): reads tasks.json in the
folder given as argv[1], computes each task with the torch engine's modules, writes the
results as .npy / results.json next to it. One process for all tasks (importing torch is
the slow part)."""
import json
import os
import sys

import numpy as np
import torch

from sgt_torch.cam import cam_targets, normalized_cam, resize_maps, saliency_at_cam_size
from sgt_torch.losses import cross_entropy_loss, cyborg_loss
from sgt_torch.metrics import SaliencyAgreement, roc_auc
from sgt_torch.models import create_model, initial_values, load_tfjs_layout, to_tfjs_layout
from sgt_torch.overlay import render_overlay_rgb
from sgt_torch.rng import Rng
from sgt_torch.train import learning_rate

folder = sys.argv[1]
torch.set_num_threads(1)


def npy(name):
    return np.load(os.path.join(folder, name))


def save(name, a):
    np.save(os.path.join(folder, name), np.ascontiguousarray(a))


with open(os.path.join(folder, "tasks.json")) as f:
    tasks = json.load(f)
results = {}
for t in tasks:
    kind, tid = t["kind"], t["id"]
    if kind == "rng":
        r = Rng(t["seed"], t["stream"])
        results[tid] = {"uint32": [r.uint32() for _ in range(t["n"])], "float": r.float(), "int": [r.int(n) for n in (1, 7, 10, 1000, 2**32)],
                        "shuffle": Rng(t["seed"], t["stream"]).shuffle(list(range(t["n"])))}
    elif kind == "init":
        vals = initial_values(t["arch"], t["width"], t["hidden"], t["size"], t["channels"], t["classes"], t["seed"])
        for name, v in vals.items():
            save(f"{tid}-{name}.npy", v)
        results[tid] = {"names": list(vals)}
    elif kind == "step":
        model = create_model(t["arch"], t["width"], t["hidden"], t["size"], t["channels"], t["classes"], 0)
        load_tfjs_layout(model, {name: npy(f"{tid}-w-{name}.npy") for name in t["names"]})
        x = torch.from_numpy(npy(f"{tid}-x.npy")).permute(0, 3, 1, 2)
        labels = torch.from_numpy(npy(f"{tid}-labels.npy")).long()
        logits, feats = model(x)
        save(f"{tid}-logits.npy", logits.detach().numpy())
        if t["loss"] == "cyborg":
            sal = torch.from_numpy(npy(f"{tid}-saliency.npy"))
            guided = torch.from_numpy(npy(f"{tid}-guided.npy"))
            cam = normalized_cam(feats, model.head.weight, cam_targets(logits, labels, t["camClass"]))
            save(f"{tid}-cam.npy", cam.detach().numpy())
            loss, ce, guidance = cyborg_loss(logits, feats, model.head.weight, labels, sal, guided, t["alpha"], t["camClass"])
        else:
            loss, ce, guidance = cross_entropy_loss(logits, labels)
        loss.backward()
        for name, p in model.named_parameters():
            save(f"{tid}-g-{name}.npy", to_tfjs_layout(p.grad.numpy()))
        results[tid] = {"loss": float(loss), "ce": float(ce), "guidance": float(guidance)}
    elif kind == "saliency_at_cam_size":
        save(f"{tid}-out.npy", saliency_at_cam_size(torch.from_numpy(npy(f"{tid}-maps.npy")), t["to"]).numpy())
    elif kind == "metrics":
        agreement = SaliencyAgreement(t["size"])
        agreement.add(torch.from_numpy(npy(f"{tid}-cams.npy")), torch.from_numpy(npy(f"{tid}-human.npy")))
        results[tid] = {**agreement.result(), "auc": roc_auc(npy(f"{tid}-scores.npy"), npy(f"{tid}-positive.npy") == 1)}
    elif kind == "overlay":
        human = npy(f"{tid}-human.npy") if t["human"] else None
        cam = torch.from_numpy(npy(f"{tid}-cam.npy"))
        up = resize_maps(cam.unsqueeze(0), t["size"])[0].numpy()
        save(f"{tid}-rgb.npy", render_overlay_rgb(npy(f"{tid}-image.npy"), human, up))
    elif kind == "lr":
        results[tid] = [learning_rate(t["train"], e, s, t["total"]) for e, s in t["at"]]
    else:
        raise SystemExit(f"unknown task {kind}")
with open(os.path.join(folder, "results.json"), "w") as f:
    json.dump(results, f)
