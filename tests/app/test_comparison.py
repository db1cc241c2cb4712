"""The comparison chart and lines of the Understand step read a fine-tuning run's kept epoch 0 as the run does."""
from __future__ import annotations

from pages.common.comparison import arm_state, experiment_figure


def blocks_run(head_fit_accuracy: float) -> list[dict]:
    """A finished 'last 2 blocks' run whose fitted head (epoch 0) scored `head_fit_accuracy`, then two epochs."""
    head_fit = {"train_loss": 0.2, "val_loss": 0.4, "val_accuracy": head_fit_accuracy, "elapsed_s": 12.0}
    return [{"event": "started", "epochs": 2, "unfreeze": 2, "head_fit": head_fit},
            {"event": "epoch", "epoch": 1, "val_accuracy": 0.80, "elapsed_s": 30.0},
            {"event": "epoch", "epoch": 2, "val_accuracy": 0.85, "elapsed_s": 45.0},
            {"event": "finished", "best_epoch": 0, "best_val_accuracy": head_fit_accuracy}]


def test_a_kept_epoch_0_is_the_runs_best_in_its_line_and_on_the_chart():
    evs = blocks_run(0.9)
    assert arm_state({"state": "finished"}, evs, 2, 60).startswith("finished, best 90%")  # was 85%: epochs only
    fig = experiment_figure({"blocks": ("Pretrained, last 2 blocks", evs)}, budget=2)
    by_time, by_epoch = fig.data
    assert list(by_time.x) == [12.0, 30.0, 45.0] and list(by_epoch.x) == [0, 1, 2]
    assert list(by_epoch.y) == [90.0, 80.0, 85.0]
    assert fig.layout.xaxis2.range[0] == -0.5                    # epoch 0 is inside the chart
    assert "fitted before any block trained" in by_epoch.text[0]
    head_only = [{"event": "started", "epochs": 2}, {"event": "epoch", "epoch": 1, "val_accuracy": 0.9, "elapsed_s": 3}]
    assert experiment_figure({"head": ("Pretrained, head only", head_only)}, budget=2).layout.xaxis2.range[0] == 0.5


def test_a_run_past_its_time_limit_is_not_said_to_be_over_it():
    """The limit stops training, then the epoch it got to is checked: the line read "63 s of its 60 s"."""
    import time

    running = [{"event": "started", "epochs": 3}]
    within = arm_state({"state": "running", "started": time.time() - 20}, running, 3, 60)
    assert within.startswith("training, epoch 1 of 3, 20 s of its 60 s")
    past = arm_state({"state": "running", "started": time.time() - 63}, running, 3, 60)
    assert past == "training, epoch 1 of 3, its 60 s are up: checking the epoch it got to"
