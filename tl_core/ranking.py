"""Ranking the models on a person's data in the background, for the app: no torch in this module.

    start_ranking(config, stamp=s)   # one background job per version of the data; returns at once
    ranking_status(config, stamp=s)  # Ranking: state, scores so far, then the recommendation and per-block scores

The job (the app's warm worker between runs, else `transferlab ranking RECORD`, hidden) writes its record atomically
(`rankings/<data version>.json`) after each model, so the Model page's chart fills in as models finish.
One job ranks at a time in a workspace (they take turns on a lock); a newer version of the same data stops the
older's job (`stop_older`). `stamp`, anything that changes whenever the data does (the app's `projects.stamp`),
lets a process name the data's version once per stamp instead of re-reading the data at every ask.
The record's `recommended` is the choice training makes (`auto.decide`, through `select.recommend`). A training run
with `--model auto` or `--unfreeze auto` (`auto.choose`) reads a finished record for the same data instead of ranking
again, and when it has to rank itself writes the same record, which the app then shows.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable

from .config import RunConfig
from .data import DataError, load_dataset, rename_labels
from .models.catalog import catalog
from .standby import hand_ranking, pid_alive
from .workspace import home, read_json, write_json

RUNNING, DONE, FAILED = "running", "done", "failed"
STARTING_S = 30.0  # a record whose process has not said its pid yet is still starting for this long
TURN_POLL_S = 0.2  # how often a job waiting for its turn looks whether it was stopped
VERSION = "ranking v3"  # bump when what a record holds changes, so older records are not read as current
STOP = ".stop"  # beside a record: its job is asked to stop after its current model (`stop_older`)


@dataclass
class ScoreRow:
    model: str       # catalogue name
    title: str
    score: float     # LogME on the sample: higher fits better
    seconds: float   # features (from the cache when there) and the score


@dataclass
class Recommended:
    """What training with `--model auto --unfreeze auto` will use on this data (`auto.decide`, as `choose` calls it)."""

    model: str
    unfreeze: int        # blocks to fine-tune (0 = only the new head)
    gap: float | None    # LogME pretrained minus random weights: how related the data is to what it learned
    relatedness: str     # the gap in words; "" (gap None) in a training run's record (`rank_into`)
    reason: str          # the sentences a person reads: the `started` event's reason
    why_model: str       # the reason's part about the model
    why_blocks: str      # the reason's part about the blocks
    on_cpu: bool         # the device the choice was made for (training on another device may choose otherwise)


@dataclass
class Layers:
    model: str
    blocks: list[str]    # block titles, input side first
    scores: list[float]  # LogME on the pooled output of each block
    unfreeze: int
    reason: str


@dataclass
class Ranking:
    state: str                       # "running" | "done" | "failed"
    message: str = ""                # the failure in a sentence; "" otherwise
    scores: list[ScoreRow] = dataclasses.field(default_factory=list)  # best first; while running, those done
    recommended: Recommended | None = None
    layers: Layers | None = None
    scored: int = 0                  # examples the scores were measured on (the stratified sample)
    of: int = 0                      # examples in the whole data; 0 until the sample is drawn

    @property
    def whole(self) -> bool:
        """Done, with all the app shows: a training run's record leaves the relatedness out (`rank_into`), and the
        app's `start_ranking` then ranks again, from the cached features (seconds), to measure it."""
        return self.state == DONE and self.recommended is not None and bool(self.recommended.relatedness)

    @classmethod
    def from_dict(cls, d: dict) -> "Ranking":
        return cls(d.get("state", FAILED), d.get("message", ""), [ScoreRow(**s) for s in d.get("scores", [])],
                   Recommended(**d["recommended"]) if d.get("recommended") else None,
                   Layers(**d["layers"]) if d.get("layers") else None, d.get("scored", 0), d.get("of", 0))


