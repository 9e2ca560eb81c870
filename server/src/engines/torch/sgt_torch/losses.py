"""Training losses, as engines/tfjs/losses.ts (reference.md "Guidance losses"):

- cross-entropy, mean over the batch;
- CYBORG: L = α·CE + (1−α)·MSE(cam, H↓), MSE the mean over the h×w map, averaged over the
  batch's guided images (0 when it has none); images without a usable map contribute CE
  only (``missing_saliency = zeros`` marks every image guided upstream, data.ts);
- Rao et al.'s energy, L1, PPCE and RRR*, and Ross et al.'s RRR: total = CE + λ·L with L the
  mean of the per-image term over the batch's guided images (unguided images: CE only).

Rao's losses compare an attribution a, upsampled bilinearly to the annotation size, with a
binary mask M. From a grayscale human map H: M = 1 where H > 0 (for Decoy MNIST, the
digit's strokes), so RRR's irrelevant region A = {H = 0} is exactly where M = 0
(`guidance.irrelevant = unannotated`). With `irrelevant = shortcut`, A is the data set's
known shortcut instead (Decoy MNIST's swatch: Ross et al.'s own A, `dtak/rrr`), for RRR
and for RRR* (which then penalises â on A, i.e. M = 1 − A).
"""
import torch
import torch.nn.functional as F

from .cam import cam_targets, normalize_maps, normalized_cam, resize_maps, saliency_at_cam_size

RAO_LOSSES = ("energy", "l1", "ppce", "rrr_star")
LAMBDA_LOSSES = RAO_LOSSES + ("rrr",)
ENERGY_FLOOR = 1e-7  # reference.md: below this total positive energy, L = 1 − Σ_{M=1} a⁺
LOG_EPS = 1e-7  # PPCE: log(â + ε), so a pixel of M with no positive attribution is finite


def cross_entropy_per_image(logits, labels):
    return -F.log_softmax(logits, dim=1).gather(1, labels.long().unsqueeze(1)).squeeze(1)


def _mean(per_image, norm):
    """Batch mean, or with `norm` (a shard of a batch) the shard's sum over the batch's image count."""
    return per_image.mean() if norm is None else per_image.sum() / norm["images"]


def cross_entropy_loss(logits, labels, norm=None):
    ce = _mean(cross_entropy_per_image(logits, labels), norm)
    return ce, ce, torch.zeros((), dtype=ce.dtype, device=ce.device)


def cam_mse_per_image(logits, features, head_weight, labels, saliency, cam_class):
    cam = normalized_cam(features, head_weight, cam_targets(logits, labels, cam_class))
    return ((cam - saliency) ** 2).mean(dim=(1, 2))


def cyborg_loss(logits, features, head_weight, labels, saliency, guided, alpha, cam_class, norm=None):
    """Returns (loss, ce, guidance) as 0-d tensors. With `norm` = {images, guided} of the whole
    batch, a shard's terms are its sums over the batch's denominators, so shards add up."""
    mse = cam_mse_per_image(logits, features, head_weight, labels, saliency, cam_class)
    return cyborg_from_mse(logits, labels, mse, guided, alpha, norm)


def map_mse_per_image(maps, saliency):
    """CYBORG's per-image term for any attribution map: MSE between the min-max normalised map
    [N, h, w] and the human map (or box mask) resized to h×w (cam.saliency_at_cam_size)."""
    return ((normalize_maps(maps) - saliency_at_cam_size(saliency, maps.shape[-1])) ** 2).mean(dim=(1, 2))


def cyborg_from_mse(logits, labels, mse, guided, alpha, norm=None):
    """α·CE + (1−α)·(guided images' mean of the per-image MSE), for any attribution map."""
    ce = _mean(cross_entropy_per_image(logits, labels), norm)
    g = guided.to(mse.dtype)
    guidance = (mse * g).sum() / (g.sum().clamp(min=1) if norm is None else max(norm["guided"], 1))
    return alpha * ce + (1 - alpha) * guidance, ce, guidance


def human_mask(saliency):
    """M from grayscale human maps [N, S, S]: 1 where the map is positive."""
    return (saliency > 0).to(torch.float32)


def unit_attribution(a):
    """â = a⁺ / max|a| per image (reference.md, L1/PPCE/RRR*); an all-zero map stays zero."""
    peak = a.abs().amax(dim=(1, 2), keepdim=True)
    return a.clamp(min=0) / torch.where(peak > 0, peak, torch.ones_like(peak))


def energy_per_image(a, m):
    pos = a.clamp(min=0)
    inside = (pos * m).sum(dim=(1, 2))
    total = pos.sum(dim=(1, 2))
    # the clamp keeps the unused branch finite, so its gradient is not NaN
    return torch.where(total < ENERGY_FLOOR, 1 - inside, 1 - inside / total.clamp(min=ENERGY_FLOOR))


def l1_per_image(a, m):
    return (unit_attribution(a) - m).abs().mean(dim=(1, 2))


def ppce_per_image(a, m):
    """−mean over M = 1 of log â; 0 for an empty mask (no pixel to reward)."""
    logs = torch.log(unit_attribution(a) + LOG_EPS) * m
    return -logs.sum(dim=(1, 2)) / m.sum(dim=(1, 2)).clamp(min=1)


def rrr_star_per_image(a, m):
    return ((unit_attribution(a) * (1 - m)) ** 2).sum(dim=(1, 2))


RAO_PER_IMAGE = {"energy": energy_per_image, "l1": l1_per_image, "ppce": ppce_per_image, "rrr_star": rrr_star_per_image}


def rao_per_image(loss, maps, mask):
    """maps [N, h, w] attributions at feature resolution, mask [N, S, S]: upsampled to S first."""
    return RAO_PER_IMAGE[loss](resize_maps(maps, mask.shape[-1]), mask)


IRRELEVANT = ("unannotated", "shortcut")


def irrelevant_region(kind, saliency, shortcut):
    """A [N, S, S] float32, 1 on the irrelevant pixels: where the human map is 0
    (`unannotated`), or the known shortcut (`shortcut`, uint8 masks from the data export)."""
    if kind == "shortcut":
        return (shortcut > 0).to(torch.float32)
    if kind != "unannotated":
        raise ValueError(f"guidance.irrelevant = {kind!r}: expected one of {IRRELEVANT}")
    return (saliency <= 0).to(torch.float32)


def rrr_per_image(input_grads, saliency, irrelevant=None):
    """Σ over the irrelevant region A [N, S, S] (every channel) of the squared input gradients;
    A = `irrelevant` when given (irrelevant_region), else {H = 0} of the human maps `saliency`."""
    region = irrelevant if irrelevant is not None else saliency <= 0
    a = region.to(input_grads.dtype).unsqueeze(1)
    return (input_grads ** 2 * a).sum(dim=(1, 2, 3))


def lambda_loss(logits, labels, per_image, guided, lam, norm=None):
    """(CE + λ·L, CE, L) with L the guided images' mean of `per_image` (shards as cyborg_loss)."""
    ce = _mean(cross_entropy_per_image(logits, labels), norm)
    g = guided.to(per_image.dtype)
    guidance = (per_image * g).sum() / (g.sum().clamp(min=1) if norm is None else max(norm["guided"], 1))
    return ce + lam * guidance, ce, guidance
