"""Runs on disk: a worker process per run, a status that notices a dead worker, a queue for the one device."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time

import pytest

from tl_core import events
from tl_core.config import RunConfig
from tl_core.runs import ACTIVE, Run, active_runs, create_run, get_run, list_runs, start_run
from tl_core.workspace import read_json, write_json

from .conftest import from_start, wait_for

DONE = ("finished", "failed", "cancelled", "interrupted")


@pytest.fixture
def runs(warm_workspace, monkeypatch, image_subset):
    """Start runs in the shared workspace (its caches make short runs short); no standby worker. Any run a
    test leaves active is killed afterwards, so a failing test cannot hold the device for the next."""
    monkeypatch.setenv("TRANSFERLAB_STANDBY", "0")
    started: list[Run] = []

    def start(**settings) -> Run:
        run = start_run(RunConfig(data=str(image_subset), **settings))
        started.append(run)
        return run

    yield start
    for run in started:
        if run.state in ACTIVE:
            run.kill()


# A run that would take minutes: one example per step, a thousand epochs, on cached features.
LONG = dict(epochs=1000, batch_size=1)
SHORT = dict(epochs=2)


def _ended(run: Run, timeout: float = 240) -> dict:
    return wait_for(lambda: (s := run.status()).get("state") in DONE and s, timeout, f"run {run.id} to end")


def _progressing(run: Run, timeout: float = 240) -> None:
    wait_for(lambda: any(e["event"] == "progress" for e in run.events()), timeout, f"run {run.id} to train")


def _assert_finished_with_its_files(run: Run) -> None:
    """What a worker leaves of a run that ended well: config, status and events on disk, and the model."""
    status = _ended(run)
    assert status["state"] == "finished", (run.dir / "worker.log").read_text()[-3000:]
    assert RunConfig.load(run.dir / "config.json") == RunConfig(data=run.config.data, **SHORT)
    assert status["best_epoch"] >= 1 and 0 <= status["best_val_accuracy"] <= 1
    assert status["ended"] >= status["started"] >= status["created"] and status["pid"] > 0
    lines = (run.dir / "events.jsonl").read_text().splitlines()
    kinds = [e["event"] for e in from_start([json.loads(line) for line in lines])]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("epoch") == 2
    assert run.has_model() and run.metrics()["accuracy"] == status["best_val_accuracy"]
    assert get_run(run.id) == run and run in list_runs()


def test_a_killed_worker_shows_as_interrupted_and_the_next_run_writes_config_status_and_events(runs):
    """The run after the killed one is also the check of what a worker writes (a run of its own, with its
    worker's start, cost 7 s more)."""
    run = runs(**LONG)
    _progressing(run)
    status = run.status()
    assert status["state"] == "running"
    os.kill(status["pid"], signal.SIGKILL)
    status = wait_for(lambda: (s := run.status())["state"] == "interrupted" and s, 15, "the run to show interrupted")
    assert "interrupted" in status["message"] and "Start it again" in status["message"]
    assert read_json(run.dir / "status.json")["state"] == "interrupted"  # stored, not only reported
    assert not [e for e in run.events() if e["event"] in events.ENDINGS]
    assert run not in active_runs()

    _assert_finished_with_its_files(runs(**SHORT))


def test_request_stop_cancels_a_running_run_within_a_step(runs):
    run = runs(**LONG)
    _progressing(run)
    beat = run.status()["heartbeat"]
    wait_for(lambda: run.status()["heartbeat"] > beat, 15, "a heartbeat")  # the worker says it is alive
    run.request_stop()
    asked = time.time()
    status = _ended(run, 60)
    assert status["state"] == "cancelled"
    assert time.time() - asked < 30
    ending = run.events()[-1]
    assert ending["event"] == "cancelled" and ending["time"] >= asked - 1


def test_runs_take_turns_on_the_device_first_come_first_served(runs, warm_workspace):
    """While the device is busy (its lock held here), started runs wait their turn; then they train one at
    a time, in the order they were started; a run stopped while it waits never trains."""
    lock = open(warm_workspace / "device.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        first, second = runs(**SHORT), runs(**SHORT)
        time.sleep(0.01)
        third = runs(**SHORT)
        for run, position in ((first, 0), (second, 1), (third, 2)):
            wait_for(lambda: (s := run.status()).get("state") == "queued" and s.get("position") == position
                     and s.get("pid"), 240, f"run {run.id} to wait at position {position}")
        third.request_stop()
        assert _ended(third, 30)["message"] == "Stopped before it started."
        assert [e["event"] for e in third.events()] == ["cancelled"]
        assert second.status()["state"] == "queued"
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    assert _ended(first)["state"] == "finished"
    assert _ended(second)["state"] == "finished"
    first_end = first.events()[-1]
    second_start = from_start(second.events())[0]
    assert second_start["event"] == "started" and first_end["event"] == "finished"
    assert second_start["time"] >= first_end["time"]


def test_status_notices_a_worker_that_is_gone(workspace):
    run = create_run(RunConfig(data="anything"))
    assert run.state == "queued"  # just created: its worker has not started yet
    stored = read_json(run.dir / "status.json")

    write_json(run.dir / "status.json", {**stored, "created": time.time() - 120})
    assert run.state == "interrupted"  # no worker ever came

    write_json(run.dir / "status.json", {**stored, "state": "running", "pid": os.getpid(), "heartbeat": time.time()})
    assert run.state == "running"
    write_json(run.dir / "status.json", {**stored, "state": "running", "pid": os.getpid(),
                                         "heartbeat": time.time() - 120})
    assert run.state == "interrupted"  # alive but silent: hung

    gone = subprocess.Popen(["true"])
    gone.wait()
    write_json(run.dir / "status.json", {**stored, "state": "running", "pid": gone.pid, "heartbeat": time.time()})
    assert run.state == "interrupted"


def test_a_finished_run_stays_finished(workspace):
    run = create_run(RunConfig(data="anything"))
    write_json(run.dir / "status.json", {"state": "finished", "pid": 999999, "heartbeat": 0, "created": 0})
    assert run.state == "finished"


# ---------------------------------------------------------------- what a run answers about itself

def test_a_run_names_its_files_once(workspace):
    from tl_core import run_files

    run = create_run(RunConfig(data="anything"))
    assert sorted(p.name for p in run.dir.iterdir()) == sorted([run_files.CONFIG, run_files.STATUS])
    assert (run.model_file.name, run.description_file.name) == (run_files.WEIGHTS, run_files.DESCRIPTION)
    assert (run.stop_file.name, run.log_file.name) == (run_files.STOP, run_files.LOG)
    assert run.export_folder == run.dir / run_files.EXPORTS / f"transferlab-{run.id}"
    assert not run.has_model() and run.stop_requested_at is None


def test_a_run_knows_its_kind_from_its_model_else_its_settings_else_its_data(workspace):
    assert create_run(RunConfig(data="photos")).kind == "image"
    assert create_run(RunConfig(data="reviews.TSV")).kind == "text"
    assert create_run(RunConfig(data="photos", extra={"kind": "text"})).kind == "text"
    trained = create_run(RunConfig(data="reviews.csv"))
    write_json(trained.description_file, {"kind": "image"})
    assert trained.kind == "image"
    (trained.dir / "config.json").write_text("{damaged")
    assert trained.kind == "image"  # the model's own record still answers


def _running_sleeper(run: Run) -> subprocess.Popen:
    """A 'worker' that never stops by itself, in its own process group as real workers are."""
    worker = subprocess.Popen(["sleep", "60"], start_new_session=True)
    write_json(run.dir / "status.json", {"state": "running", "pid": worker.pid, "heartbeat": time.time(),
                                         "created": time.time()})
    return worker


def test_stop_is_enforced_by_killing_a_worker_that_outlives_the_grace_period(workspace):
    from tl_core.runs import STOP_GRACE_S

    run = create_run(RunConfig(data="anything"))
    worker = _running_sleeper(run)
    try:
        assert not run.enforce_stop()  # nobody asked
        run.request_stop()
        assert run.stop_requested() and time.time() - run.stop_requested_at < 5
        assert not run.enforce_stop() and worker.poll() is None  # within the grace period: it may still save
        past = time.time() - STOP_GRACE_S - 1
        os.utime(run.stop_file, (past, past))
        assert run.enforce_stop()
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_run_that_ended_is_never_killed_for_its_stop(workspace):
    run = create_run(RunConfig(data="anything"))
    run.request_stop()
    past = time.time() - 60
    os.utime(run.stop_file, (past, past))
    write_json(run.dir / "status.json", {"state": "cancelled", "pid": os.getpid(), "created": 0})
    assert not run.enforce_stop()


def test_prepare_key_holds_what_preparing_ahead_depends_on():
    from tl_core.standby import prepare_key

    base = RunConfig(data="photos", seed=1)
    assert prepare_key(base) == prepare_key(RunConfig(data="photos", seed=1, epochs=9, unfreeze=2, lr=0.1))
    assert prepare_key(base) != prepare_key(RunConfig(data="photos", seed=2))
    assert prepare_key(base) != prepare_key(RunConfig(data="photos", seed=1, label_names={"a": "b"}))
    assert prepare_key(RunConfig(data="photos", from_scratch=True)) is None  # nothing frozen to prepare


def test_the_warm_worker_is_neither_started_nor_asked_to_prepare_beside_a_training_run(workspace, monkeypatch):
    import tl_core.runs as runs

    asked = []
    monkeypatch.setattr(runs, "ensure_standby", lambda: asked.append("standby"))
    monkeypatch.setattr(runs, "request_prepare", lambda config: asked.append(config.data))
    runs.keep_warm()
    assert runs.prepare_ahead(RunConfig(data="photos"))
    assert asked == ["standby", "photos"]

    training = create_run(RunConfig(data="anything"))
    worker = _running_sleeper(training)
    try:
        runs.keep_warm()
        assert not runs.prepare_ahead(RunConfig(data="photos"))
        assert asked == ["standby", "photos"]
    finally:
        worker.kill()
        worker.wait()
