"""The process that trains one run: it writes the run folder that `runs` reads.

Runs wait their turn for the one device: a worker starts training only when every older waiting run has
finished. Its status carries a heartbeat, so readers can tell a worker that died without saying so.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import traceback
from pathlib import Path

from . import events
from . import run_files as files
from .runs import Run, runs_dir
from .workspace import read_json, write_json

HEARTBEAT_S = 2.0  # readers take a worker for gone after `runs.STALE_S` without one


class _Status:
    """The worker's single writer of status.json, with a heartbeat thread."""

    def __init__(self, run: Run):
        self.run, self.lock = run, threading.Lock()
        self.value = {**read_json(run.dir / files.STATUS, {}), "pid": os.getpid(), "heartbeat": time.time()}
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
        write_json(self.run.dir / files.STATUS, self.value)

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
    log = open(run.dir / files.EVENTS, "a")

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
                      f"The details are in this run's {files.LOG}.")
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
