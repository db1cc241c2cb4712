"""A warm standby worker takes the next run, so a run does not wait for torch's imports."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from tl_core.config import RunConfig
from tl_core.runs import start_run
from tl_core.standby import ensure_standby, pid_alive, standby_dir

from .conftest import REPO, wait_for


def test_the_standby_prepares_ahead_and_stays_ready_for_the_run(image_subset, workspace, monkeypatch):
    """Asked before any worker is ready (a page opened while it still imports): the next ready one prepares."""
    from tl_core.standby import request_prepare
    from tl_core.workspace import cache_dir

    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")
    config = RunConfig(data=str(image_subset), epochs=2, seed=5)
    try:
        request_prepare(config)
        ensure_standby()
        ready = wait_for(lambda: list(standby_dir().glob("*.ready")), 240, "a standby worker to be ready")
        features = wait_for(lambda: list(cache_dir("frozen").glob("*.safetensors")), 240, "features prepared ahead")
        assert (standby_dir() / ready[0].name).exists()  # still the warm worker for the next Start
        run = start_run(config)
        status = wait_for(lambda: (s := run.status()).get("state") in ("finished", "failed", "interrupted") and s,
                          240, "the run to end")
        assert status["state"] == "finished" and status["pid"] == int(ready[0].stem)
        assert list(cache_dir("frozen").glob("*.safetensors")) == features  # the run computed nothing new
    finally:
        for marker in standby_dir().iterdir():
            if marker.stem.isdigit() and pid_alive(int(marker.stem)):
                os.kill(int(marker.stem), signal.SIGKILL)
        shutil.rmtree(standby_dir(), ignore_errors=True)


APP = """
import sys, time
from tl_core.standby import ensure_standby
ensure_standby()
print("started", flush=True)
if sys.argv[1:]:  # a run to hand over once the standby is ready
    from tl_core.config import RunConfig
    from tl_core.runs import start_run
    from tl_core.standby import standby_dir
    while not list(standby_dir().glob("*.ready")):
        time.sleep(0.1)
    print(start_run(RunConfig(data=sys.argv[1], epochs=2)).id, flush=True)
time.sleep(600)
"""


def _start_app(home, *args: str) -> subprocess.Popen:
    """A stand-in for the Streamlit server: the process that asks for a standby, then waits to be killed."""
    env = {**os.environ, "TRANSFERLAB_STANDBY": "1", "TRANSFERLAB_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", APP, *args], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            text=True)


def _standby_pid() -> int:
    return int(wait_for(lambda: [*standby_dir().glob("*.starting"), *standby_dir().glob("*.ready")], 60,
                        "the standby to be started")[0].stem)


def _end(app: subprocess.Popen) -> None:
    """End the stand-in app and any standby it started, also when the test failed before, and their markers."""
    app.kill()
    app.wait()
    for marker in standby_dir().iterdir():
        if marker.stem.isdigit() and pid_alive(int(marker.stem)):
            os.kill(int(marker.stem), signal.SIGKILL)
    shutil.rmtree(standby_dir(), ignore_errors=True)


def test_an_idle_standby_exits_within_seconds_of_its_app(workspace):
    """Stopping the server's process group does not reach a worker in its own session: it watches its app."""
    app = _start_app(workspace)
    try:
        assert app.stdout.readline().strip() == "started"
        pid = _standby_pid()
        wait_for(lambda: (standby_dir() / f"{pid}.ready").exists(), 240, "the standby to be ready")
        app.kill()  # as stopping the server's process group does: the standby's own session is not in it
        app.wait()
        wait_for(lambda: not pid_alive(pid), 10, "the standby to exit after its app was killed")
        assert not list(standby_dir().glob(f"{pid}.*"))  # and left no marker that says it is ready
    finally:
        _end(app)


def test_a_standby_still_importing_exits_with_its_app_too(workspace):
    app = _start_app(workspace)
    try:
        assert app.stdout.readline().strip() == "started"
        pid = _standby_pid()
        app.kill()
        app.wait()
        wait_for(lambda: not pid_alive(pid), 10, "the standby to exit after its app was killed")
    finally:
        _end(app)


def test_a_ready_standby_takes_the_next_run_and_finishes_it_after_its_app_is_gone(image_subset, warm_workspace):
    """The run goes to the warm standby, not a fresh process; the run folder is the truth: training goes on without
    the app, which reconnects when it is back. In the shared workspace, whose cached features make the run short."""
    from tl_core.runs import get_run

    app = _start_app(warm_workspace, str(image_subset))
    try:
        assert app.stdout.readline().strip() == "started"
        pid = _standby_pid()
        run = get_run(app.stdout.readline().strip())
        app.kill()
        app.wait()
        status = wait_for(lambda: (s := run.status()).get("state") in ("finished", "failed", "interrupted") and s,
                          240, "the handed-over run to end")
        assert status["state"] == "finished", (run.dir / "worker.log").read_text()[-3000:]
        assert status["pid"] == pid and run.has_model()  # trained by the standby, not by a fresh process
        wait_for(lambda: not pid_alive(pid), 60, "the worker to end after its run")
    finally:
        _end(app)


def test_a_ready_standby_ranks_the_data_and_finishes_the_ranking_after_its_app_is_gone(workspace, tmp_path,
                                                                                      monkeypatch):
    """The Model page's background ranking goes to the warm worker (its imports paid) rather than a new process;
    the app ending mid-ranking lets the ranking finish, so its record is done when the app starts again, and
    then the worker exits."""
    from tl_core.ranking import DONE, ranking_file, ranking_status, start_ranking
    from tl_core.workspace import read_json

    from .conftest import link_photos

    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")
    data = link_photos(tmp_path / "photos", {"train": {"ants": 6, "bees": 6}})
    app = _start_app(workspace)
    try:
        pid = int(wait_for(lambda: list(standby_dir().glob("*.ready")), 120, "the standby to be ready")[0].stem)
        config = RunConfig(data=str(data))
        start_ranking(config)  # from the test's process, as a page of the app would
        wait_for(lambda: (ranking_status(config).scores or None), 120, "the first model's score")
        app.kill()
        app.wait()
        done = wait_for(lambda: (r := ranking_status(config)).state != "running" and r, 120, "the ranking to end")
        assert done.state == DONE and len(done.scores) == 3 and done.recommended is not None
        assert read_json(ranking_file(config))["pid"] == pid  # ranked in the warm worker, not a process of its own
        wait_for(lambda: not pid_alive(pid), 30, "the standby to exit once the ranking ended")
        assert not list(standby_dir().glob(f"{pid}.*"))
    finally:
        _end(app)


def test_a_ranking_goes_to_a_ready_standby_only_while_it_is_not_preparing_ahead(workspace, monkeypatch, tmp_path):
    """Preparing ahead can run a frozen pass over thousands of pictures: a ranking handed to that worker would wait
    minutes, so it gets a process of its own instead (None here)."""
    from tl_core.standby import BUSY, RANK, hand_ranking

    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")
    me = os.getpid()  # alive: stands for a ready worker
    (standby_dir() / f"{me}.ready").touch()
    record = tmp_path / "abc.json"
    (standby_dir() / f"{me}{BUSY}").touch()
    assert hand_ranking(record) is None and not list(standby_dir().glob(f"*{RANK}"))
    (standby_dir() / f"{me}{BUSY}").unlink()
    assert hand_ranking(record) == me
    assert (standby_dir() / f"{me}.abc{RANK}").read_text() == str(record)
