"""What transfer learning buys on the full datasets, through the command a user types.

Figures on this machine (2 CPU cores, seed 0): EfficientNet-Lite0 head only 94.8 % on hymenoptera val/ (153
photos), the same network from scratch in 1 epoch 45.8 % (3 epochs: 46.4 %, three times the suite's time),
MiniLM head only on yelp 90.0 % (200 held out). The from-scratch run trains the whole network on every photo:
about 15 s on an idle machine, minutes when the cores are shared. `--junitxml` reports record each figure as
`best_val_accuracy`.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI, HYMENOPTERA, YELP, from_start


def cli_train(*args: str, home: Path) -> list[dict]:
    """`transferlab train ... --json`: every stdout line must be one JSON event; the events from `started` on."""
    out = subprocess.run([str(CLI), "train", *args, "--json"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TRANSFERLAB_HOME": str(home)})
    assert out.returncode == 0, out.stderr[-3000:]
    return from_start([json.loads(line) for line in out.stdout.splitlines()])


def _check_finished(events: list[dict], home: Path, record_property) -> dict:
    assert events[0]["event"] == "started"
    finished = events[-1]
    assert finished["event"] == "finished", finished
    run = Path(finished["run"])
    assert run.parent == home / "runs" and (run / "model.safetensors").is_file()
    assert json.loads((run / "metrics.json").read_text())["accuracy"] == finished["best_val_accuracy"]
    record_property("best_val_accuracy", finished["best_val_accuracy"])  # the figure, in --junitxml reports
    return finished


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One workspace for the module: the from-scratch run reads the photos the head-only run decoded (its cache)."""
    return tmp_path_factory.mktemp("acceptance-home")


@pytest.mark.slow
def test_head_only_on_hymenoptera_reaches_92_percent(home, record_property):
    events = cli_train(str(HYMENOPTERA), "--unfreeze", "0", home=home)
    assert events[0]["path"] == "cached features" and events[0]["val_examples"] == 153
    assert events[0]["train_examples"] == 245 and events[0]["views_per_example"] == 2  # and its mirror image
    assert _check_finished(events, home, record_property)["best_val_accuracy"] >= 0.92


@pytest.mark.slow
def test_from_scratch_stays_far_below(home, record_property):
    events = cli_train(str(HYMENOPTERA), "--from-scratch", "--epochs", "1", home=home)  # one: the suite's time
    started = events[0]
    assert started["path"] == "full network" and started["from_scratch"]
    assert started["trainable_params"] == started["total_params"] and started["epochs"] == 1
    assert _check_finished(events, home, record_property)["best_val_accuracy"] < 0.80


@pytest.mark.slow
def test_head_only_on_yelp_reaches_88_percent(home, record_property):
    events = cli_train(str(YELP), home=home)
    assert events[0]["path"] == "cached features" and events[0]["classes"] == ["0", "1"]
    assert events[0]["val_examples"] == 200
    assert _check_finished(events, home, record_property)["best_val_accuracy"] >= 0.88
