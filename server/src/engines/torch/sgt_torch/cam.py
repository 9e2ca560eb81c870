"""Class activation maps, as engines/tfjs/cam.ts (reference.md): cam = W[k]·F summed over
channels (no bias, no ReLU), min-max normalised per image to [0, 1], a flat map
(range < FLAT_RANGE) becoming zeros. The whole batch at once; k is not differentiated.
"""
import torch
import torch.nn.functional as F

FLAT_RANGE = 1e-12


def cam_targets(logits, labels, cam_class):
    return logits.detach().argmax(dim=1) if cam_class == "predicted" else labels


def class_activation_map(features, head_weight, targets):
    """features [N, C, h, w], head_weight [classes, C] (torch Linear layout) -> [N, h, w]."""
    wk = head_weight[targets]  # [N, C]
    return torch.einsum("nchw,nc->nhw", features, wk)


def normalize_maps(maps):
    lo = maps.amin(dim=(1, 2), keepdim=True)
    rng = maps.amax(dim=(1, 2), keepdim=True) - lo
    # 1 for a flat map, else 0; a comparison carries no gradient (tfjs: `step`)
    flat = (rng < FLAT_RANGE).to(maps.dtype)
    return (maps - lo) / (rng + flat) * (1 - flat)


def normalized_cam(features, head_weight, targets):
    return normalize_maps(class_activation_map(features, head_weight, targets))


def resize_maps(maps, to):
    """[N, s, s] -> [N, to, to], bilinear on pixel centres, no antialiasing (data/resize.ts)."""
    if maps.shape[-1] == to:
        return maps
    return F.interpolate(maps.unsqueeze(1), size=(to, to), mode="bilinear", align_corners=False).squeeze(1)


def saliency_at_cam_size(maps, to):
    """Human maps as CYBORG compares them (cam.ts saliencyAtCamSize): resize, then min-max."""
    return normalize_maps(resize_maps(maps.float(), to))
