"""Checks of the torch engine's guidance losses, attributions and EPG / IoU (reference.md), run
by guidance.test.ts: values computed by hand on tiny tensors, and finite-difference checks of
the gradients that training uses (loss on an attribution → model weights: second order).
Prints one JSON line {name: "ok" | error} per check; exits 1 when any fails."""
import math

import numpy as np
import torch

from checks import assert_close, check, finish
from sgt_torch.attribution import attribution_maps, input_gradients
from sgt_torch.cam import normalized_cam
from sgt_torch.config import ConfigError, parse_config
from sgt_torch.losses import (energy_per_image, human_mask, l1_per_image, lambda_loss, ppce_per_image, rao_per_image, rrr_per_image,
                              rrr_star_per_image)
from sgt_torch.metrics import PointingMetrics
from sgt_torch.models import create_model

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def close(a, b, tol=1e-9):
    assert_close(a, b, tol)


# a = [[1, −1], [2, 0]], M = [[1, 0], [0, 0]]: a⁺ = [1, 0, 2, 0], max|a| = 2, â = [.5, 0, 1, 0]
A = torch.tensor([[[1.0, -1.0], [2.0, 0.0]]])
M = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])


@check
def energy_by_hand():
    close(energy_per_image(A, M), [1 - 1 / 3])
    # no positive energy at all: L = 1 − Σ_{M=1} a⁺ = 1
    close(energy_per_image(-torch.ones(1, 2, 2), M), [1.0])
    # Σ a⁺ = 5e-8 < 1e-7: L = 1 − Σ_{M=1} a⁺, not 1 − 1
    close(energy_per_image(torch.tensor([[[5e-8, 0.0], [0.0, 0.0]]]), M), [1 - 5e-8])


@check
def l1_ppce_rrr_star_by_hand():
    close(l1_per_image(A, M), [(0.5 + 0 + 1 + 0) / 4])
    close(ppce_per_image(A, M), [-math.log(0.5 + 1e-7)])
    close(rrr_star_per_image(A, M), [0 + 1 ** 2 + 0])
    # an all-zero map stays zero (no 0/0)
    close(l1_per_image(torch.zeros(1, 2, 2), M), [0.25])
    # empty mask: PPCE has no pixel to reward
    close(ppce_per_image(A, torch.zeros(1, 2, 2)), [0.0])


@check
def upsampled_to_annotation_size():
    # a 1×1 attribution upsampled to 2×2 is constant: energy = share of M's pixels = 1/4
    close(rao_per_image("energy", torch.tensor([[[3.0]]]), M), [0.75])
    # bilinear (align_corners = False) of [[0, 4]] to 1×4: [0, 1, 3, 4]
    m = torch.tensor([[[1.0, 1.0, 1.0, 1.0]]]).expand(1, 4, 4)
    a = torch.tensor([[[0.0, 4.0], [0.0, 4.0]]])
    close(rao_per_image("l1", a, torch.zeros(1, 4, 4)), [np.mean([0, .25, .75, 1])])
    close(rao_per_image("energy", a, m), [0.0])


@check
def mask_from_grayscale_map():
    close(human_mask(torch.tensor([[[0.0, 0.2], [1.0, 0.0]]])), [[[0, 1], [1, 0]]])


@check
def lambda_total_over_guided_images():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0])
    per_image = torch.tensor([0.4, 10.0])
    guided = torch.tensor([1, 0], dtype=torch.uint8)
    loss, ce, g = lambda_loss(logits, labels, per_image, guided, 3.0)
    ce_ref = np.mean([math.log(1 + math.exp(-2)), math.log(1 + math.exp(1))])
    close([ce, g, loss], [ce_ref, 0.4, ce_ref + 3 * 0.4])


@check
def rrr_by_hand():
    # linear model z = W x: ∂ Σ_k log p_k / ∂x = Σ_k W_k − K Σ_j p_j W_j
    torch.manual_seed(0)
    W = torch.randn(3, 4)
    x = torch.rand(1, 1, 2, 2, requires_grad=True)
    z = x.flatten(1) @ W.T
    g = input_gradients(z, x)
    p = torch.softmax(z, dim=1).detach()[0]
    ref = W.sum(0) - 3 * (p[:, None] * W).sum(0)
    close(g.detach().flatten(), ref.detach())
    human = torch.tensor([[[0.0, 0.7], [0.0, 1.0]]])  # irrelevant region A: pixels 0 and 2
    close(rrr_per_image(g, human).detach(), [float(ref[0] ** 2 + ref[2] ** 2)])


