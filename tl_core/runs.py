"""Runs on disk: the run folder is the truth that the worker writes and any number of pages read.

A run folder holds the files `run_files` names: its config, a status (state, pid, heartbeat), its events
appended as training goes, a stop flag, the worker's log, and once there is a best epoch the model and
its metrics. A `Run` answers every fact about a run from them: its kind, its files, how it went, its stop.
Training runs in its own process (`transferlab worker RUN`, see `worker`), so a crash there never takes
the app down, and a page refresh simply reads the folder again.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import run_files as files
from .auto import is_auto
from .config import RunConfig
from .standby import ensure_standby, hand_over, pid_alive, request_prepare, spawn_worker
from .workspace import home, read_json, write_json

STALE_S = 30.0              # a live worker refreshes its heartbeat every 2 s; after 30 s of silence it is gone
ACTIVE = ("queued", "running")
STOP_GRACE_S = 10.0         # after Stop, the worker gets this long to save the best model and quit; then it is killed
KINDS = ("image", "text")


def runs_dir() -> Path:
    path = home() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _in_folder(name: str, doc: str) -> property:
    """A Run's path to one of its files, named in `run_files`."""
    return property(lambda run: run.dir / name, doc=doc)


@dataclass(frozen=True)
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def config(self) -> RunConfig:
        return RunConfig.load(self.dir / files.CONFIG)

    # ------------------------------------------------------------ its files

    model_file = _in_folder(files.WEIGHTS, "The best epoch's weights; their time changes with each better epoch.")
    description_file = _in_folder(files.DESCRIPTION, "What rebuilds the model around its weights.")
    stop_file = _in_folder(files.STOP, "Present once Stop was asked for; its time says when.")
    log_file = _in_folder(files.LOG, "The worker's own output, for when something goes wrong.")

    @property
    def export_folder(self) -> Path:
        """Where an export of this run is made by default (as a folder, or this path plus .zip)."""
        return self.dir / files.EXPORTS / f"transferlab-{self.id}"

    # ------------------------------------------------------------ what it is and how it went

    @property
    def kind(self) -> str:
        """'image' or 'text': from the trained model, else what the app said, else the data's file name."""
        from .data.sources import TABLE_SUFFIXES

        described = read_json(self.description_file) or {}
        if described.get("kind") in KINDS:
            return described["kind"]
        config = self._config_or_none()
        if config is not None and (config.extra or {}).get("kind") in KINDS:
            return config.extra["kind"]
        data = config.data.lower() if config is not None else ""
        return "text" if data.endswith(TABLE_SUFFIXES) else "image"

    @property
    def started(self) -> dict:
        """The run's `started` event (its resolved epochs, batch size, example counts, choice), {} before it has
        started."""
        return next((e for e in self.events() if e["event"] == "started"), {})

    @property
    def chosen(self) -> dict | None:
        """What a run with `--model auto` or `--unfreeze auto` chose: {"model", "unfreeze", "reason"}, from its
        `started` event (or, with no such event, its model.json's model and blocks); None for a run that left
        nothing to the engine or has not chosen yet. config.json keeps "auto", as the person asked."""
        config = self._config_or_none()
        if config is None or not is_auto(config):
            return None
        started = self.started
        if "chosen_model" in started:
            return {"model": started["chosen_model"], "unfreeze": started["chosen_unfreeze"],
                    "reason": started["reason"]}
        described = read_json(self.description_file)
        if not described:
            return None
        return {"model": described.get("base_model") or config.model, "unfreeze": described.get("unfreeze"),
                "reason": ""}

    @property
    def trained_config(self) -> RunConfig:
        """The config as it trained: an automatic model or block count replaced by the run's choice (left "auto"
        until it has chosen). What labels, explanations and continuations of a run read."""
        config, chosen = self.config, self.chosen
        if chosen is None:
            return config
        return dataclasses.replace(config, model=chosen["model"], unfreeze=config.unfreeze if chosen["unfreeze"]
                                   is None else chosen["unfreeze"])

    def _config_or_none(self) -> RunConfig | None:
        try:
            return self.config
        except (OSError, ValueError, TypeError):  # a damaged config.json still leaves the model's own record
            return None

    def status(self) -> dict:
        """The stored status, corrected to 'interrupted' when its worker is gone without saying so."""
        status = read_json(self.dir / files.STATUS, {}) or {}
        if status.get("state") in ACTIVE and not _alive(status):
            status = {**status, "state": "interrupted",
                      "message": "Training was interrupted (its process ended unexpectedly). Start it again."}
            write_json(self.dir / files.STATUS, status)
        return status

    @property
    def state(self) -> str:
        return self.status().get("state", "unknown")

    @property
    def active(self) -> bool:
        """Waiting for the device or training: its worker is (or should be) alive."""
        return self.state in ACTIVE

    def events(self) -> list[dict]:
        try:
            lines = (self.dir / files.EVENTS).read_text().split("\n")
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
        return read_json(self.dir / files.METRICS)

    def has_model(self) -> bool:
        return self.model_file.exists()

    def created(self) -> float:
        return (read_json(self.dir / files.STATUS) or {}).get("created", 0.0)

    def queue_position(self) -> int:
        """0 = training now (or next); n = n runs ahead of it."""
        mine = self.created()
        return sum(1 for r in active_runs() if r.id != self.id and r.created() < mine)

    # ------------------------------------------------------------ stopping it

    def request_stop(self) -> None:
        """Stage one: a flag the loop checks every step. `enforce_stop` kills it after the grace period."""
        self.stop_file.touch()

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    @property
    def stop_requested_at(self) -> float | None:
        """When Stop was asked for (seconds since the epoch), or None."""
        try:
            return self.stop_file.stat().st_mtime
        except OSError:
            return None

    def enforce_stop(self) -> bool:
        """Stage two: kill a worker still going STOP_GRACE_S after Stop. Whoever watches the run calls this
        now and then (the Train page on each refresh); True when it had to kill."""
        asked = self.stop_requested_at
        if asked is None or time.time() - asked <= STOP_GRACE_S or not self.active:
            return False
        self.kill()
        return True

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
    write_json(run.dir / files.CONFIG, json.loads(config.to_json()))
    write_json(run.dir / files.STATUS, {"state": "queued", "created": time.time(), "pid": None,
                                         "heartbeat": time.time()})
    return run


