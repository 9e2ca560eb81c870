"""Multi-label training (labels.csv rows like ``img.png,cat;dog``; docs/dsl.md), as Rao et al.
train VOC / COCO classifiers:

- classification: one sigmoid output per class and binary cross-entropy, the mean over
  classes then over the batch (reported as the ``ce`` part of the loss);
- guidance: per image ONE target class k, drawn at the start of epoch e by
  ``Rng(seed, TARGET_STREAM_BASE + e)`` among its present labels (exactly as
  data/multi-label.ts ``sampleTargetClasses``: images in index order, ``int(n_labels)``, the
  classes in index order), so runs are reproducible and independent of batch order. The
  attribution explains k and is compared with the mask of k's boxes (Rao's rule: the union
  of ``M[y0:y1, x0:x1] = 1``, in target pixels as data/boxes.ts scaled them), or with the
  human map when the data has saliency maps instead of boxes (a map is per image, so it
  serves every class). An image without boxes of k, or outside the annotated subset,
  contributes classification only. RRR uses Σ_k log σ(y_k) in place of Σ_k log p_k.
- metrics: ``accuracy`` = exact match (every class's sigmoid on the right side of 0.5),
  ``f1`` = micro-averaged F1 over all (image, class) decisions at 0.5, ``map`` = mean over
  the classes present in the split of the average precision (sklearn's step-wise
  definition), ``epg`` / ``iou`` per (image, present class with boxes), ``loss`` = mean BCE.

The Trainer (train.py) owns the model, attributions and optimizer; this class replaces its
loss, its correct count and its evaluation when the data set is multi-label.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from .config import ConfigError
from .losses import RAO_LOSSES, map_mse_per_image, rao_per_image, rrr_per_image
from .metrics import PointingMetrics
from .rng import Rng

TARGET_STREAM_BASE = 3000
METRICS = ("accuracy", "f1", "map", "epg", "iou")


def sample_targets(multi_hot, seed, epoch):
    """Per image the guided class of epoch `epoch` (0-based), -1 for an image without labels."""
    m = np.asarray(multi_hot)
    rng = Rng(seed, TARGET_STREAM_BASE + epoch)
    out = np.full(m.shape[0], -1, dtype=np.int64)
    for i in range(m.shape[0]):
        present = np.flatnonzero(m[i])
        if len(present):
            out[i] = present[rng.int(len(present))]
    return out


def boxes_by_image(rows, count):
    """[B, 6] rows (image, class, x0, y0, x1, y1) -> per image a list of (class, x0, y0, x1, y1)."""
    per = [[] for _ in range(count)]
    for r in np.asarray(rows).reshape(-1, 6).tolist():
        per[r[0]].append(tuple(r[1:]))
    return per


def has_box_of(boxes, k):
    """Whether an image's boxes (class, x0, y0, x1, y1) include one of class k."""
    return any(c == k for c, *_ in boxes)


def class_masks(per_image, idx, targets, size):
    """Rao's rule for image idx[j] and class targets[j]: M = 0, then M[y0:y1, x0:x1] = 1 for each
    of its boxes of that class. Returns (masks [n, S, S] float32, has [n] bool: some box)."""
    n = len(idx)
    masks = torch.zeros((n, size, size))
    has = torch.zeros(n, dtype=torch.bool)
    for j, (i, k) in enumerate(zip(idx, targets)):
        has[j] = has_box_of(per_image[int(i)], k)
        for c, x0, y0, x1, y1 in per_image[int(i)]:
            if c == k:
                masks[j, y0:y1, x0:x1] = 1
    return masks, has


def bce_per_image(logits, multi_hot):
    return F.binary_cross_entropy_with_logits(logits, multi_hot, reduction="none").mean(dim=1)


def exact_matches(logits, multi_hot):
    """Images whose every class is predicted right (sigmoid > 0.5 ⇔ logit > 0)."""
    return ((logits > 0) == (multi_hot > 0.5)).all(dim=1)


