"""The training loop of the torch engine, step for step the tfjs engine's
(engines/tfjs/train.ts): seeded weights (models.py), the shuffle of epoch e from
Rng(seed, 2000 + e), `step` events every STEP_EVENT_EVERY steps and at each epoch's last,
per-epoch evaluation of val / test, a checkpoint per epoch (resume recomputes exactly what
an uninterrupted run would), previews of CAM overlays, summary.json at the end.

Optimizers are torch.optim.SGD / Adam, whose update rules the tfjs engine copies
(engines/tfjs/optimizer.ts); the learning rate of each step is set from the same schedule.
"""
import contextlib
import math
import os
import time

import numpy as np
import torch

from .attribution import attribution_maps, input_gradients
from .cam import cam_targets, normalized_cam, resize_maps, saliency_at_cam_size
from .cam_file import load_cam_probe, probe_cams, write_cam_file
from .checkpoint import read_last_pointer, restore_checkpoint, save_checkpoint
from .config import ConfigError
from .distributed import Dist, shard_bounds
from .events import now_iso
from .losses import RAO_LOSSES, cross_entropy_loss, cyborg_from_mse, cyborg_loss, human_mask, irrelevant_region, lambda_loss, map_mse_per_image, rao_per_image, rrr_per_image
from .metrics import PointingMetrics, SaliencyAgreement, roc_auc
from .models import create_model, feature_size, parameter_count
from .multilabel import MultiLabel
from .tv_models import PretrainedError, load_pretrained
from .data import BatchFeed
from .overlay import OverlayRenderer
from .rng import Rng

STEP_EVENT_EVERY = 10
SHUFFLE_STREAM_BASE = 2000
SUPPORTED_METRICS = ("accuracy", "auc", "saliency_mse", "saliency_corr", "epg", "iou", "consistency")


class CancelledError(Exception):
    pass


class DivergedError(Exception):
    """The loss stopped being a number: the user's to fix (learning rate), not a crash."""


def rnd(x, digits=6):
    """Number(x.toPrecision(digits)) of train.ts."""
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


def round_metrics(m):
    return {k: rnd(v) for k, v in m.items() if math.isfinite(v)}


def format_seconds(s):
    m = int(s // 60)
    return f"{m}m{round(s - 60 * m):02d}s" if m else f"{s:.1f}s"


def learning_rate(train, epoch, step_index, total_steps):
    lr = train["optimizer"]["lr"]
    sched = train["schedule"]
    if sched["type"] == "step":
        return lr * sched["gamma"] ** math.floor(epoch / sched["every"])
    if sched["type"] == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * step_index / total_steps))
    return lr


def create_optimizer(opt, params):
    if opt["type"] == "sgd":
        return torch.optim.SGD(params, lr=opt["lr"], momentum=opt["momentum"], weight_decay=opt["weight_decay"])
    return torch.optim.Adam(params, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=1e-8, weight_decay=opt["weight_decay"])


def amp_setting(device, env=os.environ):
    """Mixed precision: autocast on CUDA (bfloat16 where the GPU has it, else float16 with a
    gradient scaler); the losses, CAMs and metrics are computed in float32 from the autocast
    outputs. SGT_TORCH_AMP=off turns it off; SGT_TORCH_AMP=cpu (a test hook) autocasts to
    bfloat16 on the CPU so the code path runs without a GPU. Returns (device type, dtype) or None."""
    choice = env.get("SGT_TORCH_AMP", "auto")
    if choice == "off":
        return None
    if choice == "cpu" and device.type == "cpu":
        return ("cpu", torch.bfloat16)
    if device.type == "cuda":
        return ("cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return None


def select_device(choice):
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("train.device = cuda, but PyTorch sees no CUDA GPU here (use device = auto or cpu)")
        return torch.device("cuda"), f"cuda ({torch.cuda.get_device_name(0)}): train.device = cuda"
    if choice == "auto" and torch.cuda.is_available():
        return torch.device("cuda"), f"cuda ({torch.cuda.get_device_name(0)}): train.device = auto and a CUDA GPU is present"
    why = "train.device = cpu" if choice == "cpu" else "train.device = auto and PyTorch sees no CUDA GPU"
    return torch.device("cpu"), f"cpu ({torch.get_num_threads()} threads, PyTorch {torch.__version__}): {why}"


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def exported_statistics(meta, channels):
    """The training split's (mean, std) the launcher computed while exporting (meta.json
    `trainStatistics`, data/normalize.ts), or None for an export without them."""
    st = (meta or {}).get("trainStatistics")
    if not isinstance(st, dict):
        return None
    mean, std = st.get("mean"), st.get("std")
    if not (isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) == channels):
        return None
    return [float(v) for v in mean], [float(v) for v in std]


