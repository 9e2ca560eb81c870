"""RunEvents (server/src/protocol.ts) to events.jsonl and stdout, as runs/run-dir.ts RunWriter
writes them: one event per write(2), a newline first when a killed writer left a partial
line, fdatasync for everything but `step` and `log`; plus the overlays/index.json and
summary.json writers. Files are written atomically (write, fsync, rename).
"""
import datetime
import json
import os
import sys
import tempfile


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_atomic(file, data):
    """Write-then-rename in the same folder, with fsync of the file and the folder."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.dirname(file)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(file) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, file)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_json_atomic(file, value):
    write_atomic(file, json.dumps(value, indent=2) + "\n")


class RunWriter:
    def __init__(self, run_dir):
        self.dir = run_dir
        os.makedirs(os.path.join(run_dir, "overlays"), exist_ok=True)
        os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
        self.fd = os.open(os.path.join(run_dir, "events.jsonl"), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(self.fd).st_size
        if size > 0 and os.pread(self.fd, 1, size - 1) != b"\n":
            os.write(self.fd, b"\n")

    def event(self, body, stdout_even_if_unwritten=False):
        e = {"time": now_iso(), **body}
        line = json.dumps(e, separators=(",", ":"), allow_nan=False) + "\n"
        try:
            os.write(self.fd, line.encode("utf-8"))
            if e["type"] not in ("step", "log"):
                os.fdatasync(self.fd)
        except OSError:
            # the last word of a run (a full disk): stdout still tells the daemon or the CLI
            if stdout_even_if_unwritten:
                self._print(line)
            raise
        self._print(line)
        return e

    @staticmethod
    def _print(line):
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass  # a parent that went away must not stop the run's record

    def overlay(self, epoch, step, pngs):
        rel = os.path.join("overlays", str(step).rjust(7, "0"))
        os.makedirs(os.path.join(self.dir, rel), exist_ok=True)
        files = []
        for i, png in enumerate(pngs):
            f = f"{rel}/{i}.png"
            write_atomic(os.path.join(self.dir, f), png)
            files.append(f)
        index_file = os.path.join(self.dir, "overlays", "index.json")
        try:
            with open(index_file, encoding="utf-8") as fh:
                index = json.load(fh)
        except (OSError, ValueError):
            index = []
        index.append({"epoch": epoch, "step": step, "files": files})
        write_json_atomic(index_file, index)
        return files

    def checkpoint_file(self, name, data):
        write_atomic(os.path.join(self.dir, "checkpoints", name), data)
        return f"checkpoints/{name}"

    def summary(self, value):
        write_json_atomic(os.path.join(self.dir, "summary.json"), value)

    def close(self):
        os.close(self.fd)
