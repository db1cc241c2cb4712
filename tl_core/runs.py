"""Runs on disk: the run folder is the truth that the worker writes and any number of pages read.

    runs/<id>/config.json    the RunConfig
              status.json    state, pid, heartbeat; replaced atomically
              events.jsonl   one event per line, appended as training goes (readers skip a partial last line)
              stop           present = the user asked to stop
              worker.log     the worker's own output, kept for when something goes wrong
              model.safetensors, model.json, metrics.json   once there is a best epoch

Training runs in its own process (`transferlab worker RUN`), so a crash there never takes the app
down, and a page refresh simply reads the folder again. Runs wait their turn for the one device:
a worker starts training only when every older waiting run has finished.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import events
from .config import RunConfig
from .standby import hand_over, pid_alive, spawn_worker
from .workspace import home, read_json, write_json

HEARTBEAT_S = 2.0
STALE_S = 30.0              # a live worker refreshes its heartbeat every 2 s; after 30 s of silence it is gone
ACTIVE = ("queued", "running")
STOP_GRACE_S = 10.0


def runs_dir() -> Path:
    path = home() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def config(self) -> RunConfig:
        return RunConfig.load(self.dir / "config.json")

    def status(self) -> dict:
        """The stored status, corrected to 'interrupted' when its worker is gone without saying so."""
        status = read_json(self.dir / "status.json", {}) or {}
        if status.get("state") in ACTIVE and not _alive(status):
            status = {**status, "state": "interrupted",
                      "message": "Training was interrupted (its process ended unexpectedly). Start it again."}
            write_json(self.dir / "status.json", status)
        return status

    @property
    def state(self) -> str:
        return self.status().get("state", "unknown")

    def events(self) -> list[dict]:
        try:
            lines = (self.dir / "events.jsonl").read_text().split("\n")
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # the partial line a writer is still appending
                continue
        return out

    def metrics(self) -> dict | None:
        return read_json(self.dir / "metrics.json")

    def has_model(self) -> bool:
        return (self.dir / "model.safetensors").exists()

    def created(self) -> float:
        return (read_json(self.dir / "status.json") or {}).get("created", 0.0)

    def queue_position(self) -> int:
        """0 = training now (or next); n = n runs ahead of it."""
        mine = self.created()
        return sum(1 for r in active_runs() if r.id != self.id and r.created() < mine)

    def request_stop(self) -> None:
        """Stage one: a flag the loop checks every step. `kill` after a grace period is stage two."""
        (self.dir / "stop").touch()

    def stop_requested(self) -> bool:
        return (self.dir / "stop").exists()

    def kill(self) -> None:
        pid = self.status().get("pid")
        if pid:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def create_run(config: RunConfig) -> Run:
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    run = Run(runs_dir() / run_id)
    run.dir.mkdir(parents=True)
    write_json(run.dir / "config.json", json.loads(config.to_json()))
    write_json(run.dir / "status.json", {"state": "queued", "created": time.time(), "pid": None,
                                         "heartbeat": time.time()})
    return run


def start_run(config: RunConfig) -> Run:
    """Create a run and give it to a worker process (a warm one when ready); returns at once.

    The next warm worker is the app's to ask for (`standby.ensure_standby`) once no run is training:
    starting it now would take CPU from this run while it imports.
    """
    run = create_run(config)
    pid = hand_over(run.dir)
    if pid is None:
        pid = spawn_worker([str(run.dir)], run.dir / "worker.log").pid
    status = read_json(run.dir / "status.json", {})
    if status.get("pid") is None:  # the worker may already have written its own
        write_json(run.dir / "status.json", {**status, "pid": pid, "heartbeat": time.time()})
    return run


def list_runs() -> list[Run]:
    """Newest first."""
    runs = [Run(p) for p in runs_dir().iterdir() if (p / "config.json").exists()]
    return sorted(runs, key=lambda r: r.id, reverse=True)


def active_runs() -> list[Run]:
    return [r for r in list_runs() if r.state in ACTIVE]


def get_run(run_id: str) -> Run:
    run = Run(runs_dir() / Path(run_id).name)
    if not (run.dir / "config.json").exists():
        raise FileNotFoundError(f"There is no run called {run_id}.")
    return run


# ---------------------------------------------------------------- the worker side

class _Status:
    """The worker's single writer of status.json, with a heartbeat thread."""

    def __init__(self, run: Run):
        self.run, self.lock = run, threading.Lock()
        self.value = {**read_json(run.dir / "status.json", {}), "pid": os.getpid(), "heartbeat": time.time()}
        self._write()
        self._beating = True
        threading.Thread(target=self._beat, daemon=True).start()

    def set(self, **fields) -> None:
        with self.lock:
            self.value.update(fields, heartbeat=time.time())
            self._write()

    def end(self, **fields) -> None:
        self._beating = False
        self.set(**fields, ended=time.time())

    def _write(self) -> None:
        write_json(self.run.dir / "status.json", self.value)

    def _beat(self) -> None:
        while self._beating:
            time.sleep(HEARTBEAT_S)
            if self._beating:
                self.set()


def run_worker(run_dir: Path, echo: events.EventSink = events.ignore) -> int:
    """Train one run inside this process, writing everything into its folder. Returns an exit code.

    `echo` also receives each event: the CLI prints them, the app's worker process does not need to.
    """
    from .trainer import TrainingFailed, train

    run = Run(Path(run_dir))
    status = _Status(run)
    log = open(run.dir / "events.jsonl", "a")

    def emit(event: dict) -> None:
        log.write(json.dumps(event, default=str) + "\n")
        log.flush()
        echo(event)
        if event["event"] == events.STARTED:
            status.set(state="running", device=event.get("device"))

    with _device_turn(run, status):
        if run.stop_requested():
            emit(events.make(events.CANCELLED, best_epoch=0, best_val_accuracy=None))
            status.end(state="cancelled", message="Stopped before it started.")
            return 0
        status.set(state="running", started=time.time(), position=0)
        try:
            result = train(run.config, emit, run.stop_requested, run.dir)
        except TrainingFailed as err:
            status.end(state="failed", message=str(err))
            return 1
        except Exception as err:  # a bug or a broken library: the user gets a sentence, the log the details
            traceback.print_exc()
            reason = (f"Training stopped because of an unexpected error ({type(err).__name__}: {err}). "
                      "The details are in this run's worker.log.")
            emit(events.make(events.FAILED, reason=reason))
            status.end(state="failed", message=reason)
            return 1
    status.end(state=result.status, best_val_accuracy=result.best_val_accuracy, best_epoch=result.best_epoch)
    return 0


class _device_turn:
    """Hold the device lock; wait while an older run is still queued so runs go first come, first served."""

    def __init__(self, run: Run, status: _Status):
        self.run, self.status = run, status
        self.file = open(runs_dir().parent / "device.lock", "a")

    def __enter__(self):
        while True:
            if self.run.stop_requested():
                return self
            if self.run.queue_position() == 0:
                try:
                    fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return self
                except BlockingIOError:
                    pass
            self.status.set(state="queued", position=self.run.queue_position())
            time.sleep(0.5)

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def _alive(status: dict) -> bool:
    pid = status.get("pid")
    if pid is None:  # just created; its worker has not written yet
        return time.time() - status.get("created", 0) < STALE_S
    return pid_alive(pid) and time.time() - status.get("heartbeat", 0) < STALE_S
