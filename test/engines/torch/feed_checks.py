"""Checks of the torch engine's data feed (sgt_torch/data.py), run by feed.test.ts on a data
set exported by the Node side: the 8-bit table decodes every code to float32(b / 255) on
this device; the same data set held in memory and memory-mapped gives the same batches;
DataLoader workers hand over exactly the batches of the epoch, in order. Prints one JSON line.

  python feed_checks.py DATA_DIR
"""
import json
import sys

import numpy as np
import torch

from sgt_torch.data import UNIT8_VALUES, BatchFeed, RunData, unit_float
from sgt_torch.rng import Rng
from sgt_torch.train import exported_statistics, input_statistics


def main(directory):
    out = {}
    codes = torch.arange(256, dtype=torch.uint8)
    exact = (np.arange(256, dtype=np.float64) / 255).astype(np.float32)
    out["table_exact"] = bool(np.array_equal(UNIT8_VALUES.numpy(), exact))
    # the CPU path divides: exact for every code (IEEE division is correctly rounded)
    out["cpu_division_exact"] = bool(np.array_equal(unit_float(codes).numpy(), exact))
    out["cpu_table_path_exact"] = bool(np.array_equal(UNIT8_VALUES.index_select(0, codes.int()).numpy(), exact))
    # what a multiplication by the reciprocal (CUDA's scalar division) would give instead
    out["reciprocal_differs"] = int((codes.float() * (1 / 255) != torch.from_numpy(exact)).sum())
    out["float_passthrough"] = unit_float(torch.tensor([0.25])).tolist() == [0.25]

    mem = RunData(directory, env={"SGT_TORCH_IN_MEMORY_MB": "4096"})
    mapped = RunData(directory, env={"SGT_TORCH_IN_MEMORY_MB": "0"})
    out["storage"] = [mem.storage, mapped.storage]
    out["mapped_is_memmap"] = isinstance(mapped.train.images_stored, np.memmap)
    out["memory_is_copy"] = type(mem.train.images_stored) is np.ndarray
    out["stored_dtype"] = str(mem.train.images_stored.dtype)
    same = True
    for split in ("train", "val", "test"):
        a, b = getattr(mem, split), getattr(mapped, split)
        idx = torch.from_numpy(np.array(Rng(1, 7).shuffle(list(range(a.count))), dtype=np.int64))
        same &= torch.equal(a.batch(idx, torch.device("cpu")), b.batch(idx, torch.device("cpu")))
        same &= torch.equal(a.saliency_rows(idx), b.saliency_rows(idx))
        same &= torch.equal(a.saliency, b.saliency) and torch.equal(a.labels, b.labels)
    out["memory_equals_mapped"] = bool(same)

    # the workers' batches are the epoch's batches, in order, over two epochs (persistent
    # workers), as stored (for a GPU) or decoded by the workers (CPU training)
    tr = mapped.train
    ok, dtypes, workers = True, [], []
    for decode in (False, True):
        feed = BatchFeed(tr, 2, pin_memory=False, decode=decode)
        for epoch in range(2):
            order = np.array(Rng(5, 2000 + epoch).shuffle(list(range(tr.count))), dtype=np.int64)
            batches = [order[i:i + 7] for i in range(0, tr.count, 7)]
            got = list(feed.epoch(batches))
            ok &= len(got) == len(batches)
            ok &= all(torch.equal(tr.to_input(g, torch.device("cpu")), mem.train.batch(torch.from_numpy(b), torch.device("cpu"))) for g, b in zip(got, batches))
        dtypes.append(str(got[0].dtype))
        workers.append(len(feed.loader._iterator._workers))
        feed.close()
    out["feed_batches_equal"] = bool(ok)
    out["feed_dtypes"] = dtypes
    out["feed_workers"] = workers

    # normalize = dataset: the statistics the export recorded are the ones Python computes
    # from the training split (float32 tensors equal), and the trainer takes the recorded ones
    exported = exported_statistics(mapped.meta, tr.channels)
    cpu = torch.device("cpu")
    own = input_statistics("dataset", mapped.train, cpu)
    recorded = input_statistics("dataset", mapped.train, cpu, exported)
    out["exported_statistics_equal"] = exported is not None and all(torch.equal(a, b) for a, b in zip(own, recorded))
    out["exported_statistics_used"] = input_statistics("dataset", mapped.train, cpu, ([0.5] * tr.channels, [2.0] * tr.channels))[1].flatten().tolist() == [0.5] * tr.channels
    out["old_export_without_statistics"] = exported_statistics({}, tr.channels) is None
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
