"""Faults during training: the run ends with a sentence saying what to do, and nothing saved is lost."""
from __future__ import annotations

import errno
import subprocess
import sys

import pytest
import torch

import tl_core.trainer as train_module
from tl_core import events
from tl_core.config import RunConfig
from tl_core.runs import get_run, list_runs
from tl_core.trainer import TrainingFailed, train

from .conftest import wait_for


def test_disk_full_at_checkpoint_time_keeps_the_previous_model(image_subset, warm_workspace, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    config = RunConfig(data=str(image_subset), epochs=2)
    train(config, run_dir=run_dir)
    before = (run_dir / "model.safetensors").read_bytes()

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("tl_core.workspace.os.fsync", full_disk)
    seen = []
    with pytest.raises(TrainingFailed, match="disk is full or the workspace is read-only"):
        train(RunConfig(data=str(image_subset), epochs=2, lr=3e-3), on_event=seen.append, run_dir=run_dir)
    assert seen[-1]["event"] == events.FAILED and "Free some space" in seen[-1]["reason"]
    assert (run_dir / "model.safetensors").read_bytes() == before
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")], "no half-written temp files left behind"


def test_gpu_out_of_memory_retries_with_a_smaller_batch(image_subset, warm_workspace, monkeypatch):
    real_run = train_module.TrainingLoop.run
    batch_sizes = []

    def run_once_out_of_memory(loop):
        batch_sizes.append(loop.config.batch_size)
        if len(batch_sizes) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real_run(loop)

    monkeypatch.setattr(train_module.TrainingLoop, "run", run_once_out_of_memory)
    seen = []
    result = train(RunConfig(data=str(image_subset), epochs=1, batch_size=16), on_event=seen.append)
    assert batch_sizes == [16, 8]
    assert result.status == "finished"
    note = next(e for e in seen if e["event"] == events.NOTE)
    assert "ran out of memory with batches of 16" in note["text"] and "batches of 8" in note["text"]


def test_a_run_outlives_the_app_that_started_it(image_subset, warm_workspace):
    """The app server restarting mid-run: the worker is in its own session and finishes on its own."""
    script = ("from tl_core.runs import start_run; from tl_core.config import RunConfig; "
              f"print(start_run(RunConfig(data={str(image_subset)!r}, epochs=2)).id)")
    started = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    run = get_run(started.stdout.strip())   # the "app" process has exited already
    wait_for(lambda: run.state not in ("queued", "running"), 240, "the orphaned run to end")
    assert run.state == "finished"
    assert run.id in [r.id for r in list_runs()]
    assert run.metrics()["accuracy"] > 0.5
