"""Model attributions for guidance and evaluation (reference.md "Attribution methods"),
differentiable: gradients are taken with ``create_graph`` so a loss on the map trains the
weights (second-order gradients, which autograd provides for every op our models use).

- cam: W[k]·F at the final features, min-max normalised per image (cam.py), k per cam_class;
- gradcam: ReLU(Σ_c mean_hw(∂y_k/∂F_c)·F_c), k = label;
- ixg: Σ_c (∂y_k/∂F ⊙ F)_c, k = label;

with F the features at `layer`: final, mid (models.py / tv_models.py ``with_mid``) or the
input (F = x, the image in [0, 1] as loaded: `data.normalize` is the model's first
operation, so it sits inside the gradient). y_k is the logit of class k. Gradients of
Σ_n y_{n,k_n} give each image its own gradient (no batch norm in our own models; torchvision
backbones in training mode couple a batch through batch norm, as in Rao et al.'s code).
"""
import torch

from .cam import cam_targets, normalized_cam

ATTRIBUTIONS = ("cam", "gradcam", "ixg")
LAYERS = ("input", "mid", "final")


def layer_features(layer, x, feats, mid):
    return x if layer == "input" else mid if layer == "mid" else feats


def gradient_map(kind, logits, features, targets, create_graph):
    """gradcam / ixg of the target logits with respect to `features` [N, C, h, w] -> [N, h, w]."""
    y = logits.gather(1, targets.long().unsqueeze(1)).sum()
    (g,) = torch.autograd.grad(y, features, create_graph=create_graph)
    if kind == "gradcam":
        weights = g.mean(dim=(2, 3), keepdim=True)
        return torch.relu((weights * features).sum(dim=1))
    return (g * features).sum(dim=1)


def attribution_maps(kind, layer, logits, x, feats, mid, head_weight, labels, cam_class, create_graph=True):
    """The attribution of each image at its feature resolution, [N, h, w]. `x` must require
    grad (and be the tensor the model's input was computed from) for `layer = input`."""
    if kind == "cam":
        return normalized_cam(feats, head_weight, cam_targets(logits, labels, cam_class))
    return gradient_map(kind, logits, layer_features(layer, x, feats, mid), labels, create_graph)


def input_gradients(logits, x, create_graph=True):
    """∂ Σ_k log p_k / ∂x per image (Ross et al.'s RRR), same shape as x."""
    (g,) = torch.autograd.grad(torch.log_softmax(logits, dim=1).sum(), x, create_graph=create_graph)
    return g