def f1_micro(predicted, truth):
    """2·TP / (2·TP + FP + FN) over all (image, class) pairs; NaN when there is nothing to count."""
    p = np.asarray(predicted, dtype=bool)
    t = np.asarray(truth, dtype=bool)
    tp = int((p & t).sum())
    denom = 2 * tp + int((p & ~t).sum()) + int((~p & t).sum())
    return 2 * tp / denom if denom else math.nan


def average_precision(scores, positive):
    """Σ_n (R_n − R_{n−1}) P_n over the distinct score thresholds, highest first (sklearn's
    average_precision_score); NaN without positives."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    if n_pos == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each run of equal scores
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(scores, truth):
    aps = [average_precision(scores[:, k], truth[:, k]) for k in range(truth.shape[1])]
    aps = [a for a in aps if not math.isnan(a)]
    return float(np.mean(aps)) if aps else math.nan


class MultiLabel:
    def __init__(self, trainer):
        t = self.t = trainer
        if t.loss_kind != "none" and t.config["guidance"].get("irrelevant", "unannotated") == "shortcut":
            raise ConfigError("guidance.irrelevant = shortcut needs a data set with shortcut masks; multi-label folder data has none")
        data = t.data
        self.seed = t.config["seed"]
        self.train_y = data.train.multi_labels.numpy()
        self.y = data.train.multi_labels.float().to(t.device)
        self.boxes = {}
        for split in ("train", "val", "test"):
            s = getattr(data, split)
            self.boxes[id(s)] = boxes_by_image(s.boxes, s.count) if s.boxes is not None else None
        self.targets = sample_targets(self.train_y, self.seed, 0)

    def notes(self, notes):
        """The trainer's notes, its metric notes replaced by the multi-label ones."""
        kept = [n for n in notes if not n.startswith(("the torch engine does not compute", "auc needs a binary task"))]
        skipped = [m for m in self.t.config["evaluate"]["metrics"] if m not in METRICS]
        out = kept + [f"multi-label data ({self.t.data.classes} classes): sigmoid outputs and binary cross-entropy (the loss's ce part), accuracy = exact match"
               + ("; one target class per image and epoch, sampled among its labels, guides the attribution" if self.t.loss_kind != "none" else "")]
        if skipped:
            out.append(f"{', '.join(skipped)} not computed for multi-label data (it computes {', '.join(METRICS)}); skipped")
        return out

    def set_epoch(self, epoch):
        self.targets = sample_targets(self.train_y, self.seed, epoch)

    def masks(self, s, idx, targets):
        """(masks [n, S, S], has [n]) of class targets[j] for image idx[j] of split s."""
        per_image = self.boxes[id(s)]
        if per_image is not None:
            return class_masks(per_image, idx, targets, s.size)
        # saliency maps: one per image, whatever the class
        return (s.saliency_rows(torch.as_tensor(idx)) > 0).float(), s.has_saliency[torch.as_tensor(idx)].bool()

    def guided_images(self, idx):
        """Which training images idx (numpy) get the guidance term this epoch: annotated (the
        `annotated` subset), with a target class, and with a box of it (or a human map)."""
        t = self.t
        targets = self.targets[idx]
        per_image = self.boxes[id(t.data.train)]
        if per_image is not None:
            has = np.array([has_box_of(per_image[int(i)], k) for i, k in zip(idx, targets)], dtype=bool)
        else:
            has = t.data.train.has_saliency[torch.as_tensor(idx)].bool().numpy()
        # the data's own (CPU) flags: no device round trip on every step
        return t.data.guided[torch.as_tensor(idx)].bool().numpy() & has & (targets >= 0)

    def loss(self, net, x_raw, idx_d, whole=None):
        """(logits, loss, bce, guidance) of a training batch. With data-parallel ranks, idx_d
        is this rank's shard of the batch `whole` (numpy indices): each term is then the shard's
        share of the whole batch's mean (its sum over the images of the shard, divided by the
        count over the whole batch), so the ranks' terms add up to one process's."""
        t = self.t
        g = t.config["guidance"]
        y = self.y[idx_d]
        kind = t.loss_kind

        def batch_mean(per_image):
            return per_image.mean() if whole is None else per_image.sum() / len(whole)

        if kind == "none":
            logits, _ = t.forward(net, t.prep(x_raw))
            bce = batch_mean(bce_per_image(logits, y))
            return logits, bce, bce, torch.zeros((), device=bce.device)
        idx = idx_d.cpu().numpy()
        targets_np = self.targets[idx]
        mask, _ = self.masks(t.data.train, idx, targets_np)
        mask = mask.to(t.device)
        guided = torch.from_numpy(self.guided_images(idx)).float().to(t.device)
        # the number of guided images of the whole batch: on every rank the same, from `whole`
        count = guided.sum().clamp(min=1) if whole is None else max(float(self.guided_images(whole).sum()), 1.0)
        targets = torch.from_numpy(np.maximum(targets_np, 0)).to(t.device)
        if kind == "rrr":
            x_raw = x_raw.detach().requires_grad_(True)
            logits, _, _ = t.forward_guided(net, t.prep(x_raw))
            (grads,) = torch.autograd.grad(F.logsigmoid(logits).sum(), x_raw, create_graph=True)
            per_image = rrr_per_image(grads.float(), mask)  # A = outside the target class's boxes
        else:
            logits, maps = t.attribution(net, x_raw, targets, create_graph=True)
            if kind == "cyborg":
                per_image = map_mse_per_image(maps, mask)
            elif kind in RAO_LOSSES:
                per_image = rao_per_image(kind, maps, mask)
            else:
                raise ConfigError(f"guidance.loss = {kind} is not supported with multi-label data")
        bce = batch_mean(bce_per_image(logits, y))
        guidance = (per_image * guided).sum() / count
        if kind == "cyborg":
            return logits, g["alpha"] * bce + (1 - g["alpha"]) * guidance, bce, guidance
        return logits, bce + g["lambda"] * guidance, bce, guidance

    def correct(self, logits, idx_d):
        return int(exact_matches(logits.detach(), self.y[idx_d]).sum())

    def evaluate(self, s):
        """The metrics of a split (called under torch.no_grad by Trainer.evaluate)."""
        t = self.t
        want = t.metrics_wanted
        batch = t.config["train"]["batch"]
        y_all = s.multi_labels.numpy().astype(bool)
        scores = np.zeros(y_all.shape, dtype=np.float64)
        bce_sum = 0.0
        correct = 0
        pointing = PointingMetrics(s.size) if want & {"epg", "iou"} else None
        for start in range(0, s.count, batch):
            if t.ctx.cancel_requested():
                from .train import CancelledError  # noqa: PLC0415 (train imports this module)

                raise CancelledError()
            idx = torch.arange(start, min(start + batch, s.count))
            y = s.multi_labels[idx].float().to(t.device)
            t.model.eval()
            logits, _ = t.forward(t.model, t.prep(s.batch(idx, t.device)))
            scores[start:start + len(idx)] = torch.sigmoid(logits).double().cpu().numpy()
            bce_sum += float(bce_per_image(logits, y).sum())
            correct += int(exact_matches(logits, y).sum())
            if pointing is not None:
                # every (image, present class) with an annotation of that class
                pairs = [(int(i), int(k)) for i in idx.tolist() for k in np.flatnonzero(y_all[i])]
                if pairs:
                    pi = np.array([p[0] for p in pairs])
                    pk = np.array([p[1] for p in pairs])
                    masks, has = self.masks(s, pi, pk)
                    keep = has.numpy()
                    if keep.any():
                        with torch.enable_grad():
                            _, maps = t.attribution(t.model, s.batch(torch.from_numpy(pi[keep]), t.device), torch.from_numpy(pk[keep]).to(t.device), create_graph=False)
                        pointing.add(maps.detach().cpu(), masks[torch.from_numpy(keep)])
        n = max(s.count, 1)
        m = {"accuracy": correct / n, "loss": bce_sum / n}
        if "f1" in want:
            m["f1"] = f1_micro(scores > 0.5, y_all)
        if "map" in want:
            m["map"] = mean_average_precision(scores, y_all)
        if pointing is not None and pointing.result()["images"] > 0:
            r = pointing.result()
            for key in ("epg", "iou"):
                if key in want:
                    m[key] = r[key]
        return m
