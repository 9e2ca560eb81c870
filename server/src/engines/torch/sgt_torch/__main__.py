"""The torch engine process, implementing the engine contract of engines/contract.ts:

  python -m sgt_torch --run-dir DIR --data DATA_DIR [--resume]

(--data: the data set exported by the Node launcher, data.py). Every RunEvent is appended
to DIR/events.jsonl and printed as one JSON line on stdout; free-form logs go to stderr.
Exit codes: 0 finished, 1 failed (a `failed` event first: configuration, data and
checkpoint problems with a message, unexpected exceptions with the traceback in `detail`),
2 usage error, 130 cancelled (SIGTERM / SIGINT -> `cancelled` at the next step boundary;
a second signal stops at once; SIGUSR1, which the rank launcher forwards, only ever asks to
cancel). A run has exactly one ending event.
"""
import argparse
import errno
import json
import os
import signal
import sys
import time
import traceback

EXIT = {"finished": 0, "failed": 1, "usage": 2, "cancelled": 130}

# Signals a data-parallel rank received before run_engine installed its handlers (ranks.py).
EARLY_CANCEL = []


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Usage(message)


def _die_with_parent(launcher_pid):
    """Linux: be killed with the launcher (engine-torch.js), so `kill -9` of the engine
    process stops the training too instead of leaving it running unsupervised."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != launcher_pid:  # the launcher died before prctl
        os._exit(EXIT["failed"])


def main(argv=None):
    parser = _Parser(prog="sgt_torch", description="Saliency Studio torch engine")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--data", required=True, help="data set exported by the launcher (data/export.ts)")
    parser.add_argument("--resume", action="store_true")
    try:
        args = parser.parse_args(argv)
    except _Usage as e:
        sys.stderr.write(f"{e}\n{parser.format_usage()}")
        return EXIT["usage"]
    run_dir = os.path.abspath(args.run_dir)
    resolved_file = os.path.join(run_dir, "resolved.json")
    if not os.path.exists(resolved_file):
        sys.stderr.write(f"sgt_torch: {resolved_file} does not exist (not a run directory)\n")
        return EXIT["usage"]

    wall0 = time.perf_counter()
    launcher = os.environ.get("SGT_TORCH_LAUNCHER_PID", "")
    if launcher.isdigit():
        _die_with_parent(int(launcher))
    # imported here so that a usage error does not pay for importing torch
    from .config import ConfigError, parse_config

    try:
        with open(resolved_file, encoding="utf-8") as f:
            train = parse_config(json.load(f), run_dir)["train"]
        devices, nodes = int(train["devices"]), int(train["nodes"])
    except (OSError, ValueError, ConfigError):
        devices, nodes = 1, 1  # run_engine reports the problem as a `failed` event
    if devices * nodes <= 1:
        return run_engine(run_dir, args.data, args.resume, wall0)
    if nodes == 1:
        return run_ranks(run_dir, args.data, args.resume, wall0, devices)
    # several nodes (docs/cluster.md): the scheduler starts one engine per node and says where rank 0 listens
    missing = [k for k in ("NODE_RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    node_rank = os.environ.get("NODE_RANK", "")
    if missing or not node_rank.isdigit() or int(node_rank) >= nodes:
        why = f"{', '.join(missing)} not set" if missing else f"NODE_RANK = {node_rank} is not one of 0 … {nodes - 1}"
        message = f"train.nodes = {nodes}: each node's engine needs NODE_RANK, MASTER_ADDR and MASTER_PORT from the scheduler ({why}; see docs/cluster.md)"
        sys.stderr.write(f"sgt_torch: {message}\n")
        if node_rank in ("", "0"):
            from .events import RunWriter

            writer = RunWriter(run_dir)
            writer.event({"type": "failed", "error": message})
            writer.close()
        return EXIT["failed"]
    return run_ranks(run_dir, args.data, args.resume, wall0, devices, nodes, int(node_rank), int(os.environ["MASTER_PORT"]))


def run_engine(run_dir, data_dir, resume, wall0, rank=0, world=1):
    """Trains in this process (rank `rank` of `world`); returns the exit code. Rank 0 writes
    the run directory and every ending; other ranks only train."""
    from .checkpoint import CheckpointError
    from .config import ConfigError, parse_config
    from .data import DataError, RunData
    from .distributed import Dist
    from .events import RunWriter, now_iso
    from .models import ModelError
    from .train import CancelledError, DivergedError, run_training, summary_line

    leader = rank == 0
    resolved_file = os.path.join(run_dir, "resolved.json")
    writer = None
    if leader:
        try:
            writer = RunWriter(run_dir)
        except OSError as e:
            sys.stderr.write(f"sgt_torch: cannot write to {run_dir}: {e}\n")
            return EXIT["failed"]

    state = {"cancel": bool(EARLY_CANCEL), "ended": False}

    def emit(body):
        return writer.event(body) if writer else None

    def try_emit(body):
        # one ending per run: a second signal arriving while the first one's `cancelled` is
        # being written must not add another
        if state["ended"]:
            return
        state["ended"] = True
        try:
            if writer:
                writer.event(body, stdout_even_if_unwritten=True)
        except OSError as e:
            sys.stderr.write(f"sgt_torch: could not write the {body['type']} event: {e}\n")

    def on_signal(signum, _frame):
        if state["cancel"]:
            if signum == signal.SIGUSR1:
                return  # the launcher's copy of a signal this rank already got from its group
            try_emit({"type": "cancelled"})
            os._exit(EXIT["cancelled"])
        state["cancel"] = True
        if leader:
            sys.stderr.write(f"sgt_torch: {signal.Signals(signum).name}: cancelling at the next step\n")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, on_signal)

    class Ctx:
        pass

    ctx = Ctx()
    ctx.run_dir = run_dir
    ctx.run_id = os.path.basename(run_dir)
    ctx.resume = resume
    ctx.writer = writer
    ctx.emit = emit
    ctx.cancel_requested = lambda: state["cancel"]

    def log(level, message):
        if leader:
            sys.stderr.write(f"[{level}] {message}\n")
            emit({"type": "log", "level": level, "message": message})

    ctx.log = log
    expected = (ConfigError, DataError, CheckpointError, ModelError, DivergedError)
    try:
        try:
            with open(resolved_file, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{resolved_file}: {e}") from e
        config = parse_config(raw, run_dir)
        started_at = now_iso()
        data = RunData(data_dir)
        data_seconds = float(os.environ.get("SGT_TORCH_EXPORT_SECONDS", "0") or 0) + (time.perf_counter() - wall0)
        summary = run_training(ctx, config, data, {"wall0": wall0, "data_seconds": data_seconds, "started_at": started_at}, Dist(rank, world))
        if leader:
            state["ended"] = True
            emit({"type": "finished", "summary": summary_line(summary)})
        return EXIT["finished"]
    except CancelledError:
        try_emit({"type": "cancelled"})
        return EXIT["cancelled"]
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            try_emit({"type": "failed", "error": f"disk full while writing the run: {e}"})
            return EXIT["failed"]
        try_emit({"type": "failed", "error": str(e), "detail": traceback.format_exc()})
        sys.stderr.write(traceback.format_exc())
        return EXIT["failed"]
    except expected as e:
        try_emit({"type": "failed", "error": str(e)})
        sys.stderr.write(f"sgt_torch: {e}\n")
        return EXIT["failed"]
    except Exception as e:  # anything else is a bug: keep the traceback in the run's record
        try_emit({"type": "failed", "error": f"{type(e).__name__}: {e}", "detail": traceback.format_exc()})
        sys.stderr.write(traceback.format_exc())
        return EXIT["failed"]
    finally:
        if writer:
            try:
                writer.close()
            except OSError:
                pass


def run_ranks(run_dir, data_dir, resume, wall0, devices, nodes=1, node_rank=0, port=None):
    """Starts this node's `devices` ranks (global ranks node_rank·devices …) and waits; returns
    the exit code. A rank that fails stops the others on its node (torch.multiprocessing
    terminates them; ranks on other nodes fail in their next collective); global rank 0 has
    written the ending when it could, else node 0 writes it here."""
    import torch.multiprocessing as mp

    from .distributed import free_port
    from .events import RunWriter

    from .ranks import rank_main

    world = devices * nodes
    args = (run_dir, data_dir, resume, wall0, world, port or free_port(), os.getpid(), node_rank * devices)
    ctx = mp.spawn(rank_main, args=args, nprocs=devices, join=False)

    forwarded = {"count": 0}

    def forward(signum, _frame):
        # The whole process group usually gets the signal, ranks included; this covers one sent
        # to the launcher alone. The first copy goes as SIGUSR1, which a rank reads as "cancel at
        # the next step" and never as the second signal that stops it at once: a group signal
        # plus its forwarded copy would otherwise count twice (a hard stop, two `cancelled` events).
        forwarded["count"] += 1
        for p in ctx.processes:
            if p.is_alive():
                os.kill(p.pid, signal.SIGUSR1 if forwarded["count"] == 1 else signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        while not ctx.join():
            pass
        return EXIT["finished"]
    except mp.ProcessExitedException as e:
        code = e.exit_code if e.exit_code in (EXIT["failed"], EXIT["cancelled"]) else None
        error = f"data-parallel rank {e.error_index} exited with {e.exit_code}"
    except mp.ProcessRaisedException as e:
        code, error = None, f"data-parallel rank {e.error_index} failed: {str(e).strip().splitlines()[-1]}"
    events = os.path.join(run_dir, "events.jsonl")
    try:
        with open(events, encoding="utf-8") as f:
            last = [json.loads(line) for line in f if line.strip().startswith("{")][-1:]
    except (OSError, ValueError):
        last = []
    if last and last[0].get("type") in ("failed", "cancelled"):
        return EXIT["cancelled"] if last[0]["type"] == "cancelled" else EXIT["failed"]
    if node_rank != 0:  # only node 0 writes the run directory
        sys.stderr.write(f"sgt_torch: {error}\n")
        return code or EXIT["failed"]
    writer = RunWriter(run_dir)
    writer.event({"type": "failed", "error": error})
    writer.close()
    return code or EXIT["failed"]


if __name__ == "__main__":
    sys.exit(main())
