"""The run's data set as the Node launcher exported it (server/src/data/export.ts): .npy
files that numpy memory-maps, so both engines train on byte-identical samples.

  meta.json                 format, classes, classNames, size, channels, counts, warnings,
                            encodings {"<split>-images" | "<split>-saliency": "unit8" | "float32"},
                            trainStatistics {mean, std} (normalize = dataset: train.py uses them)
  <split>-images.npy        [N, S, S, C] in [0, 1] (channels last): uint8 codes or float32
  <split>-labels.npy        int32 [N]
  <split>-saliency.npy      [N, S, S] human maps: uint8 codes or float32
  <split>-has-saliency.npy  uint8 [N] 1 when the image has a human map
  <split>-shortcut.npy      uint8 [N, S, S] 1 on the known shortcut (Decoy MNIST's swatch), else 0
  train-guided.npy          uint8 [N] 1 when the map guides training (annotated subset)

uint8 codes b stand for float32(b / 255) (data/npy.ts writeUnitNpy writes them only when that
is exact), decoded per batch on the training device by a 256-entry table (`unit_float`).

Where the pixels live (`storage`): a data set whose pixel arrays fit under the in-memory
limit (SGT_TORCH_IN_MEMORY_MB, default IN_MEMORY_MB) is copied into memory once and indexed
there, the fastest feed for small sets; a larger one stays memory-mapped (the page cache
holds what fits, nothing is copied up front) and batches are read from the maps — in the
training process, or by DataLoader workers (`BatchFeed`, `train.workers`).
"""
import json
import os

import numpy as np
import torch

DATA_FORMAT = "sgt-data/3"
SPLITS = ("train", "val", "test")
# pixel arrays of all splits together (as stored: uint8 or float32) up to this many MiB are held in memory
IN_MEMORY_MB = 2048
# images per slice when a whole split is reduced (normalisation statistics, CYBORG's targets)
CHUNK = 1024

# float32(b / 255) for b = 0…255, as data/npy.ts UNIT8_VALUES: the float64 quotient rounded once
UNIT8_VALUES = torch.from_numpy((np.arange(256, dtype=np.float64) / 255).astype(np.float32))
_tables = {}


def unit_float(t):
    """The float32 values of a tensor of uint8 codes (or a float32 tensor, returned as it is),
    on the tensor's device. On the CPU a division (IEEE, correctly rounded: float32(b) / 255 is
    float32(b / 255) for all 256 codes, which feed_checks.py checks), 5–10× faster than a table;
    elsewhere a table lookup, because CUDA divides by a scalar as a multiplication by its
    reciprocal, which misses float32(b / 255) by one ulp for half the codes."""
    if t.dtype != torch.uint8:
        return t
    if t.device.type == "cpu":
        return t.to(torch.float32).div_(255)
    table = _tables.get(t.device)
    if table is None:
        table = _tables[t.device] = UNIT8_VALUES.to(t.device)
    return table.index_select(0, t.reshape(-1).int()).view(t.shape)


class DataError(Exception):
    """The exported data set is missing or unusable."""


def _rows(a, idx):
    """Rows idx (a tensor, array or list of indices) of a tensor or a numpy array (in memory or
    memory-mapped), as a CPU tensor. numpy's fancy indexing (a copy into an ordinary, writable
    array) takes 0.4 ms for 64 images of 112 px where torch's advanced indexing takes 9 ms."""
    if isinstance(a, torch.Tensor):
        return a.index_select(0, torch.as_tensor(idx, dtype=torch.long))
    return torch.from_numpy(a[np.asarray(idx, dtype=np.int64)])


class ImageSet:
    """One split. Images and human maps as stored (uint8 codes or float32; numpy arrays in
    memory, or numpy memory maps), labels and flags as tensors."""

    def __init__(self, images, labels, saliency, has_saliency, shortcut=None):
        self.images_stored = images
        self.saliency_stored = saliency
        self.labels = labels
        self.has_saliency = has_saliency
        self._shortcut = shortcut
        self._saliency = None
        self.count = int(labels.shape[0])
        self.size = int(images.shape[1]) if images.ndim == 4 else 0
        self.channels = int(images.shape[3]) if images.ndim == 4 else 0

    @staticmethod
    def to_input(stored, device):
        """Stored images [N, S, S, C] -> float32 N×C×S×S on device (channels-last strides: a
        free view of the NHWC data); uint8 codes travel as bytes and are decoded there."""
        return unit_float(stored.to(device, non_blocking=True)).permute(0, 3, 1, 2)

    def stored_rows(self, idx):
        """Images of idx as stored (CPU tensor NHWC)."""
        return _rows(self.images_stored, idx)

    def batch(self, idx, device):
        """Images of idx as N×C×S×S float32 on device."""
        return self.to_input(self.stored_rows(idx), device)

    def images_float(self, idx):
        """Images of idx as float32 NHWC on the CPU."""
        return unit_float(self.stored_rows(idx))

    def saliency_rows(self, idx):
        """Human maps of idx as float32 [n, S, S] on the CPU."""
        return unit_float(_rows(self.saliency_stored, idx))

    def chunks(self):
        """Index ranges covering the split CHUNK images at a time."""
        return [torch.arange(a, min(a + CHUNK, self.count)) for a in range(0, self.count, CHUNK)]

    @property
    def saliency(self):
        """All human maps as one float32 tensor (decoded once; memory N×S×S×4 bytes)."""
        if self._saliency is None:
            self._saliency = torch.cat([self.saliency_rows(c) for c in self.chunks()]) if self.count else torch.zeros((0, self.size, self.size))
        return self._saliency

    @property
    def shortcut(self):
        """1 on the known shortcut region (RRR's `irrelevant = shortcut`); zeros when the data has none."""
        if self._shortcut is None:
            return torch.zeros((self.count, self.size, self.size), dtype=torch.uint8)
        if not isinstance(self._shortcut, torch.Tensor):
            self._shortcut = torch.from_numpy(np.array(self._shortcut))
        return self._shortcut