class GapHead(torch.nn.Module):
    """logits = W · GAP(F) + b, F given: ∂y_k/∂F_c = W[k, c] / (h·w) everywhere."""

    def __init__(self, W):
        super().__init__()
        self.head = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(W)
            self.head.bias.fill_(0.3)


@check
def gradcam_and_ixg_by_hand():
    torch.manual_seed(1)
    W = torch.randn(3, 2)
    F = torch.randn(2, 2, 3, 3, requires_grad=True)  # N = 2, C = 2, 3×3
    model = GapHead(W)
    logits = model.head(F.mean(dim=(2, 3)))
    labels = torch.tensor([2, 0])
    cam_raw = torch.einsum("nchw,nc->nhw", F, W[labels]).detach() / 9
    ixg = attribution_maps("ixg", "final", logits, None, F, None, None, labels, "label")
    close(ixg.detach(), cam_raw)
    gradcam = attribution_maps("gradcam", "final", logits, None, F, None, None, labels, "label")
    close(gradcam.detach(), cam_raw.clamp(min=0))
    cam = attribution_maps("cam", "final", logits, None, F, None, W, labels, "label")
    close(cam.detach(), normalized_cam(F, W, labels).detach())
    lo = cam_raw.amin(dim=(1, 2), keepdim=True)
    close(cam.detach(), (cam_raw - lo) / (cam_raw.amax(dim=(1, 2), keepdim=True) - lo))


@check
def ixg_at_the_input():
    model = create_model("small_cnn", 2, [], 8, 1, 3, 5).double()
    x = torch.rand(2, 1, 8, 8, requires_grad=True)
    logits, feats, mid = model(x, with_mid=True)
    labels = torch.tensor([1, 2])
    a = attribution_maps("ixg", "input", logits, x, feats, mid, None, labels, "label")
    (g,) = torch.autograd.grad(logits.gather(1, labels[:, None]).sum(), x)
    close(a.detach(), (g * x).sum(dim=1).detach())
    assert tuple(mid.shape) == (2, 4, 4, 4), mid.shape  # small_cnn mid = h2: 2w channels at S/2


def training_loss(model, loss, attribution, layer, x, labels, human, guided, lam=2.0):
    """The composition Trainer.guided_loss trains with (no normalisation, float64)."""
    xr = x.detach().requires_grad_(True)
    logits, feats, mid = model(xr, with_mid=True)
    if loss == "rrr":
        per_image = rrr_per_image(input_gradients(logits, xr), human)
    else:
        maps = attribution_maps(attribution, layer, logits, xr, feats, mid, model.head.weight, labels, "label")
        per_image = rao_per_image(loss, maps, human_mask(human))
    return lambda_loss(logits, labels, per_image, guided, lam)[0]


def finite_difference_check(arch, loss, attribution, layer, seed):
    torch.manual_seed(seed)
    model = create_model(arch, 4, [6, 5], 8, 1, 3, seed).double()
    x = torch.rand(3, 1, 8, 8)
    labels = torch.tensor([0, 2, 1])
    human = torch.rand(3, 8, 8) * (torch.rand(3, 8, 8) > 0.5)
    guided = torch.tensor([1, 1, 0], dtype=torch.uint8)
    model.zero_grad()
    training_loss(model, loss, attribution, layer, x, labels, human, guided).backward()
    rng = np.random.default_rng(seed)
    eps = 1e-7
    worst = 0.0
    f = lambda: float(training_loss(model, loss, attribution, layer, x, labels, human, guided))  # noqa: E731
    f0 = f()
    for name, p in model.named_parameters():
        checked = 0
        for _ in range(30):
            if checked == 3:
                break
            i = int(rng.integers(p.numel()))
            old = float(p.data.view(-1)[i])
            # the loss itself takes gradients (the attribution), so it is evaluated with grad on
            p.data.view(-1)[i] = old + eps
            up = f()
            p.data.view(-1)[i] = old - eps
            down = f()
            p.data.view(-1)[i] = old
            # ReLU / max-pool make the attribution piecewise smooth (its gradient holds their
            # steps): a probe whose one-sided slopes disagree straddles a kink; probe elsewhere
            if abs((up - f0) - (f0 - down)) / eps > 1e-4 * max(1.0, abs(up - down) / (2 * eps)):
                continue
            numeric = (up - down) / (2 * eps)
            analytic = float(p.grad.view(-1)[i])
            worst = max(worst, abs(numeric - analytic) / max(1e-3, abs(numeric)))
            assert abs(numeric - analytic) <= 1e-5 * max(1.0, abs(numeric)), f"{name}[{i}]: analytic {analytic}, numeric {numeric}"
            checked += 1
        assert checked == 3, f"{name}: only {checked} smooth probes"
    return worst


