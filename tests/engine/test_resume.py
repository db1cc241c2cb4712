"""Keep training a run (`tl_core.resume`): a continuation starts from the earlier run's best model, with its settings
and split, numbers its epochs on, and the frozen-output caches it reads still describe its frozen part."""
from __future__ import annotations

import dataclasses
import json
import time

import pytest
import torch

from tl_core import events, run_files
from tl_core.checkpoint import load_earlier_weights
from tl_core.cli import _parser, main
from tl_core.cli_flags import config_from
from tl_core.config import RunConfig
from tl_core.data import DataError
from tl_core.freeze import apply_plan
from tl_core.models import load_model
from tl_core.resume import best_epoch, continue_run, earlier_epochs, first_epoch, scored_epochs
from tl_core.runs import create_run
from tl_core.trainer import _build
from tl_core.workspace import load_tensors, write_json

from .conftest import link_photos


def epochs_of(run) -> list[dict]:
    return [e for e in run.events() if e["event"] == "epoch"]


def start_scores(config: RunConfig) -> tuple[float, float, str]:
    """(val loss, val accuracy, training path) of the model a run of `config` starts training from."""
    task, runtime = _build(config, events.ignore)
    val_loss, val_accuracy, _ = task.validate(runtime)
    return val_loss, val_accuracy, task.path.value


def test_a_continuation_starts_from_the_best_model_and_numbers_its_epochs_on(image_run, warm_home, train_run,
                                                                             warm_workspace):
    config = continue_run(image_run.id, epochs=1)
    assert config == dataclasses.replace(image_run.config, epochs=1, resume_from=image_run.id,
                                         name="ants or bees, continued")
    best = best_epoch(image_run)
    kept = next(e for e in epochs_of(image_run) if e["epoch"] == best)

    # Head only, on the cached features: the trained head scores the earlier best epoch's numbers to the digit
    # (a new head, what training without resume_from starts from, scores about ln 2 on two classes).
    loss, accuracy, path = start_scores(config)
    assert path == "cached features"
    assert loss == pytest.approx(kept["val_loss"], abs=1e-5) and accuracy == kept["val_accuracy"]

    run = train_run(warm_home, config)
    assert run.config.resume_from == image_run.id  # config.json links it
    started = next(e for e in run.events() if e["event"] == "started")
    assert (started["first_epoch"], started["continues"]) == (best + 1, image_run.id)
    assert [e["epoch"] for e in epochs_of(run)] == [best + 1] and run.metrics()["best_epoch"] == best + 1
    assert abs(epochs_of(run)[0]["val_loss"] - kept["val_loss"]) < 0.1  # on from there, not back to ln 2
    assert earlier_epochs(run) == [e for e in epochs_of(image_run) if e["epoch"] <= best]
    assert earlier_epochs(image_run) == []


@pytest.fixture(scope="module")
def lite0():
    """The embedded EfficientNet-Lite0 with a new two-class head, as training builds it (never trained here)."""
    return load_model("", "image", 2)


def test_a_fine_tuned_continuation_reads_the_cached_prefix_of_unchanged_blocks(tmp_path, warm_home, train_run,
                                                                               warm_workspace, lite0):
    data = link_photos(tmp_path / "photos", {"train": {"ants": 10, "bees": 10}, "val": {"ants": 5, "bees": 5}})
    earlier = train_run(warm_home, RunConfig(data=str(data), unfreeze=1, epochs=1, name="last block"))
    # What the cache was made from is still what the frozen part holds: every weight and BatchNorm statistic
    # outside the last block and the head is the pretrained one in the earlier run's saved model.
    apply_plan(lite0, 1)
    trainable = {n for n, p in lite0.model.named_parameters() if p.requires_grad}
    saved, original = load_tensors(earlier.model_file), lite0.model.state_dict()
    assert all(torch.equal(saved[k], original[k]) for k in saved if k not in trainable)
    assert any(not torch.equal(saved[k], original[k]) for k in trainable)

    kept = next(e for e in scored_epochs(earlier) if e["epoch"] == best_epoch(earlier))  # maybe the fitted head
    loss, accuracy, path = start_scores(continue_run(earlier.id, epochs=1))
    assert path == "cached prefix"
    assert loss == pytest.approx(kept["val_loss"], abs=1e-4) and accuracy == kept["val_accuracy"]


