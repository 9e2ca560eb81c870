"""Evaluation metrics, as engines/tfjs/metrics.ts (reference.md "Metrics"): accuracy, ROC AUC
(rank-based, ties sharing their average rank; NaN when a class is absent), and saliency
agreement: the normalised CAM upsampled bilinearly to the image size against the human map
min-max normalised (flat -> zeros): mean per-image MSE, and mean per-image Pearson
correlation over the images where it is defined (neither map constant). EPG and IoU of an
attribution (upsampled bilinearly to the image size) against the mask M = {H > 0}.
"""
import math

import numpy as np
import torch

from .cam import FLAT_RANGE, resize_maps


def roc_auc(scores, positive):
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n = len(scores)
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = int(positive.sum())
    neg = n - pos
    if pos == 0 or neg == 0:
        return math.nan
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


class SaliencyAgreement:
    """Accumulates per-image MSE and correlation over evaluation batches."""

    def __init__(self, image_size):
        self.image_size = image_size
        self.mse_sum = 0.0
        self.corr_sum = 0.0
        self.images = 0
        self.corr_images = 0

    def add(self, cams, human):
        """cams [n, h, w] normalised CAMs; human [n, S, S] human maps (any range)."""
        if cams.shape[0] == 0:
            return
        up = resize_maps(cams.float(), self.image_size).double().flatten(1)
        h = human.double().flatten(1)
        lo = h.amin(dim=1, keepdim=True)
        rng = h.amax(dim=1, keepdim=True) - lo
        h = torch.where(rng > FLAT_RANGE, (h - lo) / rng.clamp(min=FLAT_RANGE), torch.zeros_like(h))
        self.mse_sum += float(((up - h) ** 2).mean(dim=1).sum())
        self.images += up.shape[0]
        da = up - up.mean(dim=1, keepdim=True)
        db = h - h.mean(dim=1, keepdim=True)
        saa = (da * da).sum(dim=1)
        sbb = (db * db).sum(dim=1)
        ok = (saa > 0) & (sbb > 0)
        if ok.any():
            r = (da * db).sum(dim=1)[ok] / torch.sqrt(saa[ok] * sbb[ok])
            self.corr_sum += float(r.sum())
            self.corr_images += int(ok.sum())

    def result(self):
        return {
            "mse": self.mse_sum / self.images if self.images else math.nan,
            "corr": self.corr_sum / self.corr_images if self.corr_images else math.nan,
            "images": self.images,
        }


class PointingMetrics:
    """EPG and IoU (reference.md "Metrics") over evaluation batches, per image then mean:
    EPG = Σ_{M=1} a⁺ / Σ a⁺ (zero energy counts 0); IoU = |T∩M| / |T∪M| with T = {â > 0.5},
    â = a⁺ min-max normalised per image (a flat map: T empty; an empty union counts 0)."""

    def __init__(self, image_size):
        self.image_size = image_size
        self.epg_sum = 0.0
        self.iou_sum = 0.0
        self.images = 0

    def add(self, maps, human):
        """maps [n, h, w] attributions (any range); human [n, S, S] maps, M = human > 0."""
        if maps.shape[0] == 0:
            return
        a = resize_maps(maps.float(), self.image_size).double().clamp(min=0).flatten(1)
        m = (human > 0).flatten(1).to(a.device)
        total = a.sum(dim=1)
        inside = (a * m).sum(dim=1)
        epg = torch.where(total > 0, inside / total.clamp(min=1e-300), torch.zeros_like(total))
        lo = a.amin(dim=1, keepdim=True)
        rng = a.amax(dim=1, keepdim=True) - lo
        t = torch.where(rng > FLAT_RANGE, (a - lo) / rng.clamp(min=FLAT_RANGE), torch.zeros_like(a)) > 0.5
        inter = (t & m).sum(dim=1).double()
        union = (t | m).sum(dim=1).double()
        iou = torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union))
        self.epg_sum += float(epg.sum())
        self.iou_sum += float(iou.sum())
        self.images += a.shape[0]

    def result(self):
        return {"epg": self.epg_sum / self.images if self.images else math.nan,
                "iou": self.iou_sum / self.images if self.images else math.nan, "images": self.images}