def input_statistics(normalize, train, device, exported=None):
    """(mean, 1/std) as [1, C, 1, 1] float32 tensors, or (None, None) for `normalize = none`,
    exactly as data/normalize.ts and the tfjs model compute them: `dataset` = per-channel mean
    and population standard deviation of the training split (float64 sums; a constant
    channel keeps std 1), applied as (x − mean) · (1/std). `exported`: the statistics the
    export recorded (the very numbers the tfjs engine uses, and no pass over a training split
    that may be memory-mapped from disk); without them they are computed here."""
    if normalize == "none":
        return None, None
    if normalize == "imagenet":
        if train.channels != 3:
            raise ConfigError(f"data.normalize = imagenet needs RGB images, but this data set has {train.channels} channel(s): use normalize = dataset")
        mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    elif exported is not None:
        mean, std = exported
    else:
        # float64 sums over slices of the split (the same slices in memory or memory-mapped)
        total = torch.zeros(train.channels, dtype=torch.float64)
        total_sq = torch.zeros(train.channels, dtype=torch.float64)
        for chunk in train.chunks():
            x = train.images_float(chunk).double().reshape(-1, train.channels)
            total += x.sum(dim=0)
            total_sq += (x * x).sum(dim=0)
        n = train.count * train.size * train.size
        mean = (total / n if n else total).tolist()
        sq = (total_sq / n if n else total_sq).tolist()
        std = [math.sqrt(v - m * m) if v - m * m > 1e-12 else 1.0 for v, m in zip(sq, mean)]
    as_tensor = lambda v: torch.tensor(v, dtype=torch.float32).view(1, -1, 1, 1).to(device)  # noqa: E731
    return as_tensor(mean), as_tensor([1 / s for s in std])


