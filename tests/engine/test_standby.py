"""A warm standby worker takes the next run, so a run does not wait for torch's imports."""
from __future__ import annotations

import os
import shutil
import signal

from tl_core.config import RunConfig
from tl_core.runs import start_run
from tl_core.standby import ensure_standby, pid_alive, standby_dir

from .conftest import wait_for


def test_a_ready_standby_worker_takes_the_next_run(image_subset, warm_workspace, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")
    try:
        ensure_standby()
        ready = wait_for(lambda: list(standby_dir().glob("*.ready")), 240, "a standby worker to be ready")
        pid = int(ready[0].stem)
        run = start_run(RunConfig(data=str(image_subset), epochs=2))
        status = wait_for(lambda: (s := run.status()).get("state") in ("finished", "failed", "interrupted") and s,
                          240, "the handed-over run to end")
        assert status["state"] == "finished", (run.dir / "worker.log").read_text()[-3000:]
        assert status["pid"] == pid  # trained by the standby, not by a fresh process
        assert run.has_model()
    finally:  # end the standby workers this test started (start_run spawned the next one)
        for marker in standby_dir().iterdir():
            if marker.stem.isdigit() and pid_alive(int(marker.stem)):
                os.kill(int(marker.stem), signal.SIGKILL)
        shutil.rmtree(standby_dir(), ignore_errors=True)


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
