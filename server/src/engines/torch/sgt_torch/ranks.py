"""Entry of one data-parallel rank, started by torch.multiprocessing.spawn from
__main__.run_ranks (a module of its own: spawned processes import the function by name,
which a `python -m` __main__ cannot offer)."""
import json
import os
import signal
import sys

import torch

from .config import parse_config
from .distributed import close_group, init_group


def rank_main(local_rank, run_dir, data_dir, resume, wall0, world, port, parent, rank_base):
    """Entry of one data-parallel rank (torch.multiprocessing.spawn): global rank = rank_base + local_rank."""
    rank = rank_base + local_rank
    from .__main__ import EARLY_CANCEL, EXIT, _die_with_parent, run_engine

    # a cancel that comes while the rank joins its group is kept for run_engine, which installs
    # the real handlers (the default action of SIGTERM and SIGUSR1 would kill the rank outright)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(sig, lambda signum, _frame: EARLY_CANCEL.append(signum))
    _die_with_parent(parent)

    with open(os.path.join(run_dir, "resolved.json"), encoding="utf-8") as f:
        device = parse_config(json.load(f), run_dir)["train"]["device"]
    cuda = device != "cpu" and torch.cuda.is_available()
    init_group(rank, world, port, cuda, local_rank)
    code = run_engine(run_dir, data_dir, resume, wall0, rank, world)
    if code == EXIT["finished"]:
        close_group()  # destroying a group while a peer is gone can block: only on the normal path
    if code:
        sys.exit(code)
