"""The torch engine's view of resolved.json (dsl/resolve.ts fills in every default), as
engines/tfjs/config.ts parses it; anything this engine cannot train is rejected here,
before any work, with a message that says what to change.
"""
import os

from .attribution import ATTRIBUTIONS, LAYERS
from .losses import LAMBDA_LOSSES, RAO_LOSSES
from .models import OWN_ARCHS
from .tv_models import TV_ARCHS


class ConfigError(Exception):
    """The experiment asks for something this engine cannot do, or resolved.json is malformed."""


def _obj(v, where):
    if isinstance(v, dict):
        return v
    raise ConfigError(f"resolved.json: {where} must be an object")


def _num(o, key, where, fallback=None):
    v = o.get(key, fallback)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"resolved.json: {where}.{key} must be a number")
    return v


def _str(o, key, where, fallback=None):
    v = o.get(key, fallback)
    if not isinstance(v, str):
        raise ConfigError(f"resolved.json: {where}.{key} must be a string")
    return v


def _one_of(value, allowed, what):
    if value in allowed:
        return value
    raise ConfigError(f"{what} = {value} is not supported by the torch engine (it supports {', '.join(allowed)})")


def _check_attribution(loss, attribution, layer, arch):
    """The combinations an attribution loss can train (the validator reports the same)."""
    if attribution == "cam" and layer != "final":
        raise ConfigError(f"guidance.attribution = cam is defined at layer = final only (got layer = {layer}): use gradcam or ixg at {layer}")
    if attribution == "gradcam" and layer == "input":
        raise ConfigError("guidance.attribution = gradcam at layer = input has no channels to weight: use ixg at the input, or layer = mid / final")
    if arch == "mlp" and attribution == "cam":
        raise ConfigError(f"guidance.loss = {loss} with attribution = cam needs a CAM, which the mlp has not (no conv features): use small_cnn or small_resnet, or attribution = ixg at layer = input")
    if arch == "mlp" and layer != "input":
        raise ConfigError(f"the mlp's hidden layers have no spatial layout, so an attribution at layer = {layer} cannot be compared with a human map: use layer = input (attribution = ixg)")


