"""Data-parallel training (`train.devices = N` ranks per node, `train.nodes = M` nodes):
ranks started with torch.multiprocessing, DistributedDataParallel over gloo (CPU) or NCCL
(CUDA, one GPU per rank); see docs/cluster.md.

The result is the single-process run's, not a different recipe: every rank walks the same
seeded order, takes its contiguous shard of each batch (the tfjs engine's shardBounds), and
divides its loss terms by the *whole batch's* denominators (images, guided images), so the
shards' gradients add up to the whole batch's; DDP averages over ranks, hence the loss is
scaled by the world size before backward. Rank 0 alone writes the run directory
(events, evaluation, previews, checkpoints, summary); the others wait for it at barriers.
Cancel is agreed on collectively (a flag all-reduced with each step's statistics) so no rank
is left waiting in a collective.
"""
import os
import socket

import torch
import torch.distributed as dist


def shard_bounds(n, parts):
    """[0, …, n] split into `parts` contiguous shards, as engines/tfjs/parallel.ts (without its minimum shard size)."""
    return [round(i * n / parts) for i in range(parts + 1)]


class Dist:
    """This process's place in the group; world = 1 means no group at all."""

    def __init__(self, rank=0, world=1):
        self.rank = rank
        self.world = world

    @property
    def enabled(self):
        return self.world > 1

    @property
    def leader(self):
        return self.rank == 0

    def all_sum(self, values, device):
        if not self.enabled:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def barrier(self):
        if self.enabled:
            dist.barrier()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_group(rank, world, port, cuda, local_rank=0):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    if cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)


def close_group():
    if dist.is_initialized():
        dist.destroy_process_group()