class Trainer:
    def __init__(self, ctx, config, data, device, dist=None):
        self.ctx, self.config, self.data, self.device = ctx, config, data, device
        self.dist = dist or Dist()
        tr = data.train
        m = config["model"]
        self.model = create_model(m["arch"], m["width"], m["hidden"], tr.size, tr.channels, data.classes, config["seed"])
        self.pretrained_note = None
        if m.get("pretrained"):
            if not hasattr(self.model, "net"):
                raise ConfigError(f"model.pretrained applies to the torchvision architectures, not {m['arch']}")
            try:
                self.pretrained_note = load_pretrained(self.model, m["pretrained"])
            except PretrainedError as e:
                raise ConfigError(str(e)) from e
        self.model = self.model.to(device)
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        # what trains: the model, or its DistributedDataParallel wrapper (same parameters)
        self.net = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(self.model, device_ids=[torch.cuda.current_device()] if device.type == "cuda" else None)
        self.optimizer = create_optimizer(config["train"]["optimizer"], self.model.parameters())
        self.amp = amp_setting(device)
        # float16 needs loss scaling against underflowing gradients; bfloat16 does not
        self.scaler = torch.cuda.amp.GradScaler() if self.amp and self.amp[1] == torch.float16 else None
        self.mean, self.inv_std = input_statistics(config["normalize"], tr, device, exported_statistics(getattr(data, "meta", None), tr.channels))
        self.cam_size = feature_size(m["arch"], tr.size, self.model, tr.channels)
        if self.cam_size is not None and self.cam_size < 1:
            raise ConfigError(f"data.image_size = {tr.size} is too small for {m['arch']}: its final feature map would be empty")
        self.has_cam = self.cam_size is not None
        g = config["guidance"]
        self.loss_kind = g["loss"]
        # CYBORG with the CAM: the tfjs engine's path (targets resized once); any other
        # attribution loss computes its map per batch and compares it with the raw human maps
        self.cyborg = self.loss_kind == "cyborg" and g["attribution"] == "cam" and self.has_cam
        self.train_saliency = torch.cat([saliency_at_cam_size(tr.saliency_rows(c), self.cam_size) for c in tr.chunks()]).to(device) if self.cyborg else None
        self.attribution_loss = self.loss_kind in ("cyborg",) + RAO_LOSSES and not self.cyborg
        self.train_human = tr.saliency.to(device) if self.attribution_loss or self.loss_kind == "rrr" else None
        # RRR / RRR*'s irrelevant region A (guidance.irrelevant): {H = 0}, or the data's shortcut masks
        self.train_irrelevant = None
        if self.loss_kind in ("rrr", "rrr_star"):
            if g["irrelevant"] == "shortcut" and not bool(tr.shortcut.any()):
                raise ConfigError("guidance.irrelevant = shortcut, but this data set marks no shortcut region (only builtin(\"decoy-mnist\") does)")
            self.train_irrelevant = irrelevant_region(g["irrelevant"], tr.saliency, tr.shortcut).to(device)
        # EPG / IoU explain with the guidance attribution, else the CAM, else input×gradient (mlp)
        self.eval_attribution = ((g["attribution"], g["layer"]) if self.loss_kind in ("cyborg",) + RAO_LOSSES
                                 else ("cam", "final") if self.has_cam else ("ixg", "input"))
        self.guided = data.guided.to(device)
        self.labels = tr.labels.to(device)
        self.steps_per_epoch = math.ceil(tr.count / config["train"]["batch"])
        preview_from = next((s for s in (data.val, data.test, data.train) if s.count > 0), None)
        n_prev = min(config["preview"]["samples"], preview_from.count) if preview_from else 0
        self.preview_set = (preview_from, n_prev) if preview_from is not None and n_prev > 0 and self.has_cam else None
        self.metrics_wanted = set(config["evaluate"]["metrics"])
        # `consistency`: the kept checkpoint's CAMs on the CAM probe the launcher exported (cam_file.py)
        self.cam_probe = load_cam_probe() if "consistency" in self.metrics_wanted and self.has_cam else None
        # multi-label data: sigmoid + BCE, a sampled target class per image (multilabel.py)
        self.multi = MultiLabel(self) if data.multi_label else None
        # training batches: read ahead by DataLoader workers from a memory-mapped data set (data.py);
        # a data set held in memory is indexed in this process, which is faster than any worker
        workers = config["train"]["workers"]
        self.feed = (BatchFeed(tr, workers, pin_memory=device.type == "cuda", decode=device.type == "cpu")
                     if data.storage == "mapped" and workers > 0 else None)
        self.overlays = OverlayRenderer(ctx, inline=os.environ.get("SGT_TORCH_PREVIEWS") == "inline")

    def feed_description(self):
        mb = self.data.pixel_bytes / 2 ** 20
        if self.data.storage == "memory":
            return f"data in memory ({mb:.0f} MiB)"
        how = f"{self.feed.workers} DataLoader worker(s)" + (", pinned memory" if self.device.type == "cuda" else "") if self.feed else "read in the training process (train.workers = 0)"
        return f"data memory-mapped ({mb:.0f} MiB), {how}"

    def close(self):
        """Writes the preview in flight, stops the overlay thread and the DataLoader workers."""
        self.overlays.close()
        if self.feed:
            self.feed.close()

    def forward(self, net, x):
        """(logits, features) in float32, the network itself under autocast when AMP is on."""
        ctx = torch.autocast(device_type=self.amp[0], dtype=self.amp[1]) if self.amp else contextlib.nullcontext()
        with ctx:
            logits, feats = net(x)
        return logits.float(), (feats.float() if feats is not None else None)

    def forward_guided(self, net, x):
        """(logits in float32, final features, mid features) with the features as the network
        produced them (autocast dtype): gradients must be taken with respect to those tensors."""
        ctx = torch.autocast(device_type=self.amp[0], dtype=self.amp[1]) if self.amp else contextlib.nullcontext()
        with ctx:
            logits, feats, mid = net(x, with_mid=True)
        return logits.float(), feats, mid

    def attribution(self, net, x_raw, labels, create_graph):
        """(logits, maps [N, h, w] float32) of the experiment's guidance attribution (or the
        evaluation one when not training). x_raw: images in [0, 1], before data.normalize."""
        kind, layer = self.eval_attribution
        if layer == "input":
            x_raw = x_raw.detach().requires_grad_(True)
        logits, feats, mid = self.forward_guided(net, self.prep(x_raw))
        head = self.model.head.weight.float() if kind == "cam" else None
        maps = attribution_maps(kind, layer, logits, x_raw, feats.float() if kind == "cam" else feats, mid, head, labels,
                                self.config["guidance"]["cam_class"], create_graph)
        return logits, maps.float()

    def guided_loss(self, net, x_raw, labels, idx_d, norm):
        """(loss, ce, guidance) of the attribution losses other than CYBORG-with-CAM, and RRR."""
        g = self.config["guidance"]
        guided = self.guided[idx_d]
        human = self.train_human[idx_d]
        if self.loss_kind == "rrr":
            x_raw = x_raw.detach().requires_grad_(True)
            logits, _, _ = self.forward_guided(net, self.prep(x_raw))
            per_image = rrr_per_image(input_gradients(logits, x_raw).float(), human, self.train_irrelevant[idx_d])
            return (logits, *lambda_loss(logits, labels, per_image, guided, g["lambda"], norm))
        logits, maps = self.attribution(net, x_raw, labels, create_graph=True)
        if self.loss_kind == "cyborg":
            return (logits, *cyborg_from_mse(logits, labels, map_mse_per_image(maps, human), guided, g["alpha"], norm))
        # RRR* penalises â outside M, so M = 1 − A (= human_mask with irrelevant = unannotated)
        mask = 1 - self.train_irrelevant[idx_d] if self.loss_kind == "rrr_star" else human_mask(human)
        per_image = rao_per_image(self.loss_kind, maps, mask)
        return (logits, *lambda_loss(logits, labels, per_image, guided, g["lambda"], norm))

    def prep(self, x):
        """The model's input: images as they are, or standardised (data.normalize)."""
        return x if self.mean is None else (x - self.mean) * self.inv_std

    def notes(self):
        notes = []
        unsupported = [m for m in self.config["evaluate"]["metrics"] if m not in SUPPORTED_METRICS]
        if unsupported:
            notes.append(f"the torch engine does not compute {', '.join(unsupported)} yet; skipped")
        if "auc" in self.metrics_wanted and self.data.classes != 2:
            notes.append(f"auc needs a binary task (this one has {self.data.classes} classes); skipped")
        if self.has_cam and self.cam_size == 1:
            notes.append(f"{self.config['model']['arch']} has a 1×1 CAM at {self.data.train.size} px: a single value is a flat map, so the CAM carries no spatial information (guidance and saliency agreement are degenerate); use larger images")
        if "consistency" in self.metrics_wanted:
            if not self.has_cam:
                notes.append(f"{self.config['model']['arch']} has no CAM: no CAM file, so no consistency")
            elif self.cam_probe is None:
                notes.append("no CAM probe was exported (SGT_TORCH_CAM_PROBE; the launcher sets it): no CAM file, so no consistency")
        if not self.has_cam:
            arch = self.config["model"]["arch"]
            if self.metrics_wanted & {"saliency_mse", "saliency_corr"}:
                notes.append(f"{arch} has no CAM: saliency metrics skipped")
            if self.config["preview"]["samples"] > 0:
                notes.append(f"{arch} has no CAM: no preview overlays")
        return self.multi.notes(notes) if self.multi else notes

    def describe_model(self):
        m = self.config["model"]
        d = {"arch": m["arch"]}
        if m["arch"] == "mlp":
            d["hidden"] = m["hidden"]
        elif m["arch"] in ("small_cnn", "small_resnet"):
            d["width"] = m["width"]
        d["parameters"] = parameter_count(self.model)
        return d

    def shard(self, idx):
        """This rank's part of the batch idx (all of it without DDP)."""
        if not self.dist.enabled:
            return idx
        bounds = shard_bounds(len(idx), self.dist.world)
        return idx[bounds[self.dist.rank]:bounds[self.dist.rank + 1]]

    def train_step(self, idx, lr, cancel=False, stored=None):
        """One update on the batch `idx` (this rank's shard of it when distributed). Returns the
        whole batch's loss terms and correct count, and whether any rank asked to cancel.
        stored: the shard's images as stored, when a BatchFeed read them ahead."""
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        norm = whole = None
        if self.dist.enabled:
            whole = idx
            bounds = shard_bounds(len(idx), self.dist.world)
            norm = {"images": len(idx), "guided": float(self.data.guided[torch.from_numpy(idx)].sum())}
            idx = idx[bounds[self.dist.rank]:bounds[self.dist.rank + 1]]
        idx_t = torch.from_numpy(idx)
        x_raw = self.data.train.batch(idx_t, self.device) if stored is None else self.data.train.to_input(stored, self.device)
        idx_d = idx_t.to(self.device)
        labels = self.labels[idx_d]
        self.net.train()
        if self.multi:
            logits, loss, ce, guidance = self.multi.loss(self.net, x_raw, idx_d, whole)
        elif self.attribution_loss or self.loss_kind == "rrr":
            logits, loss, ce, guidance = self.guided_loss(self.net, x_raw, labels, idx_d, norm)
        elif self.cyborg:
            logits, feats = self.forward(self.net, self.prep(x_raw))
            loss, ce, guidance = cyborg_loss(logits, feats, self.model.head.weight, labels, self.train_saliency[idx_d], self.guided[idx_d],
                                             self.config["guidance"]["alpha"], self.config["guidance"]["cam_class"], norm)
        else:
            logits, _ = self.forward(self.net, self.prep(x_raw))
            loss, ce, guidance = cross_entropy_loss(logits, labels, norm)
        self.optimizer.zero_grad(set_to_none=True)
        # DDP averages gradients over ranks; the shards' terms are already shares of the batch
        scaled = loss * self.dist.world if self.dist.enabled else loss
        if self.scaler:
            self.scaler.scale(scaled).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            scaled.backward()
            self.optimizer.step()
        correct = self.multi.correct(logits, idx_d) if self.multi else int((logits.detach().argmax(dim=1) == labels).sum())
        total = self.dist.all_sum([float(loss), float(ce), float(guidance), correct, 1.0 if cancel else 0.0], self.device)
        r = {"loss": total[0], "ce": total[1], "guidance": total[2], "correct": int(round(total[3])), "cancel": total[4] > 0}
        if not math.isfinite(r["loss"]):
            raise DivergedError(f"the loss became {r['loss']} at learning rate {lr}: training diverged; lower train.optimizer.lr")
        return r

    @torch.no_grad()
    def evaluate(self, s):
        if self.multi:
            return round_metrics(self.multi.evaluate(s))
        batch = self.config["train"]["batch"]
        k = self.data.classes
        want_sal = bool(self.metrics_wanted & {"saliency_mse", "saliency_corr"}) and self.has_cam
        agreement = SaliencyAgreement(s.size) if want_sal else None
        want_auc = "auc" in self.metrics_wanted and k == 2
        pointing = PointingMetrics(s.size) if self.metrics_wanted & {"epg", "iou"} else None
        scores = np.zeros(s.count, dtype=np.float64)
        correct = 0
        ce_sum = 0.0
        for start in range(0, s.count, batch):
            if self.ctx.cancel_requested():
                raise CancelledError()
            idx = torch.arange(start, min(start + batch, s.count))
            labels = s.labels[idx].to(self.device)
            self.model.eval()
            logits, feats = self.forward(self.model, self.prep(s.batch(idx, self.device)))
            probs = torch.softmax(logits.float(), dim=1)
            correct += int((probs.argmax(dim=1) == labels).sum())
            ce_sum += float(-torch.log(probs.gather(1, labels.unsqueeze(1)).clamp(min=1e-30)).sum())
            if want_auc:
                scores[start:start + len(idx)] = probs[:, 1].double().cpu().numpy()
            if agreement is not None and feats is not None:
                keep = s.has_saliency[idx].bool()
                if keep.any():
                    cams = normalized_cam(feats.float(), self.model.head.weight.float(), cam_targets(logits, labels, self.config["guidance"]["cam_class"]))
                    agreement.add(cams[keep.to(self.device)].cpu(), s.saliency_rows(idx[keep]))
            if pointing is not None:
                keep = s.has_saliency[idx].bool()
                if keep.any():
                    with torch.enable_grad():  # gradient attributions (no graph kept: evaluation)
                        _, maps = self.attribution(self.model, s.batch(idx[keep], self.device), labels[keep.to(self.device)], create_graph=False)
                    pointing.add(maps.detach().cpu(), s.saliency_rows(idx[keep]))
        m = {"accuracy": correct / s.count, "loss": ce_sum / s.count}
        if want_auc:
            m["auc"] = roc_auc(scores, s.labels.numpy() == 1)
        if pointing is not None and pointing.result()["images"] > 0:
            r = pointing.result()
            for key in ("epg", "iou"):
                if key in self.metrics_wanted:
                    m[key] = r[key]
        if agreement is not None and agreement.result()["images"] > 0:
            r = agreement.result()
            if "saliency_mse" in self.metrics_wanted:
                m["saliency_mse"] = r["mse"]
            if "saliency_corr" in self.metrics_wanted:
                m["saliency_corr"] = r["corr"]
        return round_metrics(m)

    @torch.no_grad()
    def preview(self, epoch, step):
        if not self.preview_set:
            return
        s, n = self.preview_set
        idx = torch.arange(n)
        labels = s.labels[idx].to(self.device)
        self.model.eval()
        logits, feats = self.forward(self.model, self.prep(s.batch(idx, self.device)))
        cams = normalized_cam(feats.float(), self.model.head.weight.float(), cam_targets(logits, labels, self.config["guidance"]["cam_class"]))
        up = resize_maps(cams, s.size).cpu().numpy()
        images, humans = s.images_float(idx).numpy(), s.saliency_rows(idx).numpy()
        # PNG encoding and writing happen on the overlay thread (overlay.py OverlayRenderer)
        self.overlays.submit(epoch, step, [(images[j], humans[j] if int(s.has_saliency[j]) == 1 else None, up[j]) for j in range(n)])