COMBOS = [(loss, att, layer) for loss in ("energy", "l1", "ppce", "rrr_star") for att, layer in
          (("cam", "final"), ("gradcam", "final"), ("gradcam", "mid"), ("ixg", "final"), ("ixg", "mid"), ("ixg", "input"))]
worst_rel = {}


@check
def finite_differences_small_cnn():
    for k, (loss, att, layer) in enumerate(COMBOS):
        worst_rel[f"small_cnn {loss} {att}@{layer}"] = finite_difference_check("small_cnn", loss, att, layer, 10 + k)
    worst_rel["small_cnn rrr"] = finite_difference_check("small_cnn", "rrr", None, None, 40)


@check
def finite_differences_small_resnet_and_mlp():
    worst_rel["small_resnet energy gradcam@mid"] = finite_difference_check("small_resnet", "energy", "gradcam", "mid", 50)
    worst_rel["small_resnet ppce ixg@final"] = finite_difference_check("small_resnet", "ppce", "ixg", "final", 51)
    worst_rel["mlp rrr"] = finite_difference_check("mlp", "rrr", None, None, 52)
    worst_rel["mlp l1 ixg@input"] = finite_difference_check("mlp", "l1", "ixg", "input", 53)


@check
def pointing_metrics_by_hand():
    pm = PointingMetrics(2)
    human = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.5], [0.5, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])
    maps = torch.tensor([[[1.0, -1.0], [2.0, 0.0]],   # EPG 1/3; â = [.5, 0, 1, 0] → T = {2}, IoU 0/2
                         [[0.0, 3.0], [1.0, 0.0]],    # EPG 1; â = [0, 1, 1/3, 0] → T = {1}, IoU 1/2
                         [[-1.0, -1.0], [-1.0, -1.0]]])  # zero energy: EPG 0; flat: T empty, IoU 0
    pm.add(maps, human)
    r = pm.result()
    close([r["epg"], r["iou"], r["images"]], [(1 / 3 + 1 + 0) / 3, (0 + 0.5 + 0) / 3, 3])


def cfg(**guidance):
    return {"data": {"source": {"type": "builtin", "name": "decoy-mnist"}}, "model": {"arch": guidance.pop("arch", "small_cnn")}, "guidance": guidance}


@check
def config_accepts_and_refuses():
    c = parse_config(cfg(loss="energy", attribution="gradcam", layer="mid", **{"lambda": 5}), "/tmp/x")
    assert c["guidance"]["loss"] == "energy" and c["guidance"]["lambda"] == 5 and c["guidance"]["layer"] == "mid"
    assert parse_config(cfg(loss="rrr", arch="mlp"), "/tmp/x")["guidance"]["lambda"] == 1000
    for bad, words in ((cfg(loss="energy", attribution="cam", layer="mid"), "layer = final only"),
                       (cfg(loss="l1", attribution="gradcam", layer="input"), "no channels"),
                       (cfg(loss="ppce", attribution="ixg", layer="final", arch="mlp"), "no spatial layout"),
                       (cfg(loss="rrr_star", attribution="cam", layer="final", arch="mlp"), "needs a CAM")):
        try:
            parse_config(bad, "/tmp/x")
        except ConfigError as e:
            assert words in str(e), str(e)
        else:
            raise AssertionError(f"accepted {bad['guidance']}")


finish(worstRelativeError=worst_rel)