def parse_config(raw, run_dir):
    r = _obj(raw, "the file")
    data = _obj(r.get("data"), "data")
    model = _obj(r.get("model", {}), "model")
    guidance = _obj(r.get("guidance", {}), "guidance")
    train = _obj(r.get("train", {}), "train")
    preview = _obj(r.get("preview", {}), "preview")
    evaluate = _obj(r.get("evaluate", {}), "evaluate")

    arch = _str(model, "arch", "model", "small_cnn")
    _one_of(arch, OWN_ARCHS + TV_ARCHS, "model.arch")
    normalize = _one_of(_str(data, "normalize", "data", "none"), ("none", "dataset", "imagenet"), "data.normalize")
    base_dir = r["baseDir"] if isinstance(r.get("baseDir"), str) else os.path.dirname(run_dir)
    pretrained = model.get("pretrained")
    if pretrained is not None and not isinstance(pretrained, str):
        raise ConfigError("resolved.json: model.pretrained must be a path")
    loss = _one_of(_str(guidance, "loss", "guidance", "none"), ("none", "cyborg") + LAMBDA_LOSSES, "guidance.loss")
    attribution = _one_of(_str(guidance, "attribution", "guidance", "cam"), ATTRIBUTIONS, "guidance.attribution")
    layer = _one_of(_str(guidance, "layer", "guidance", "final"), LAYERS, "guidance.layer")
    if loss in ("cyborg",) + RAO_LOSSES:
        _check_attribution(loss, attribution, layer, arch)

    opt = _obj(train.get("optimizer", {"type": "adam"}), "train.optimizer")
    opt_type = _one_of(_str(opt, "type", "train.optimizer"), ("sgd", "adam"), "train.optimizer")
    if opt_type == "sgd":
        optimizer = {"type": "sgd", "lr": _num(opt, "lr", "train.optimizer", 0.01), "momentum": _num(opt, "momentum", "train.optimizer", 0.9),
                     "weight_decay": _num(opt, "weight_decay", "train.optimizer", 0)}
    else:
        optimizer = {"type": "adam", "lr": _num(opt, "lr", "train.optimizer", 0.001), "beta1": _num(opt, "beta1", "train.optimizer", 0.9),
                     "beta2": _num(opt, "beta2", "train.optimizer", 0.999), "weight_decay": _num(opt, "weight_decay", "train.optimizer", 0)}
    sched = _obj(train.get("schedule", {"type": "constant"}), "train.schedule")
    sched_type = _one_of(_str(sched, "type", "train.schedule"), ("constant", "step", "cosine"), "train.schedule")
    schedule = {"type": sched_type}
    if sched_type == "step":
        schedule["every"] = _num(_obj(sched.get("every", {"value": 10}), "train.schedule.every"), "value", "train.schedule.every")
        schedule["gamma"] = _num(sched, "gamma", "train.schedule", 0.1)
    devices = int(_num(train, "devices", "train", 1))
    nodes = int(_num(train, "nodes", "train", 1))
    if devices < 1 or nodes < 1:
        raise ConfigError("train.devices and train.nodes must be at least 1")
    workers = _num(train, "workers", "train", 2)
    if not float(workers).is_integer() or workers < 0:
        raise ConfigError("train.workers must be a whole number ≥ 0")

    every = _obj(preview.get("every", {"value": 50, "unit": "steps"}), "preview.every")
    sets = [str(s) for s in evaluate.get("sets", ["val", "test"])]
    config = {
        "name": r["name"] if isinstance(r.get("name"), str) else os.path.basename(run_dir),
        "seed": int(_num(r, "seed", "the experiment", 0)),
        "source": _obj(data.get("source"), "data.source"),
        "normalize": normalize,
        "model": {"arch": arch, "width": int(_num(model, "width", "model", 32)), "hidden": [int(h) for h in model.get("hidden", [50, 30])],
                  "pretrained": os.path.join(base_dir, pretrained) if pretrained else None},
        "guidance": {"loss": loss, "alpha": float(_num(guidance, "alpha", "guidance", 0.5)),
                     "lambda": float(_num(guidance, "lambda", "guidance", 1000 if loss == "rrr" else 1)),
                     "attribution": attribution, "layer": layer,
                     "irrelevant": _one_of(_str(guidance, "irrelevant", "guidance", "unannotated"), ("unannotated", "shortcut"), "guidance.irrelevant"),
                     "cam_class": _one_of(_str(guidance, "cam_class", "guidance", "label"), ("label", "predicted"), "guidance.cam_class")},
        "train": {"epochs": _num(train, "epochs", "train", 5), "batch": _num(train, "batch", "train", 64), "optimizer": optimizer, "schedule": schedule,
                  "device": _one_of(_str(train, "device", "train", "auto"), ("auto", "cpu", "cuda"), "train.device"), "devices": devices, "nodes": nodes,
                  "workers": int(workers),
                  "checkpoint": _one_of(_str(train, "checkpoint", "train", "best"), ("best", "last"), "train.checkpoint")},
        "preview": {"every": _num(every, "value", "preview.every"), "unit": _one_of(_str(every, "unit", "preview.every", "steps"), ("steps", "epochs"), "preview.every unit"),
                    "samples": int(_num(preview, "samples", "preview", 8))},
        "evaluate": {"sets": [_one_of(s, ("train", "val", "test"), "evaluate.sets") for s in sets],
                     "metrics": [str(m) for m in evaluate.get("metrics", ["accuracy", "saliency_mse", "saliency_corr"])]},
    }
    t = config["train"]
    if not float(t["epochs"]).is_integer() or t["epochs"] < 1:
        raise ConfigError("train.epochs must be a positive integer")
    if not float(t["batch"]).is_integer() or t["batch"] < 1:
        raise ConfigError("train.batch must be a positive integer")
    t["epochs"], t["batch"] = int(t["epochs"]), int(t["batch"])
    return config