def test_what_cannot_be_continued_is_refused_in_words(workspace, image_subset):
    with pytest.raises(FileNotFoundError, match="There is no run called nope."):
        continue_run("nope")
    run = create_run(RunConfig(data=str(image_subset)))  # queued: its worker has only just been asked for
    with pytest.raises(DataError, match=f"Run {run.id} is still training. Wait for it to finish"):
        continue_run(run.id)
    write_json(run.dir / "status.json", {"state": "cancelled", "created": time.time()})
    with pytest.raises(DataError, match=f"Run {run.id} kept no model to continue from"):
        continue_run(run.id)
    gone = create_run(RunConfig(data=str(workspace / "moved-away")))
    write_json(gone.dir / "status.json", {"state": "finished", "created": time.time()})
    gone.model_file.touch()
    with pytest.raises(DataError, match=f"The data run {gone.id} learned from is no longer at .*moved-away"):
        continue_run(gone.id)


def test_a_continuation_must_keep_the_classes_and_what_trains(image_run, lite0):
    with pytest.raises(DataError, match="The data now holds the classes ants, formicidae.*learned ants, bees"):
        load_earlier_weights(lite0, image_run.dir, ["ants", "formicidae"], apply_plan(lite0, 0))
    with pytest.raises(DataError, match="must train the same model and the same blocks"):
        load_earlier_weights(lite0, image_run.dir, ["ants", "bees"], apply_plan(lite0, 1))


def test_train_resume_takes_the_earlier_runs_settings(image_run, warm_workspace, capsys):
    args = _parser().parse_args(["train", "--resume", image_run.id, "--epochs", "4"])
    assert (args.data, args.resume, args.epochs) == (None, image_run.id, 4)
    assert config_from(args) == continue_run(image_run.id, 4)
    assert main(["train", "--resume", "nope"]) == 2
    assert "Cannot train: There is no run called nope." in capsys.readouterr().err
    assert main(["train", "photos", "--resume", image_run.id]) == 2
    assert "--resume keeps training a run on its own data and settings: leave out DATA." in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "Say what to train on" in capsys.readouterr().err


def test_a_run_that_kept_its_fitted_head_is_continued_from_epoch_0(workspace, image_subset):
    """A fine-tuning run whose epochs never beat the probe kept the probe (best epoch 0): a continuation numbers on
    from 1 and its curve starts at the probe, not at the run's best-scoring epoch event."""
    run = create_run(RunConfig(data=str(image_subset), unfreeze=1))
    probe = {"train_loss": 0.2, "val_loss": 0.3, "val_accuracy": 0.9}
    lines = [events.make("started", first_epoch=1, head_fit=probe)] + [
        events.make("epoch", epoch=e, train_loss=0.4, val_loss=0.5, val_accuracy=a) for e, a in ((1, 0.8), (2, 0.85))]
    (run.dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert [e["epoch"] for e in scored_epochs(run)] == [0, 1, 2] and scored_epochs(run)[0]["val_accuracy"] == 0.9
    assert best_epoch(run) == 0  # a run killed before its metrics: the events say so
    write_json(run.dir / run_files.METRICS, {"best_epoch": 0, "accuracy": 0.9})
    assert best_epoch(run) == 0  # before, a falsy 0 in the metrics fell back to the best epoch event (2)
    continuation = create_run(dataclasses.replace(run.config, resume_from=run.id))
    assert first_epoch(continuation.config) == 1
    assert [(e["epoch"], e["val_accuracy"]) for e in earlier_epochs(continuation)] == [(0, 0.9)]
    tied = create_run(run.config)  # an epoch that ties the fitted head is kept: fine-tuning was asked for
    tie = lines[:2] + [{**lines[2], "val_accuracy": 0.9}]
    (tied.dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in tie))
    assert best_epoch(tied) == 2
