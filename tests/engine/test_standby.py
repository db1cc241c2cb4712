"""The warm standby worker: it takes the next run without paying for imports, and exits when not needed."""
from __future__ import annotations

import os
import time

from tl_core.config import RunConfig
from tl_core.runs import start_run
from tl_core.standby import ensure_standby, pid_alive, standby_dir

from .conftest import wait_for


def test_a_ready_standby_takes_the_next_run(image_subset, warm_workspace, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")
    ensure_standby()
    ready = wait_for(lambda: list(standby_dir().glob("*.ready")), 120, "a standby worker to be ready")
    standby_pid = int(ready[0].stem)

    run = start_run(RunConfig(data=str(image_subset), epochs=1))
    wait_for(lambda: run.state not in ("queued", "running"), 180, "the handed-over run to end")
    assert run.state == "finished"
    assert run.status()["pid"] == standby_pid, "the run was trained by the warm worker, not a fresh process"
    assert "Traceback" not in (run.dir / "worker.log").read_text()

    # start_run asked for the next standby; remove the workspace's standby folder and it leaves by itself
    successor = wait_for(lambda: [p for p in standby_dir().glob("*") if p.suffix in (".ready", ".starting")
                                  and int(p.stem) != standby_pid], 60, "a successor standby")
    pid = int(successor[0].stem)
    wait_for(lambda: list(standby_dir().glob(f"{pid}.ready")), 120, "the successor to be ready")
    for f in standby_dir().iterdir():
        f.unlink()
    standby_dir().rmdir()
    wait_for(lambda: not pid_alive(pid), 30, "the successor to exit once its workspace is gone")


def test_no_standby_when_disabled(warm_workspace, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_STANDBY", "0")
    ensure_standby()
    time.sleep(0.5)
    assert not list(standby_dir().glob("*")), os.listdir(standby_dir())
