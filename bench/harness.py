"""What every bench script shares: the machine's description, running one measured process and reading its JSON
events, printing events and log lines, and the number formats of the reports.

Bench scripts run as `python bench/NAME.py`, so bench/ is on sys.path and they import this as `harness`. It
imports nothing heavy (no torch): the timed processes pay for their own imports.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
PACKAGES = ("torch", "torchvision", "timm", "onnxruntime", "transformers")
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


# ---------------------------------------------------------------- output of a bench script

def log(message: str) -> None:
    """Progress for the person watching: stderr, so stdout stays one JSON event a line."""
    print(message, file=sys.stderr, flush=True)


def emit(**fields) -> None:
    """One JSON event on stdout, read by the script that started this one (json_events)."""
    print(json.dumps(fields, default=str), flush=True)


def emit_timed(**fields) -> None:
    """emit() with the wall-clock time, for scripts whose events are timed against others' (the engine's shape)."""
    emit(**fields, time=time.time())


class Epochs:
    """A reference script's epoch and finished events, in the engine's shape, keeping the best epoch."""

    def __init__(self, started: float):
        self.started, self.best_acc, self.best_epoch = started, -1.0, 0

    def scored(self, epoch: int, acc: float, loss_sum: float, seen: int, train_s: float, partial: bool) -> None:
        if acc > self.best_acc:
            self.best_acc, self.best_epoch = acc, epoch
        emit_timed(event="epoch", epoch=epoch, train_loss=loss_sum / seen, val_accuracy=acc, partial=partial,
                   train_samples_per_s=seen / train_s, elapsed_s=time.time() - self.started)

    def finished(self) -> None:
        emit_timed(event="finished", best_epoch=self.best_epoch, best_val_accuracy=self.best_acc,
                   elapsed_s=time.time() - self.started)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


# ---------------------------------------------------------------- the machine

def machine(code: Path = ROOT) -> dict:
    """CPU, cores, vector features, memory, Python and library versions, and the commit of `code`."""
    info = {"python": platform.python_version(), "cores": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        flags = next(line for line in cpuinfo.splitlines() if line.startswith("flags"))
        info["features"] = ", ".join(f for f in CPU_FEATURES if f" {f}" in flags)
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        info["memory_gb"] = round(int(mem.split()[1]) / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    for pkg in PACKAGES:
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    info["commit"] = commit(code)
    return info


def commit(code: Path) -> str:
    """The checkout's short commit, saying so when its engine (tl_core/) has changes not committed."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "tl_core"], cwd=code, capture_output=True, text=True)
        return head.stdout.strip() + (" (tl_core modified)" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid` (from /proc), or None once it is gone: to find the standby workers one started."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


# ---------------------------------------------------------------- one measured process

def json_events(stream, started: float):
    """The JSON-object lines a process prints, each stamped with its arrival (s since `started`)."""
    for line in iter(stream.readline, ""):
        arrival = time.perf_counter() - started
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield {**event, "_arrival_s": arrival}


class Child:
    """One process in its own session (so it and any helpers it starts can be killed as a group), its stdout
    read as JSON events and its stderr kept for the last lines. Leaving the `with` block on an error kills it."""

    def __init__(self, cmd: list[str], env: dict, cwd: Path = ROOT):
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.stopped: str | None = None
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, start_new_session=True)

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is not None:  # Ctrl-C or a bench bug: the child is in its own session and would run on
            self.stop("the benchmark was interrupted")
        self._stderr.close()

    def stop(self, why: str) -> None:
        """Kill the process group; the first reason given is the one recorded."""
        if self.stopped is None:
            self.stopped = why
        self._kill()

    def events(self):
        return json_events(self.proc.stdout, self.started)

    def wait(self) -> dict:
        """Reap it: exit code, wall time, peak RSS and CPU time (os.wait4), the last lines of stderr."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - self.started
        self._kill()  # DataLoader workers or other leftovers of this process group
        self._stderr.seek(0)
        tail = [line.rstrip() for line in self._stderr.read().splitlines() if line.strip()][-8:]
        return {"rc": self.proc.returncode, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
                "cpu_s": usage.ru_utime + usage.ru_stime, "stopped": self.stopped, "stderr_tail": tail}

    def _kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_process(cmd: list[str], env: dict, timeout_s: float, cwd: Path = ROOT) -> dict:
    """Run `cmd` to its end (killed after timeout_s): Child.wait()'s figures, every event, and timed_out."""
    with Child(cmd, env, cwd) as child:
        timer = threading.Timer(timeout_s, child.stop, args=(f"timed out after {timeout_s:.0f} s",))
        timer.start()
        try:
            events = list(child.events())
            result = child.wait()
        finally:
            timer.cancel()
    return {**result, "events": events, "timed_out": child.stopped is not None}


def outcome(result: dict, events: list[dict]) -> str:
    """'ok', or why not, in words: stopped (its reason), the run's own `failed` event, or the exit code."""
    failed = next((e for e in events if e.get("event") == "failed"), None)
    if result.get("stopped"):
        return result["stopped"]
    if failed:
        return f"failed: {failed.get('reason')}"
    if result["rc"] != 0:
        return f"failed (exit {result['rc']}): " + (result["stderr_tail"][-1] if result["stderr_tail"] else "")
    return "ok"