def selection_score(m):
    if "val" in m:
        return m["val"].get("accuracy", 0)
    return m.get("train", {}).get("accuracy", 0)


def run_training(ctx, config, data, times, dist=None):
    """Trains (or resumes) the run; returns the summary (None on ranks other than 0)."""
    dist = dist or Dist()
    if data.train.count == 0:
        raise ConfigError("the training split is empty")
    device, device_reason = select_device(config["train"]["device"])
    amp = amp_setting(device)
    if amp:
        device_reason += f"; mixed precision ({str(amp[1]).replace('torch.', '')} autocast)"
    if dist.enabled:
        device_reason += f"; {dist.world} data-parallel ranks (DistributedDataParallel, {'nccl' if device.type == 'cuda' else 'gloo'})"
    trainer = Trainer(ctx, config, data, device, dist)
    epochs, batch = config["train"]["epochs"], config["train"]["batch"]
    spe = trainer.steps_per_epoch
    total_steps = epochs * spe

    start_epoch, step, best, history = 0, 0, None, []
    seconds = {"train": 0.0, "eval": 0.0, "trainImages": 0}
    resumed_from, resume_note = None, None
    if ctx.resume:
        pointer = read_last_pointer(ctx.run_dir)
        if pointer:
            restore_checkpoint(ctx.run_dir, pointer["manifest"], trainer.model, trainer.optimizer, trainer.scaler)
            start_epoch, step, best, history = pointer["epoch"], pointer["step"], pointer["best"], pointer["history"]
            seconds.update(pointer["seconds"])
            resumed_from = {"epoch": pointer["epoch"], "step": pointer["step"]}
            if pointer["step"] != pointer["epoch"] * spe:
                resume_note = f"the checkpoint was taken with {pointer['step'] / pointer['epoch']} steps per epoch, now {spe}: did the data change?"
        else:
            resumed_from = {"epoch": 0, "step": 0}
            resume_note = "no checkpoint yet: starting from the beginning"

    started = {"type": "started", "run": ctx.run_id, "experiment": config["name"], "engine": "torch", "backend": device.type,
               "backendReason": device_reason, "seed": config["seed"], "epochs": epochs, "stepsPerEpoch": spe}
    if resumed_from:
        started["resumedFrom"] = resumed_from
    ctx.emit(started)
    ctx.log("info", f"device: {device_reason}")
    src = config["source"]
    source = f'builtin("{src.get("name")}")' if src.get("type") == "builtin" else f'folder("{src.get("path")}")'
    guided_count = int(data.guided.sum())
    ctx.log("info", f"data {source}: {data.train.count} train / {data.val.count} val / {data.test.count} test images, {data.train.size} px, "
                    f"{data.train.channels} channel(s), {data.classes} classes"
                    + ("" if config["guidance"]["loss"] == "none" else f"; {guided_count} training images guided by human saliency")
                    + f" (data ready in {times['data_seconds']:.1f} s: export or cache, Python start)")
    model = trainer.describe_model()
    g = config["guidance"]
    loss_desc = ("cross-entropy" if g["loss"] == "none" else f"cyborg (alpha {g['alpha']:g}, {g['attribution']} at {g['layer']})" if g["loss"] == "cyborg"
                 else f"rrr (lambda {g['lambda']:g}, input gradients{' on the shortcut' if g['irrelevant'] == 'shortcut' else ''})" if g["loss"] == "rrr" else f"{g['loss']} (lambda {g['lambda']:g}, {g['attribution']} at {g['layer']})")
    ctx.log("info", f"model {model['arch']}: {model['parameters']} parameters; {loss_desc}; {epochs} epochs × {spe} steps of {batch}; {torch.get_num_threads()} thread(s); {trainer.feed_description()}")
    if trainer.pretrained_note:
        ctx.log("info", trainer.pretrained_note)
    for w in data.warnings:
        ctx.log("warning", w)
    for n in trainer.notes():
        ctx.log("warning", n)
    if resume_note:
        ctx.log("warning" if resumed_from and resumed_from["step"] else "info", resume_note)

    pv = config["preview"]
    preview_steps = max(1, round(pv["every"])) if pv["unit"] == "steps" else 0
    preview_epochs = max(1, round(pv["every"])) if pv["unit"] == "epochs" else 0
    eval_sets = [s for s in config["evaluate"]["sets"] if s != "train"]

    for e in range(start_epoch, epochs):
        epoch = e + 1
        order = np.array(Rng(config["seed"], SHUFFLE_STREAM_BASE + e).shuffle(list(range(data.train.count))), dtype=np.int64)
        if trainer.multi:
            trainer.multi.set_epoch(e)
        ep = {"loss": 0.0, "ce": 0.0, "guidance": 0.0, "correct": 0, "images": 0}
        win = dict(ep, since=time.perf_counter())
        batches = [order[b * batch:min((b + 1) * batch, data.train.count)] for b in range(spe)]
        # the same batches, read ahead by the DataLoader workers (this rank's shards)
        fed = trainer.feed.epoch([trainer.shard(idx) for idx in batches]) if trainer.feed else None
        for b in range(spe):
            if not dist.enabled and ctx.cancel_requested():
                raise CancelledError()
            idx = batches[b]
            lr = learning_rate(config["train"], e, step, total_steps)
            t0 = time.perf_counter()
            r = trainer.train_step(idx, lr, cancel=ctx.cancel_requested(), stored=next(fed) if fed else None)
            if r["cancel"]:  # agreed by every rank, so none waits in a collective
                raise CancelledError()
            seconds["train"] += time.perf_counter() - t0
            seconds["trainImages"] += len(idx)
            step += 1
            for acc in (ep, win):
                for key in ("loss", "ce", "guidance"):
                    acc[key] += r[key] * len(idx)
                acc["correct"] += r["correct"]
                acc["images"] += len(idx)
            if step % STEP_EVENT_EVERY == 0 or b == spe - 1:
                elapsed = time.perf_counter() - win["since"]
                n = win["images"]
                ctx.emit({"type": "step", "epoch": epoch, "step": step, "loss": rnd(win["loss"] / n), "ce": rnd(win["ce"] / n),
                          "guidance": rnd(win["guidance"] / n), "accuracy": rnd(win["correct"] / n), "lr": rnd(lr),
                          "imagesPerSecond": rnd(n / max(elapsed, 1e-9), 4)})
                win = {"loss": 0.0, "ce": 0.0, "guidance": 0.0, "correct": 0, "images": 0, "since": time.perf_counter()}
            if preview_steps and step % preview_steps == 0 and dist.leader:
                trainer.preview(epoch, step)
            trainer.overlays.poll()

        trainer.overlays.drain()
        if not dist.leader:  # rank 0 evaluates and writes; the others wait for it
            dist.barrier()
            continue
        n = ep["images"]
        metrics = {"train": round_metrics({"loss": ep["loss"] / n, "ce": ep["ce"] / n, "guidance": ep["guidance"] / n, "accuracy": ep["correct"] / n})}
        t0 = time.perf_counter()
        for split in eval_sets:
            s = getattr(data, split)
            if s.count > 0:
                metrics[split] = trainer.evaluate(s)
        seconds["eval"] += time.perf_counter() - t0
        for split in ("train", "val", "test"):
            if split in metrics:
                ctx.emit({"type": "epoch", "epoch": epoch, "step": step, "split": split, "metrics": metrics[split]})
        score = selection_score(metrics)
        is_best = best is None or score > best["score"]
        if is_best:
            best = {"epoch": epoch, "step": step, "score": score, "manifest": ""}
        history.append({"epoch": epoch, "step": step, "metrics": metrics})
        # the CAM file follows the weights the run keeps; written before the checkpoint, so a
        # run killed in between recomputes it on resume
        if trainer.cam_probe is not None and (is_best if config["train"]["checkpoint"] == "best" else epoch == epochs):
            write_cam_file(ctx.run_dir, epoch, step, trainer.cam_probe, probe_cams(trainer, trainer.cam_probe))
        rel = save_checkpoint(ctx.writer, trainer.model, trainer.optimizer, config["model"]["arch"], {
            "epoch": epoch, "step": step, "optimizer": {"type": config["train"]["optimizer"]["type"], "t": step},
            "rng": {"seed": config["seed"], "shuffleStreamBase": SHUFFLE_STREAM_BASE, "nextEpoch": epoch},
            "best": best, "history": history, "seconds": seconds}, is_best, trainer.scaler)
        if is_best:
            best["manifest"] = rel.split("/")[-1]
        ctx.emit({"type": "checkpoint", "epoch": epoch, "step": step, "path": rel, "best": is_best})
        if preview_epochs and epoch % preview_epochs == 0:
            trainer.preview(epoch, step)
        dist.barrier()

    trainer.close()
    if not dist.leader:
        return None
    last = history[-1] if history else None
    selected = last
    if config["train"]["checkpoint"] == "best" and best:
        selected = next((h for h in history if h["epoch"] == best["epoch"]), last)
    total = time.perf_counter() - times["wall0"]
    summary = {
        "experiment": config["name"], "run": ctx.run_id, "engine": "torch", "backend": device.type, "backendReason": device_reason,
        "seed": config["seed"], "epochs": epochs, "stepsPerEpoch": spe, "steps": step, "checkpoint": config["train"]["checkpoint"],
        "selectedEpoch": selected["epoch"] if selected else 0, "bestEpoch": best["epoch"] if best else None,
        "metrics": selected["metrics"] if selected else {}, "lastEpoch": last["metrics"] if last else {}, "history": history,
        "data": {"train": data.train.count, "val": data.val.count, "test": data.test.count, "guided": guided_count, "imageSize": data.train.size,
                 "channels": data.train.channels, "classes": data.classes, **({"classNames": data.class_names} if data.class_names else {})},
        "model": model,
        "seconds": {"total": rnd(total, 4), "data": rnd(times["data_seconds"], 4), "train": rnd(seconds["train"], 4), "eval": rnd(seconds["eval"], 4)},
        "imagesPerSecond": rnd(seconds["trainImages"] / max(seconds["train"], 1e-9), 4),
        "threads": torch.get_num_threads(), "resumed": bool(resumed_from), "startedAt": times["started_at"], "finishedAt": now_iso(),
    }
    ctx.writer.summary(summary)
    return summary


def summary_line(s):
    parts = []
    for split in ("test", "val"):
        m = s["metrics"].get(split, {})
        if "accuracy" in m:
            parts.append(f"{split} accuracy {m['accuracy']:.3f}")
        if "saliency_corr" in m and split == "test":
            parts.append(f"test saliency corr {m['saliency_corr']:.3f}")
    which = f"best epoch {s['selectedEpoch']} of {s['epochs']}" if s["checkpoint"] == "best" else f"last epoch {s['selectedEpoch']}"
    return f"{', '.join(parts) or 'done'} ({which}) in {format_seconds(s['seconds']['total'])} on {s['backend']}, {round(s['imagesPerSecond'])} images/s"