def start_run(config: RunConfig) -> Run:
    """Create a run and give it to a worker process (a warm one when ready); returns at once.

    The next warm worker is the app's to ask for (`keep_warm`) once no run is training: starting it now
    would take CPU from this run while it imports.
    """
    run = create_run(config)
    pid = hand_over(run.dir)
    if pid is None:
        pid = spawn_worker([str(run.dir)], run.log_file).pid
    status = read_json(run.dir / files.STATUS, {})
    if status.get("pid") is None:  # the worker may already have written its own
        write_json(run.dir / files.STATUS, {**status, "pid": pid, "heartbeat": time.time()})
    return run


def list_runs() -> list[Run]:
    """Newest first."""
    runs = [Run(p) for p in runs_dir().iterdir() if (p / files.CONFIG).exists()]
    return sorted(runs, key=lambda r: r.id, reverse=True)


def active_runs() -> list[Run]:
    return [r for r in list_runs() if r.active]


def keep_warm() -> None:
    """Keep a worker with torch imported waiting for the next Start, but never beside a training run."""
    if not active_runs():
        ensure_standby()


def prepare_ahead(config: RunConfig) -> bool:
    """Ask the warm worker to fill the caches `config` will read (`trainer.prepare`), unless a run is training,
    which the preparation would slow down. True when asked; ask again later otherwise."""
    if active_runs():
        return False
    request_prepare(config)
    return True


def get_run(run_id: str) -> Run:
    run = Run(runs_dir() / Path(run_id).name)
    if not (run.dir / files.CONFIG).exists():
        raise FileNotFoundError(f"There is no run called {run_id}.")
    return run


def _alive(status: dict) -> bool:
    pid = status.get("pid")
    if pid is None:  # just created; its worker has not written yet
        return time.time() - status.get("created", 0) < STALE_S
    return pid_alive(pid) and time.time() - status.get("heartbeat", 0) < STALE_S
