"""The run's data set as the Node launcher exported it (server/src/data/export.ts): .npy
files that numpy memory-maps, so both engines train on byte-identical samples.

  meta.json                 format, classes, classNames, size, channels, counts, warnings
  <split>-images.npy        float32 [N, S, S, C] in [0, 1] (channels last)
  <split>-labels.npy        int32 [N]
  <split>-saliency.npy      float32 [N, S, S] human maps
  <split>-has-saliency.npy  uint8 [N] 1 when the image has a human map
  train-guided.npy          uint8 [N] 1 when the map guides training (annotated subset)
"""
import json
import os

import numpy as np
import torch

DATA_FORMAT = "sgt-data/1"
SPLITS = ("train", "val", "test")


class DataError(Exception):
    """The exported data set is missing or unusable."""


class ImageSet:
    """One split as tensors (images N×C×S×S channels-last in memory, as the models take them)."""

    def __init__(self, images, labels, saliency, has_saliency):
        self.images_nhwc = images
        self.labels = labels
        self.saliency = saliency
        self.has_saliency = has_saliency
        self.count = int(labels.shape[0])
        self.size = int(images.shape[1]) if images.ndim == 4 else 0
        self.channels = int(images.shape[3]) if images.ndim == 4 else 0

    def batch(self, idx, device):
        """Images of idx as N×C×S×S (channels-last strides: a free view of the NHWC data)."""
        x = self.images_nhwc[idx].to(device, non_blocking=True)
        return x.permute(0, 3, 1, 2)


class RunData:
    def __init__(self, directory):
        meta_file = os.path.join(directory, "meta.json")
        try:
            with open(meta_file, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            raise DataError(f"{meta_file}: cannot read the exported data set ({e})") from e
        if meta.get("format") != DATA_FORMAT:
            raise DataError(f"{meta_file}: format {meta.get('format')!r}, expected {DATA_FORMAT}")
        self.meta = meta
        self.classes = int(meta["classes"])
        self.class_names = meta.get("classNames")
        self.warnings = list(meta.get("warnings", []))
        self.annotated_count = int(meta.get("annotatedCount", 0))

        def load(name, dtype):
            file = os.path.join(directory, name)
            try:
                a = np.load(file, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise DataError(f"{file}: {e}") from e
            if a.dtype != dtype:
                raise DataError(f"{file}: dtype {a.dtype}, expected {dtype}")
            # one copy into memory: small data sets, and torch cannot wrap a read-only map
            return torch.from_numpy(np.array(a))

        for split in SPLITS:
            setattr(self, split, ImageSet(
                load(f"{split}-images.npy", np.float32),
                load(f"{split}-labels.npy", np.int32).long(),
                load(f"{split}-saliency.npy", np.float32),
                load(f"{split}-has-saliency.npy", np.uint8),
            ))
        self.guided = load("train-guided.npy", np.uint8)
        if self.guided.shape[0] != self.train.count:
            raise DataError(f"{directory}: train-guided.npy has {self.guided.shape[0]} entries for {self.train.count} images")
