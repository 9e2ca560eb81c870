"""Checks of RRR's `guidance.irrelevant = shortcut` in the torch engine, run by shortcut.test.ts
with the folder of a small exported Decoy MNIST data set (argv[1]): the shortcut masks arrive
through the export, the region A is the swatch, the RRR term is Σ_A of the squared input
gradients (computed by hand on a linear model), and the Trainer's RRR loss on a real batch
equals CE + λ·mean_n Σ_{swatch} (∂ Σ_k log p_k / ∂x)². Prints one JSON line; exits 1 on a failure."""
import sys

import numpy as np
import torch

from checks import assert_close, check, finish
from sgt_torch.attribution import input_gradients
from sgt_torch.config import ConfigError, parse_config
from sgt_torch.data import RunData
from sgt_torch.losses import irrelevant_region, rrr_per_image
from sgt_torch.train import Trainer

torch.set_num_threads(1)
DATA = sys.argv[1]
CLEAN = sys.argv[2]  # the same settings on builtin("mnist"): no shortcut


def close(a, b, tol=1e-6):
    assert_close(a, b, tol)


@check
def shortcut_masks_arrive_through_the_export():
    data = RunData(DATA)
    for split in ("train", "val", "test"):
        s = getattr(data, split)
        m = s.shortcut
        assert m.dtype == torch.uint8 and tuple(m.shape) == (s.count, s.size, s.size), (m.dtype, m.shape)
        assert (m.flatten(1).sum(1) == 16).all(), "16 swatch pixels per image"
        a = irrelevant_region("shortcut", s.saliency, m)
        close(a, m.float())
        # the swatch carries no human saliency, and the strokes are never in A = swatch
        assert float((s.saliency * a).sum()) == 0.0
        close(irrelevant_region("unannotated", s.saliency, m), (s.saliency <= 0).float())


@check
def rrr_on_the_swatch_by_hand():
    # linear model z = W x: ∂ Σ_k log p_k / ∂x = Σ_k W_k − K Σ_j p_j W_j; A = pixel 0 only
    torch.manual_seed(1)
    W = torch.randn(3, 4, dtype=torch.float64)
    x = torch.rand(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    z = x.flatten(1) @ W.T
    g = input_gradients(z, x)
    p = torch.softmax(z, dim=1).detach()[0]
    ref = (W.sum(0) - 3 * (p[:, None] * W).sum(0)).detach()
    human = torch.tensor([[[0.0, 0.7], [0.0, 1.0]]], dtype=torch.float64)  # unannotated: pixels 0, 2
    swatch = torch.tensor([[[1, 0], [0, 0]]], dtype=torch.uint8)
    close(rrr_per_image(g, human, irrelevant_region("shortcut", human, swatch)).detach(), [float(ref[0] ** 2)])
    close(rrr_per_image(g, human, irrelevant_region("unannotated", human, swatch)).detach(), [float(ref[0] ** 2 + ref[2] ** 2)])
    close(rrr_per_image(g, human).detach(), [float(ref[0] ** 2 + ref[2] ** 2)])


def resolved(**guidance):
    return {"seed": 3, "data": {"source": {"type": "builtin", "name": "decoy-mnist"}}, "model": {"arch": "mlp", "hidden": [12, 8]},
            "guidance": guidance, "train": {"epochs": 1, "batch": 8}}


class Ctx:
    def log(self, *args):
        pass


@check
def trainer_rrr_loss_uses_the_swatch():
    data = RunData(DATA)
    config = parse_config(resolved(loss="rrr", irrelevant="shortcut", **{"lambda": 1000}), "/tmp/x")
    assert config["guidance"]["irrelevant"] == "shortcut"
    trainer = Trainer(Ctx(), config, data, torch.device("cpu"))
    idx = torch.arange(0, 8)
    x = data.train.batch(idx, torch.device("cpu"))
    labels = data.train.labels[idx]
    _, loss, ce, guidance = trainer.guided_loss(trainer.net, x, labels, idx, None)
    # by hand: the same model, input gradients of Σ_k log p_k, squared, summed over the swatch
    xr = x.detach().clone().requires_grad_(True)
    logits, _ = trainer.model(xr)
    (g,) = torch.autograd.grad(torch.log_softmax(logits, dim=1).sum(), xr)
    swatch = data.train.shortcut[idx].float().unsqueeze(1)
    per_image = (g ** 2 * swatch).sum(dim=(1, 2, 3))
    ce_ref = torch.nn.functional.cross_entropy(logits, labels)
    close(float(guidance), float(per_image.mean()), 1e-5)
    close(float(ce), float(ce_ref), 1e-5)
    close(float(loss), float(ce_ref + 1000 * per_image.mean()), 1e-5)
    # A = everything outside the strokes gives a larger term (the swatch is a part of it)
    unannotated = Trainer(Ctx(), parse_config(resolved(loss="rrr", **{"lambda": 1000}), "/tmp/x"), data, torch.device("cpu"))
    unannotated.model.load_state_dict(trainer.model.state_dict())
    _, _, _, g_all = unannotated.guided_loss(unannotated.net, x, labels, idx, None)
    assert float(g_all) > float(guidance) > 0, (float(g_all), float(guidance))


@check
def trainer_refuses_shortcut_without_masks():
    config = parse_config(resolved(loss="rrr", irrelevant="shortcut"), "/tmp/x")
    try:
        Trainer(Ctx(), config, RunData(CLEAN), torch.device("cpu"))
    except ConfigError as e:
        assert "marks no shortcut region" in str(e), str(e)
    else:
        raise AssertionError("trained RRR on a shortcut region of clean MNIST")


@check
def config_refuses_an_unknown_region():
    try:
        parse_config(resolved(loss="rrr", irrelevant="decoy"), "/tmp/x")
    except ConfigError as e:
        assert "guidance.irrelevant" in str(e), str(e)
    else:
        raise AssertionError("accepted irrelevant = decoy")


finish()
