"""`train(config, on_event, should_stop, run_dir)`: the events it emits, in order, and how it ends."""
from __future__ import annotations

import dataclasses
import math
import sys

import pytest
import torch

from tl_core.config import RunConfig
from tl_core.defaults import DEFAULTS
from tl_core.trainer import TrainingFailed, train
from tl_core.workspace import load_tensors

from .conftest import from_start, link_photos

loop = sys.modules[train.__module__]  # the training loop's module, for its settings and seams


@pytest.fixture
def every_step(monkeypatch):
    """A progress event for every step, so the whole sequence is known in advance."""
    monkeypatch.setattr(loop, "PROGRESS_EVERY_S", 0.0)


def record(config: RunConfig, **kwargs) -> tuple[list[dict], object]:
    """(the events from `started` on, the result); the events before it are checked by from_start."""
    events: list[dict] = []
    result = train(config, on_event=events.append, **kwargs)
    return from_start(events), result


def kinds(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def curve(events: list[dict]) -> list[tuple[float, float, float]]:
    return [(e["train_loss"], e["val_loss"], e["val_accuracy"]) for e in events if e["event"] == "epoch"]


def test_events_come_in_order_with_their_fields(image_subset, warm_workspace, every_step):
    everything: list[dict] = []
    result = train(RunConfig(data=str(image_subset), epochs=3), on_event=everything.append)
    events = from_start(everything)
    assert everything[0] == {**everything[0], "event": "preparing", "text": "Reading your pictures", "unit": "pictures",
                             "total": 70}
    started, finished = events[0], events[-1]
    per_epoch = started["steps"] // 3
    assert kinds(events) == ["started"] + (["progress"] * per_epoch + ["epoch"]) * 3 + ["finished"]

    assert started["path"] == "cached features" and started["classes"] == ["ants", "bees"]
    assert started["train_examples"] == 40 and started["val_examples"] == 30
    assert started["views_per_example"] == 2  # each photo and its mirror image
    assert started["trainable_params"] == 1280 * 2 + 2 and started["total_params"] > 3_000_000
    assert started["epochs"] == 3 and started["steps"] == 3 * math.ceil(80 / started["batch_size"])
    assert started["device"].startswith("CPU, ") and not started["from_scratch"] and started["unfreeze"] == 0

    progress = [e for e in events if e["event"] == "progress"]
    assert [p["step"] for p in progress] == list(range(1, started["steps"] + 1))
    assert [p["epoch"] for p in progress] == [1] * per_epoch + [2] * per_epoch + [3] * per_epoch
    assert all(p["steps"] == started["steps"] and math.isfinite(p["loss"]) and p["samples_per_s"] > 0
               and p["eta_s"] >= 0 for p in progress)
    assert progress[-1]["eta_s"] == 0

    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert 0 <= e["val_accuracy"] <= 1 and math.isfinite(e["train_loss"]) and math.isfinite(e["val_loss"])
        assert e["lr"] >= 0
    assert [e["elapsed_s"] for e in epochs] == sorted(e["elapsed_s"] for e in epochs)
    assert [e["time"] for e in everything] == sorted(e["time"] for e in everything)

    best = max(e["val_accuracy"] for e in epochs)
    best_epoch = next(e["epoch"] for e in epochs if e["val_accuracy"] == best)
    assert finished["best_val_accuracy"] == pytest.approx(best) and finished["best_epoch"] == best_epoch
    assert finished["run"] is None and finished["elapsed_s"] >= epochs[-1]["elapsed_s"]
    assert (result.status, result.best_epoch, result.run_dir) == ("finished", best_epoch, None)
    assert result.best_val_accuracy == pytest.approx(best) and result.metrics["examples"] == 30
    assert best > 0.6  # well above chance (0.5): good features make the subset easy


def test_progress_is_throttled_but_the_last_step_is_always_reported(image_subset, warm_workspace):
    events, _ = record(RunConfig(data=str(image_subset), epochs=3))
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["step"] == events[0]["steps"]
    assert len(progress) < events[0]["steps"]  # three epochs of cached features take well under 0.5 s a step


def test_seeded_runs_repeat_exactly(image_subset, warm_workspace, tmp_path, monkeypatch, lite0_imagenet):
    """The cached-prefix path (last block fine-tuned), once on the shared caches and once recomputing every
    decoded image and frozen output (only the exported ONNX graphs are shared, to save their export time)."""
    config = RunConfig(data=str(image_subset), unfreeze=1, epochs=2, seed=0)
    first, _ = record(config, run_dir=tmp_path / "first")
    assert first[0]["path"] == "cached prefix"
    fresh = tmp_path / "fresh"
    (fresh / "cache").mkdir(parents=True)
    (fresh / "cache" / "onnx").symlink_to(warm_workspace / "cache" / "onnx")
    monkeypatch.setenv("TRANSFERLAB_HOME", str(fresh))
    again, _ = record(config)
    assert not (fresh / "cache" / "frozen").samefile(warm_workspace / "cache" / "frozen")
    assert curve(again) == curve(first)
    monkeypatch.setenv("TRANSFERLAB_HOME", str(warm_workspace))
    other, _ = record(dataclasses.replace(config, lr=3e-4))  # the comparison above can tell runs apart
    assert curve(other) != curve(first)

    # Fine-tuning kept the pretrained BatchNorm statistics (keep_batchnorm_frozen in the loop).
    saved = load_tensors(tmp_path / "first" / "model.safetensors")
    pretrained = lite0_imagenet.model.state_dict()
    stats = [k for k in saved if "running_" in k]
    assert stats and all(torch.equal(saved[k], pretrained[k]) for k in stats)


def test_stop_flag_cancels_within_one_step(image_subset, warm_workspace, every_step):
    calls = []
    events, result = record(RunConfig(data=str(image_subset), epochs=3),
                            should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert kinds(events) == ["started", "progress", "progress", "cancelled"]
    assert [e["step"] for e in events[1:3]] == [1, 2]
    assert events[-1]["best_epoch"] == 0 and events[-1]["best_val_accuracy"] is None
    assert result.status == "cancelled" and result.best_epoch == 0


def test_stopping_after_an_epoch_keeps_that_epochs_model(image_subset, warm_workspace, every_step, tmp_path):
    events: list[dict] = []

    def should_stop() -> bool:  # the first step of epoch 2
        return sum(e["event"] == "progress" for e in events) > from_start(events)[0]["steps"] // 3

    result = train(RunConfig(data=str(image_subset), epochs=3), events.append, should_stop, tmp_path)
    events = from_start(events)
    per_epoch = events[0]["steps"] // 3
    assert kinds(events) == ["started"] + ["progress"] * per_epoch + ["epoch", "progress", "cancelled"]
    assert events[-1]["best_epoch"] == 1 and events[-1]["best_val_accuracy"] == pytest.approx(events[-3]["val_accuracy"])
    assert events[-1]["run"] == str(tmp_path)
    assert result.status == "cancelled"
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "metrics.json").is_file()


def test_a_diverging_loss_fails_with_advice_and_keeps_the_best_epoch(image_subset, warm_workspace, monkeypatch,
                                                                     every_step, tmp_path):
    """Divergence is provoked by turning the logits into NaN from the second epoch on: no learning rate the
    settings check accepts (at most 1.0) makes the head or the cached-prefix path reliably produce NaN."""
    build_task, events = loop.build_task, []

    def diverging_task(*args, **kwargs):
        task = build_task(*args, **kwargs)
        forward, steps = task.forward, []

        def forward_nan(inputs, training):
            out = forward(inputs, training)
            if training:
                steps.append(1)
                if len(steps) > from_start(events)[0]["steps"] // 3:  # from the first step of epoch 2 on
                    return out * float("nan")
            return out

        task.forward = forward_nan
        return task

    monkeypatch.setattr(loop, "build_task", diverging_task)
    with pytest.raises(TrainingFailed, match="try a lower learning rate") as raised:
        train(RunConfig(data=str(image_subset), epochs=3), events.append, run_dir=tmp_path)
    events = from_start(events)
    assert kinds(events) == ["started"] + ["progress"] * (events[0]["steps"] // 3) + ["epoch", "failed"]
    failed = events[-1]
    assert failed["reason"] == str(raised.value)
    assert "The best model so far (epoch 1) was kept." in failed["reason"] and failed["best_epoch"] == 1
    assert (tmp_path / "model.safetensors").is_file()


@pytest.mark.parametrize("change, message", [
    ({"lr": 100.0}, "A learning rate of 100.0 is out of range"),
    ({"lr": -0.1}, "A learning rate of -0.1 is out of range"),
    ({"epochs": -1}, "Epochs must be between 1 and 1000"),
    ({"batch_size": -1}, "Batch size must be at least 1"),
    ({"val_split": 0.0}, "The validation share must be between"),
])
def test_impossible_settings_fail_before_any_work(change, message, image_subset, workspace):
    events: list[dict] = []
    with pytest.raises(TrainingFailed, match=message):
        train(RunConfig(data=str(image_subset), **change), events.append)
    assert kinds(events) == ["failed"] and events[0]["reason"].startswith(message)
    assert not (workspace / "cache").exists()  # refused before decoding anything


def test_zero_epochs_means_the_automatic_number(image_subset, warm_workspace):
    events, result = record(RunConfig(data=str(image_subset), epochs=0))
    automatic = DEFAULTS[("image", "head")][0]
    assert automatic > 0 and events[0]["epochs"] == automatic
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == list(range(1, automatic + 1))
    assert result.status == "finished"


def test_early_stop_ends_after_that_many_epochs_without_progress(image_subset, warm_workspace):
    events, result = record(RunConfig(data=str(image_subset), epochs=30, early_stop=2))
    epochs = [e["epoch"] for e in events if e["event"] == "epoch"]
    assert result.status == "finished" and events[-1]["event"] == "finished"
    assert epochs[-1] == min(30, result.best_epoch + 2)


def test_a_batch_bigger_than_the_dataset_works(image_subset, warm_workspace):
    events, result = record(RunConfig(data=str(image_subset), epochs=2, batch_size=10_000))
    started = events[0]
    examples = started["train_examples"] * started["views_per_example"]  # what one epoch goes through
    assert started["batch_size"] <= examples
    assert started["steps"] == 2 * math.ceil(examples / started["batch_size"])
    assert kinds(events)[-1] == "finished" and result.status == "finished"


def test_a_single_class_fails_with_a_clear_reason(tmp_path, warm_workspace):
    data = link_photos(tmp_path / "only-ants", {"train": {"ants": 5}, "val": {"ants": 3}})
    events: list[dict] = []
    with pytest.raises(TrainingFailed, match="Add at least two classes"):
        train(RunConfig(data=str(data)), events.append)
    assert kinds(events) == ["failed"] and "two classes" in events[0]["reason"]


def test_text_runs_report_the_same_way(yelp_subset, warm_workspace, every_step):
    events, result = record(RunConfig(data=str(yelp_subset), epochs=2))
    started = events[0]
    per_epoch = started["steps"] // 2
    assert kinds(events) == ["started"] + (["progress"] * per_epoch + ["epoch"]) * 2 + ["finished"]
    assert started["path"] == "cached features" and started["classes"] == ["0", "1"]
    assert (started["train_examples"], started["val_examples"]) == (160, 40)
    assert result.best_val_accuracy > 0.6


def test_prepare_leaves_a_head_only_run_nothing_to_compute_but_the_head(image_subset, workspace, monkeypatch):
    """What the app asks its warm worker for while the person reads the Train page."""
    import tl_core.inputs
    import tl_core.features
    from tl_core.trainer import prepare

    config = RunConfig(data=str(image_subset), epochs=2, seed=3)
    prepare(dataclasses.replace(config, unfreeze=2))  # the slider's position does not change what is prepared

    def no_work(*args, **kwargs):
        raise AssertionError("prepare should have left this in the cache")

    monkeypatch.setattr(tl_core.features, "run_frozen", no_work)
    monkeypatch.setattr(tl_core.inputs, "read_image", no_work)
    assert train(config).status == "finished"


def test_a_time_limit_ends_the_run_and_scores_the_epoch_under_way(image_subset, warm_workspace, every_step):
    """The budget the comparison on the Understand step gives each run: a run still in its epochs when the
    limit passes stops within a step, and the steps of the epoch under way are scored as a partial epoch."""
    from tl_core.trainer import prepare

    config = RunConfig(data=str(image_subset), epochs=1000, batch_size=1, time_limit_s=4.0)
    prepare(config)  # features cached, so the 4 s go to training, not to the frozen network's pass
    events, result = record(config)
    started, epochs, finished = events[0], [e for e in events if e["event"] == "epoch"], events[-1]
    assert result.status == "finished" and finished["event"] == "finished"
    assert 1 <= len(epochs) < 1000 and [e["epoch"] for e in epochs] == list(range(1, len(epochs) + 1))
    run_start = finished["time"] - finished["elapsed_s"]
    first_step = max(config.time_limit_s, started["time"] - run_start)  # a loaded machine may take longer to build
    assert finished["elapsed_s"] < first_step + 1.0   # a head step and its validation take milliseconds
    last_step = [e for e in events if e["event"] == "progress"][-1]["step"]
    per_epoch = started["steps"] // started["epochs"]
    assert epochs[-1]["partial"] == (last_step < len(epochs) * per_epoch)
    assert not any(e["partial"] for e in epochs[:-1])
    assert finished["best_epoch"] in [e["epoch"] for e in epochs]


def test_fine_tuning_says_the_head_was_fitted_first(image_subset, warm_workspace, every_step):
    """With blocks unfrozen the head is first fitted on frozen features, before step 1: the `started` event
    carries how that head scored, so the loss chart can show why training loss starts near zero."""
    events, _ = record(RunConfig(data=str(image_subset), unfreeze=2, epochs=1))
    started = events[0]
    head_fit = started["head_fit"]
    assert set(head_fit) - {"trained_alone"} == {"train_loss", "val_loss", "val_accuracy", "elapsed_s"}
    assert 0 <= head_fit["train_loss"] < head_fit["val_loss"] and 0.5 < head_fit["val_accuracy"] <= 1
    epoch_1 = next(e for e in events if e["event"] == "epoch")
    assert 0 < head_fit["elapsed_s"] < epoch_1["elapsed_s"]  # epoch 0 is reached before epoch 1, on the same clock
    first_step = next(e for e in events if e["event"] == "progress")
    assert first_step["loss"] < head_fit["train_loss"] + 0.1   # fine-tuning starts where the fitted head left off
    head_only, _ = record(RunConfig(data=str(image_subset), epochs=1))
    assert "head_fit" not in head_only[0]          # a head-only run starts from a random head: nothing fitted first
