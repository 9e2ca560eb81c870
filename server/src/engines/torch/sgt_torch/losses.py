"""Training losses, as engines/tfjs/losses.ts (reference.md "Guidance losses"):

- cross-entropy, mean over the batch;
- CYBORG: L = α·CE + (1−α)·MSE(cam, H↓), MSE the mean over the h×w map, averaged over the
  batch's guided images (0 when it has none); images without a usable map contribute CE
  only (``missing_saliency = zeros`` marks every image guided upstream, data.ts).
"""
import torch
import torch.nn.functional as F

from .cam import cam_targets, normalized_cam


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
    ce = _mean(cross_entropy_per_image(logits, labels), norm)
    mse = cam_mse_per_image(logits, features, head_weight, labels, saliency, cam_class)
    g = guided.to(mse.dtype)
    guidance = (mse * g).sum() / (g.sum().clamp(min=1) if norm is None else max(norm["guided"], 1))
    return alpha * ce + (1 - alpha) * guidance, ce, guidance
