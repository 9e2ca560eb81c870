"""The torch engine's part of the CAM file (server/src/runs/cam-file.ts, format sgt-cams/1):
the label-class CAMs of the current weights on the CAM probe (server/src/data/cam-probe.ts:
the first 64 test images of data seed 0, exported by the Node launcher into the folder named
by SGT_TORCH_CAM_PROBE), min-max normalised per image (cam.py), at the CAM's resolution,
written atomically to <run>/cams/probe.json in the same JSON as the tfjs engine writes:

  {"format":"sgt-cams/1","epoch":…,"step":…,"probe":{dataSeed, split, count, imageSize,
   channels, sha256},"camClass":"label","labels":[…],"shape":[N,h,w],"dtype":"float32",
   "data":"<base64 of little-endian float32 N×h×w>"}

The training loop calls it for the epoch whose weights the run keeps.
"""
import base64
import hashlib
import json
import os

import numpy as np
import torch

from .cam import normalized_cam
from .data import DataError
from .events import write_atomic

CAM_FILE = os.path.join("cams", "probe.json")
CAM_FILE_FORMAT = "sgt-cams/1"
PROBE_FORMAT = "sgt-cam-probe/1"
PROBE_ENV = "SGT_TORCH_CAM_PROBE"


class CamProbeError(DataError):
    """The exported probe is missing or unusable (a data error: the run fails with the message)."""


class CamProbe:
    def __init__(self, directory):
        try:
            with open(os.path.join(directory, "meta.json"), encoding="utf-8") as f:
                meta = json.load(f)
            images = np.load(os.path.join(directory, "images.npy"))
            labels = np.load(os.path.join(directory, "labels.npy"))
        except (OSError, ValueError) as e:
            raise CamProbeError(f"{directory}: cannot read the CAM probe ({e})") from e
        if meta.get("format") != PROBE_FORMAT or images.dtype != np.float32 or images.ndim != 4 or labels.shape != (images.shape[0],):
            raise CamProbeError(f"{directory}: not a {PROBE_FORMAT} export")
        self.data_seed = int(meta.get("dataSeed", 0))
        self.count, self.size, self.channels = int(images.shape[0]), int(images.shape[1]), int(images.shape[3])
        # the identity of "the same images": sha256 of the pixels as little-endian float32, as data/cam-probe.ts
        self.sha256 = hashlib.sha256(np.ascontiguousarray(images, dtype="<f4").tobytes()).hexdigest()
        self.images_nhwc = torch.from_numpy(np.ascontiguousarray(images))
        self.labels = torch.from_numpy(labels.astype(np.int64))


def load_cam_probe(env=os.environ):
    """The probe the launcher exported, or None when the run does not ask for `consistency`."""
    directory = env.get(PROBE_ENV)
    return CamProbe(directory) if directory else None


@torch.no_grad()
def probe_cams(trainer, probe):
    """Normalised label-class CAMs [N, h, w] (float32 numpy) of the trainer's model on the probe."""
    trainer.model.eval()
    batch = trainer.config["train"]["batch"]
    out = []
    for start in range(0, probe.count, batch):
        x = probe.images_nhwc[start:start + batch].to(trainer.device).permute(0, 3, 1, 2)
        labels = probe.labels[start:start + batch].to(trainer.device)
        _, feats = trainer.forward(trainer.model, trainer.prep(x))
        out.append(normalized_cam(feats.float(), trainer.model.head.weight.float(), labels).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def encode_cam_file(epoch, step, probe, maps):
    """The file's text: the keys and compact JSON of cam-file.ts encodeCamFile."""
    maps = np.ascontiguousarray(maps, dtype="<f4")
    body = {
        "format": CAM_FILE_FORMAT,
        "epoch": int(epoch),
        "step": int(step),
        "probe": {"dataSeed": probe.data_seed, "split": "test", "count": probe.count, "imageSize": probe.size, "channels": probe.channels, "sha256": probe.sha256},
        "camClass": "label",
        "labels": [int(v) for v in probe.labels.tolist()],
        "shape": [int(d) for d in maps.shape],
        "dtype": "float32",
        "data": base64.b64encode(maps.tobytes()).decode("ascii"),
    }
    return json.dumps(body, separators=(",", ":")) + "\n"


def write_cam_file(run_dir, epoch, step, probe, maps):
    file = os.path.join(run_dir, CAM_FILE)
    os.makedirs(os.path.dirname(file), exist_ok=True)
    write_atomic(file, encode_cam_file(epoch, step, probe, maps))
