"""Checkpoints of the torch engine, in the run directory's checkpoints/ (the tfjs engine's
scheme, engines/tfjs/checkpoint.ts, with torch's own weights file):

  epoch-0003.pt   torch.save of {format, epoch, step, arch, params (state_dict, torch
                  layout, tfjs parameter names), optimizer (torch state_dict), scaler
                  (float16 AMP's GradScaler state, else None)}
  last.json       pointer to the newest checkpoint + what a resume needs: epoch, step,
                  optimizer step count, random-stream positions, best epoch, history, seconds
  best.json       the best epoch (validation accuracy) and its checkpoint

Every file is written atomically and the pointer last, so a process killed at any moment
leaves last.json naming a complete checkpoint; files no pointer names are deleted.
"""
import io
import json
import os
import re

import torch

from .events import write_atomic

CHECKPOINT_FORMAT = "sgt-torch-checkpoint/1"


class CheckpointError(Exception):
    pass


def checkpoint_base(epoch):
    return f"epoch-{epoch:04d}"


def save_checkpoint(writer, model, optimizer, arch, last, is_best, scaler=None):
    """last: epoch, step, optimizer, rng, best, history, seconds. Returns the weights path relative to the run."""
    base = checkpoint_base(last["epoch"])
    buf = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "epoch": last["epoch"], "step": last["step"], "arch": arch,
                "params": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None}, buf)
    rel = writer.checkpoint_file(f"{base}.pt", buf.getvalue())
    best = dict(last["best"], manifest=f"{base}.pt") if is_best and last["best"] else last["best"]
    pointer = {"format": CHECKPOINT_FORMAT, **last, "best": best, "manifest": f"{base}.pt"}
    if is_best and best:
        writer.checkpoint_file("best.json", json.dumps(best, indent=2) + "\n")
    writer.checkpoint_file("last.json", json.dumps(pointer, indent=2) + "\n")
    keep = {pointer["manifest"], (best or {}).get("manifest")}
    folder = os.path.join(writer.dir, "checkpoints")
    for f in os.listdir(folder):
        if re.fullmatch(r"epoch-\d+\.pt", f) and f not in keep:
            try:
                os.unlink(os.path.join(folder, f))
            except OSError:
                pass
    return rel


def read_last_pointer(run_dir):
    file = os.path.join(run_dir, "checkpoints", "last.json")
    if not os.path.exists(file):
        return None
    try:
        with open(file, encoding="utf-8") as f:
            pointer = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{file}: unreadable checkpoint pointer ({e})") from e
    if pointer.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{file}: not a torch engine checkpoint (format {pointer.get('format')})")
    return pointer


def restore_checkpoint(run_dir, name, model, optimizer=None, scaler=None):
    file = os.path.join(run_dir, "checkpoints", name)
    try:
        state = torch.load(file, map_location="cpu")
    except Exception as e:  # a truncated or foreign file: the user's to fix, with the file named
        raise CheckpointError(f"{file}: cannot read the checkpoint ({e})") from e
    try:
        model.load_state_dict(state["params"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{file}: does not fit the experiment's model or optimizer (changed since the checkpoint?): {e}") from e