def start_ranking(config: RunConfig, retry: bool = False, stamp: Hashable = None) -> None:
    """Rank the available models on `config`'s data in the background (the app's warm worker when one is ready,
    else a process of its own), unless a whole result (`Ranking.whole`) or a live job for this version of the data
    exists (`retry=True`: again after a failure). Returns at once. An older version's job is asked to stop
    (`stop_older`)."""
    try:
        path = ranking_file(config, stamp)
    except (DataError, OSError):
        return  # the data cannot be read: ranking_status says why
    record = read_json(path) or {}
    if record and (_live(record) or Ranking.from_dict(record).whole or (record.get("state") == FAILED and not retry)):
        return
    stop_older(path, config.data)
    path.with_suffix(STOP).unlink(missing_ok=True)
    write_json(path, {"state": RUNNING, "pid": None, "started": time.time(), "config": _config_dict(config)})
    if hand_ranking(path) is not None:
        return
    with open(path.with_suffix(".log"), "ab") as out:
        subprocess.Popen([sys.executable, "-m", "tl_core.cli", "ranking", str(path)], stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def stop_older(path: Path, data: str) -> list[Path]:
    """Ask the live jobs ranking another version of `data` to stop; their records (returned) go with them. The pages
    only ever ask for the current version, so while photos are being added an older job would only delay the newest
    one's turn. Asked, not killed: a job stops after its current model's pass (seconds) or while waiting its turn,
    and leaves no half-written cache entry behind, as a killed process would. Jobs for other data (another project)
    wait their turn instead: two open projects must not keep stopping each other's ranking."""
    asked = []
    for other in path.parent.glob("*.json"):
        record = read_json(other) or {}
        if other != path and _live(record) and record.get("config", {}).get("data") == data:
            other.with_suffix(STOP).touch()
            asked.append(other)
    return asked


def ranking_status(config: RunConfig, stamp: Hashable = None) -> Ranking | None:
    """The ranking for `config`'s data: running (with the scores so far), done, or failed with a sentence;
    None when none was started for this version of the data (`stamp`: see `data_version`)."""
    try:
        path = ranking_file(config, stamp)
    except (DataError, OSError) as err:
        return Ranking(FAILED, f"The models cannot be ranked on this data: {err}")
    return _status_at(path)


def finished_ranking(config: RunConfig, wait_s: float = 0.0) -> Ranking | None:
    """A done ranking of `config`'s data, waiting up to `wait_s` for one that is running; None otherwise."""
    deadline = time.time() + wait_s
    try:
        path = ranking_file(config)  # once: the data does not change while a run starts
    except (DataError, OSError):
        return None
    while True:
        status = _status_at(path)
        if status is not None and status.state == DONE:
            return status
        if status is None or status.state != RUNNING or time.time() >= deadline:
            return None
        time.sleep(0.5)


def _status_at(path: Path) -> Ranking | None:
    record = read_json(path)
    if record is None:
        return None
    if record.get("state") == RUNNING and not _live(record):
        return Ranking(FAILED, "Ranking the models stopped unexpectedly (its process ended). Rank again; training "
                               "with a model you pick still works.", [ScoreRow(**s) for s in record.get("scores", [])])
    return Ranking.from_dict(record)


class Stopped(Exception):
    """A newer version of the same data is being ranked: this job's record is no longer wanted."""


def rank_into(path: Path, config: RunConfig, stopped: Callable[[], bool] = lambda: False,
              related: bool = True) -> Ranking:
    """Rank in this process, writing the record after each model and at the end (the job's work, and a training
    run's when no ranking was ready: `related=False`, the relatedness left for the app, see `select.recommend`).
    Failures are written as a sentence and raised; Stopped is raised when `stopped()` says so after a model."""
    from .select import rank_models, recommend, sample_data

    base = {"pid": os.getpid(), "started": time.time(), "config": _config_dict(config)}
    write_json(path, {**base, "state": RUNNING})
    rows: list[ScoreRow] = []

    def one_done(score) -> None:
        if stopped():
            raise Stopped()
        rows.append(ScoreRow(score.model, score.title, score.score, score.seconds))
        rows.sort(key=lambda r: -r.score)
        write_json(path, {**base, "state": RUNNING, "scores": [dataclasses.asdict(r) for r in rows]})

    try:
        sample = sample_data(config.data, config=config)
        base.update(scored=len(sample.examples), of=sample.whole)
        best = recommend(sample, rank_models(sample, on_score=one_done), related=related)
    except Stopped:
        raise  # the job removes the record
    except Exception as err:
        write_json(path, {**base, "state": FAILED, "message": failure_sentence(err),
                          "scores": [dataclasses.asdict(r) for r in rows]})
        raise
    layers = best.layers
    ranking = Ranking(DONE, "", rows, Recommended(best.model, best.unfreeze, best.gap, best.relatedness, best.reason,
                                                  best.why_model, best.why_blocks, best.on_cpu),
                      Layers(layers.model, layers.blocks, layers.scores, layers.unfreeze, layers.reason),
                      base["scored"], base["of"])
    write_json(path, {**base, **dataclasses.asdict(ranking)})
    return ranking


def failure_sentence(err: Exception) -> str:
    """What a person reads when ranking fails: the engine's own sentence for data and model problems."""
    if isinstance(err, (DataError, ValueError)):
        return f"The models could not be ranked: {err}"
    return (f"The models could not be ranked ({type(err).__name__}: {err}). Training still works: pick a model "
            f"yourself.")


def run_job(path: Path) -> int:
    """The background job: wait for this workspace's turn to rank (one job at a time, so two never share the CPU),
    then rank the data the record's config names into the record, unless asked to stop meanwhile."""
    record = read_json(path) or {}
    write_json(path, {**record, "pid": os.getpid()})  # alive while it waits
    stop = path.with_suffix(STOP)
    try:
        with _turn(path.parent / "turn.lock", stop.exists):
            rank_into(path, RunConfig.from_dict(record["config"]), stop.exists)
    except Stopped:
        path.unlink(missing_ok=True)
    except Exception as err:  # noqa: BLE001  written into the record as a sentence by rank_into
        print(f"ranking failed: {err}", flush=True)
        return 1
    finally:
        stop.unlink(missing_ok=True)
    return 0


@contextlib.contextmanager
def _turn(lock: Path, stopped: Callable[[], bool]):
    """Hold the workspace's ranking lock; Stopped when `stopped()` says so while waiting for it."""
    with open(lock, "a") as file:
        while True:
            if stopped():
                raise Stopped()
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(TURN_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def ranking_file(config: RunConfig, stamp: Hashable = None) -> Path:
    folder = home() / "rankings"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{data_version(config, stamp)}.json"


def data_version(config: RunConfig, stamp: Hashable = None) -> str:
    """A name for this version of the data as a ranking reads it: every example's label and content (a file's path,
    size and time; uploaded bytes and texts hashed), the label names, and the models available offline for it.
    With a `stamp` (anything that changes whenever the data does), named once per stamp in this process: the Model
    page asks once a second while a ranking runs, and reading plant_tomato's 1600 pictures' names, sizes and times
    took 93 ms of every ask here (a folder of 20 000 pictures, over a second)."""
    if stamp is None:
        return _version(config)
    return _version_at(config.data, config.text_column, config.label_column,
                       tuple(sorted((config.label_names or {}).items())), stamp)


@functools.lru_cache(maxsize=64)
def _version_at(data: str, text_column: str | None, label_column: str | None, label_names: tuple,
                stamp: Hashable) -> str:
    return _version(RunConfig(data=data, text_column=text_column, label_column=label_column,
                              label_names=dict(label_names)))


def _version(config: RunConfig) -> str:
    dataset = rename_labels(load_dataset(config.data, text_column=config.text_column,
                                         label_column=config.label_column), config.label_names)
    h = hashlib.sha1(VERSION.encode())
    for e in dataset.examples:
        if e.path is not None:
            stat = Path(e.path).stat()
            h.update(f"{e.label}\0{e.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        else:
            h.update(f"{e.label}\0".encode() + hashlib.sha1(e.data if e.data is not None else e.text.encode()).digest())
    h.update(" ".join(m.name for m in catalog(dataset.kind) if m.available).encode())
    return h.hexdigest()[:20]


def _live(record: dict) -> bool:
    if record.get("state") != RUNNING:
        return False
    if record.get("pid") is None:
        return time.time() - record.get("started", 0) < STARTING_S
    return pid_alive(record["pid"])


def _config_dict(config: RunConfig) -> dict:
    """What the job needs to open the data as training does."""
    return {"data": config.data, "text_column": config.text_column, "label_column": config.label_column,
            "label_names": config.label_names, "val_split": config.val_split, "seed": config.seed}