def in_memory_limit(env=os.environ):
    """Bytes of pixel arrays held in memory at most (SGT_TORCH_IN_MEMORY_MB; 0: always memory-mapped)."""
    try:
        mb = float(env.get("SGT_TORCH_IN_MEMORY_MB", IN_MEMORY_MB))
    except ValueError:
        mb = IN_MEMORY_MB
    return max(0.0, mb) * 2 ** 20


class RunData:
    def __init__(self, directory, env=os.environ):
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
        encodings = meta.get("encodings", {})

        def open_map(name, dtypes):
            file = os.path.join(directory, name)
            try:
                a = np.load(file, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise DataError(f"{file}: {e}") from e
            if a.dtype not in dtypes:
                raise DataError(f"{file}: dtype {a.dtype}, expected {' or '.join(str(np.dtype(d)) for d in dtypes)}")
            return a

        def small(name, dtype):
            # labels and flags: one copy into memory (a few bytes per image); torch cannot wrap a read-only map
            return torch.from_numpy(np.array(open_map(name, (dtype,))))

        def pixels(stem):
            a = open_map(f"{stem}.npy", (np.uint8, np.float32))
            want = {"unit8": np.uint8, "float32": np.float32}.get(encodings.get(stem, "float32"))
            if a.dtype != want:
                raise DataError(f"{os.path.join(directory, stem + '.npy')}: dtype {a.dtype}, but meta.json says {encodings.get(stem, 'float32')}")
            return a

        maps = {}
        for split in SPLITS:
            maps[split] = {"images": pixels(f"{split}-images"), "saliency": pixels(f"{split}-saliency")}
            shortcut_file = os.path.join(directory, f"{split}-shortcut.npy")
            maps[split]["shortcut"] = open_map(f"{split}-shortcut.npy", (np.uint8,)) if os.path.exists(shortcut_file) else None
        pixel_bytes = sum(a.nbytes for m in maps.values() for a in m.values() if a is not None)
        self.storage = "memory" if pixel_bytes <= in_memory_limit(env) else "mapped"
        self.pixel_bytes = pixel_bytes

        def hold(a):
            # one copy into memory, read sequentially now rather than page by page during the first epoch
            return a if a is None or self.storage == "mapped" else np.array(a)

        for split in SPLITS:
            m = maps[split]
            setattr(self, split, ImageSet(
                hold(m["images"]),
                small(f"{split}-labels.npy", np.int32).long(),
                hold(m["saliency"]),
                small(f"{split}-has-saliency.npy", np.uint8),
                hold(m["shortcut"]),
            ))
        self.guided = small("train-guided.npy", np.uint8)
        if self.guided.shape[0] != self.train.count:
            raise DataError(f"{directory}: train-guided.npy has {self.guided.shape[0]} entries for {self.train.count} images")
        # multi-label data: <split>-multi-labels.npy uint8 [N, classes]; boxes: <split>-boxes.npy
        # int32 [B, 6] (image, class, x0, y0, x1, y1) in target pixels (multilabel.py uses both)
        self.multi_label = bool(meta.get("multiLabel", False))
        for split in SPLITS:
            s = getattr(self, split)
            s.multi_labels = small(f"{split}-multi-labels.npy", np.uint8) if self.multi_label else None
            s.boxes = small(f"{split}-boxes.npy", np.int32) if meta.get("boxes") else None


class _StoredBatches(torch.utils.data.Dataset):
    """A map-style data set whose items are whole batches: the sampler hands each worker one
    batch's indices and it returns that batch's images (one fancy-indexed read of the map, no
    per-image collation): decoded to float32 by the worker when training on the CPU (work off the
    training process), as stored for a GPU (uint8 crosses the bus, 4× less, decoded there)."""

    def __init__(self, images, decode):
        self.images = images
        self.decode = decode

    def __len__(self):
        return int(self.images.shape[0])

    def __getitem__(self, idx):
        rows = _rows(self.images, idx)
        return unit_float(rows) if self.decode else rows


class _EpochBatches(torch.utils.data.Sampler):
    """The batches of the current epoch, in order, as the training loop drew them (its seeded
    shuffle): set before each epoch, iterated in the training process by the DataLoader, which
    sends each batch's indices to a worker. The batches, and so the results, are those of the
    in-process path."""

    def __init__(self):
        super().__init__(None)
        self.batches = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class BatchFeed:
    """DataLoader workers reading training batches from the memory-mapped images ahead of the
    step that needs them, into pinned memory on CUDA; persistent across epochs. Yields each
    batch's images as stored, or as float32 with decode=True (ImageSet.to_input takes either)."""

    def __init__(self, images_set, workers, pin_memory, decode=False):
        self.workers = workers
        self.sampler = _EpochBatches()
        self.loader = torch.utils.data.DataLoader(
            _StoredBatches(images_set.images_stored, decode), sampler=self.sampler, batch_size=None, num_workers=workers,
            pin_memory=pin_memory, persistent_workers=True, prefetch_factor=2)

    def epoch(self, batches):
        """An iterator over the stored images of `batches` (index arrays), in that order."""
        self.sampler.batches = [np.asarray(b, dtype=np.int64) for b in batches]
        return iter(self.loader)

    def close(self):
        # the workers go with the loader's iterator; dropping both stops them now, not at exit
        self.loader = None
