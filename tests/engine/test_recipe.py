"""The fine-tuning recipe's pieces: a probe whose L2 strength is picked on held-out examples, a pool of cached
views each epoch draws one from, and early stopping by default when blocks train."""
from __future__ import annotations

import math

import torch
from torch import nn

from tl_core import events
from tl_core.checkpoint import load_trained
from tl_core.config import NEVER, RunConfig
from tl_core.data import load_dataset, split
from tl_core.defaults import DEFAULTS, POOL_VIEWS, settings_for
from tl_core.device import Runtime
from tl_core.freeze import apply_plan, plan_for
from tl_core.inputs import Views
from tl_core.models import load_model
from tl_core.probe import WEIGHT_DECAYS, pick_weight_decay
from tl_core.task import TrainingPath
from tl_core.tasks import build_task
from tl_core.trainer import train

FLOAT32_CPU = Runtime(torch.device("cpu"), None)


def test_the_probe_judges_its_l2_strength_on_held_out_examples_with_all_their_views():
    """Labels that say nothing about the features: a held-out example whose mirror view was fitted would reward
    memorising (the weakest L2); held out with every view, the strongest L2 (predict the base rate) wins."""
    g = torch.Generator().manual_seed(0)
    feats, labels = torch.randn(101, 200, generator=g), torch.randint(0, 2, (101,), generator=g)
    two_views, labels = torch.cat([feats, feats]), labels.repeat(2)
    head = nn.Linear(200, 2)
    before = {k: v.clone() for k, v in head.state_dict().items()}
    assert pick_weight_decay(head, two_views, labels, examples=101) == max(WEIGHT_DECAYS)
    assert pick_weight_decay(head, two_views, labels, examples=202) == min(WEIGHT_DECAYS)  # views leak
    assert all(torch.equal(v, before[k]) for k, v in head.state_dict().items())  # picking leaves the head alone


def test_views_beyond_the_mirror_are_the_presets_seeded_augmentations():
    images = torch.randint(0, 255, (5, 3, 16, 16), dtype=torch.uint8)
    train, val = [3, 0, 1], [4, 2]
    pool = Views(images, train, val, "light", 0, count=4)
    assert len(pool) == 4 * 3 + 2 and torch.equal(pool[:6], Views(images, train, val, "light", 0)[:6])
    assert torch.equal(pool[12:], images[val]) and torch.equal(pool[:], Views(images, train, val, "light", 0, 4)[:])
    assert not torch.equal(pool[6:9], pool[9:12]) and not torch.equal(pool[6:9], images[train])


def test_fine_tuning_draws_one_fresh_view_of_each_picture_per_epoch(image_subset, warm_workspace):
    """An epoch shows each training picture once; over POOL_VIEWS epochs it has shown every cached view of it."""
    config = RunConfig(data=str(image_subset), unfreeze=2, epochs=POOL_VIEWS)
    dataset = load_dataset(image_subset)
    train_idx, val_idx = split(dataset)
    backbone = load_model("", "image", len(dataset.classes))
    plan = apply_plan(backbone, 2)
    task = build_task(config, dataset, train_idx, val_idx, backbone, plan, FLOAT32_CPU, events.ignore)
    n = len(train_idx)
    assert task.path == TrainingPath.CACHED_PREFIX and task.pool == POOL_VIEWS and task.train_size == n
    assert task.describe()["views_per_example"] == POOL_VIEWS and len(task.train_inputs[0]) == POOL_VIEWS * n
    generator = torch.Generator().manual_seed(0)
    shown = [torch.cat(list(task.train_batches(8, generator))) for _ in range(POOL_VIEWS)]
    for rows in shown:
        assert sorted((rows % n).tolist()) == list(range(n))  # each picture once per epoch
    seen = torch.stack([r[(r % n).argsort()] // n for r in shown])  # (epoch, picture) -> view shown
    assert all(sorted(seen[:, i].tolist()) == list(range(POOL_VIEWS)) for i in range(n))
    assert all(torch.equal(task.train_labels[r], task.train_labels[r % n]) for r in shown)


def test_fine_tuning_fits_its_head_after_the_prefix_pass_not_in_a_second_pass(image_subset, workspace, monkeypatch):
    """The frozen blocks run once, over the pool of views; the head is fitted on what the rest of the network makes
    of the pool's first views (the run's own), which equals the whole network's features to float rounding. Before,
    the whole network also ran over every picture's 2 views: 30 of the 81 s before epoch 0 on plant_tomato."""
    from tl_core import features
    from tl_core.features import FeatureExtractor, FrozenRest
    from tl_core.inputs import Normalized

    real, passes = features.run_frozen, []
    monkeypatch.setattr(features, "run_frozen", lambda module, inputs, *args, **kwargs: passes.append(
        (module, inputs, real(module, inputs, *args, **kwargs))) or passes[-1][2])
    dataset = load_dataset(image_subset)
    train_idx, val_idx = split(dataset)
    backbone = load_model("", "image", len(dataset.classes))
    whole_network = Normalized(FeatureExtractor(backbone), backbone.preprocess)
    said = []
    task = build_task(RunConfig(data=str(image_subset), unfreeze=2), dataset, train_idx, val_idx, backbone,
                      apply_plan(backbone, 2), FLOAT32_CPU, said.append)
    (prefix, pool, acts), (rest, own_views, after) = passes
    assert isinstance(prefix.module, nn.Sequential) and isinstance(rest, FrozenRest)
    n, pooled = len(train_idx), len(task.train_inputs[0])  # the pool's training views, then validation
    assert torch.equal(own_views.rows, torch.cat([torch.arange(2 * n), torch.arange(pooled, pooled + len(val_idx))]))
    assert own_views.tensor is acts and len(pool) == pooled + len(val_idx) and pooled == POOL_VIEWS * n
    views = Views(pool.images, train_idx, val_idx, pool.preset, pool.seed)  # the run's own: each picture, its mirror
    whole = real(whole_network, views, FLOAT32_CPU, "the whole network")
    torch.testing.assert_close(after, whole, atol=1e-4, rtol=1e-3)
    assert torch.equal(task.head_alone.train_inputs[0], after[:2 * n])  # the head trained alone reads them
    # the page's progress bars say what they count
    bars = {(e["text"], e["total"], e["unit"]) for e in said if e["event"] == "preparing" and e["unit"] == "views"}
    assert bars == {("The frozen blocks look at your pictures (40 training pictures as they are, mirrored and in 2 "
                     "augmented copies, 30 for checking as they are)", 4 * 40 + 30, "views"),
                    ("The last blocks finish the features the new head is first fitted on", 2 * 40 + 30, "views")}


def test_automatic_settings_stop_early_only_when_blocks_train(image_subset):
    backbone = load_model("", "image", 2)
    head_only, blocks = plan_for(backbone, 0), plan_for(backbone, 2)
    auto = RunConfig(data=str(image_subset))
    assert settings_for(auto, "image", head_only).early_stop == 0
    assert settings_for(auto, "image", blocks).early_stop == DEFAULTS[("image", "blocks")].early_stop > 0
    assert settings_for(RunConfig(data=str(image_subset), early_stop=7), "image", blocks).early_stop == 7
    assert settings_for(RunConfig(data=str(image_subset), early_stop=NEVER), "image", blocks).early_stop == 0


def test_fine_tuning_keeps_the_fitted_head_when_no_epoch_beats_it(image_subset, warm_workspace, tmp_path):
    """A learning rate far too high wrecks the unfrozen block in its one epoch. The run keeps the linear probe,
    scored as epoch 0 (the `started` event's head_fit), and saves it: the saved last block is the pretrained one.
    Before, the run kept its only epoch, however bad (chest_xray_nih, unfreeze 3: 60.8 % against 79.2 %)."""
    seen = []
    config = RunConfig(data=str(image_subset), unfreeze=1, epochs=1, lr=1.0, early_stop=NEVER)
    result = train(config, seen.append, run_dir=tmp_path)
    probe = next(e for e in seen if e["event"] == "started")["head_fit"]
    epoch = next(e for e in seen if e["event"] == "epoch")
    assert epoch["epoch"] == 1 and epoch["val_accuracy"] < probe["val_accuracy"]
    assert result.best_epoch == 0 and result.best_val_accuracy == probe["val_accuracy"]
    assert next(e for e in seen if e["event"] == "finished")["best_epoch"] == 0
    saved, pretrained = load_trained(tmp_path).model.state_dict(), load_model("", "image", 2)
    last_block = pretrained.blocks[-1].param_names
    assert last_block and all(torch.equal(saved[n], p) for n, p in pretrained.model.named_parameters() if n in last_block)



def test_a_run_that_stops_early_says_so_and_why(image_subset, warm_workspace):
    """A wrecked first epoch with a patience of 1: the run ends after epoch 1 of 3 and says why, in the finished
    event and in words. Before, the page showed 'Epochs finished: 3 of 6' beside '100 % · done' and said nothing
    (tomato leaves, automatic blocks)."""
    from tl_core import events

    seen = []
    train(RunConfig(data=str(image_subset), unfreeze=1, epochs=3, lr=1.0, early_stop=1), seen.append)
    finished = seen[-1]
    assert finished["event"] == "finished" and [e["epoch"] for e in seen if e["event"] == "epoch"] == [1]
    assert finished["ended"] == events.EARLY_STOP and finished["patience"] == 1
    assert events.why_it_ended(seen) == ("It stopped early, after epoch 1 of 3: the validation accuracy had not "
                                         "improved for 1 epoch in a row, so more would likely not help.")


def test_a_run_that_used_its_epochs_or_hit_its_time_limit_is_worded_so():
    from tl_core import events

    started = {"event": "started", "epochs": 4, "first_epoch": 3}  # a continuation: epochs 3 to 6
    epochs = [{"event": "epoch", "epoch": n} for n in (3, 4)]
    assert events.why_it_ended([started, *epochs, {"event": "finished", "ended": events.TIME_LIMIT}]) == \
        "It stopped at its time limit, after epoch 4 of 6."
    assert events.why_it_ended([started, *epochs, {"event": "finished"}]) == ""


def test_fine_tuning_never_ends_below_the_head_trained_alone(image_subset, warm_workspace, monkeypatch):
    """Epoch 0 is the better of the probe and the head trained alone exactly as the head-only run of the same config
    trains it; fine-tuning still starts from the probe. A probe that knows nothing (zeroed after fitting) makes the
    head alone the one kept. Before, epoch 0 was the probe alone: on ag_news it scored 85.8 % against head only's
    87.5 %, and every fine-tuning epoch stayed below both."""
    from tl_core import tasks
    from tl_core.probe import fit_head_first

    def knows_nothing(head, *args, **kwargs):
        fitted = fit_head_first(head, *args, **kwargs)
        with torch.no_grad():
            head.weight.zero_(), head.bias.zero_()
        return fitted

    monkeypatch.setattr(tasks, "fit_head_first", knows_nothing)
    config = RunConfig(data=str(image_subset), unfreeze=1, epochs=2, lr=0.01, early_stop=NEVER)
    head_only = train(RunConfig(data=str(image_subset), unfreeze=0, epochs=2, lr=0.01, early_stop=NEVER))
    seen = []
    train(config, seen.append)
    epoch0 = next(e for e in seen if e["event"] == "started")["head_fit"]
    assert head_only.best_val_accuracy > 0.6 and epoch0.get("trained_alone")
    assert abs(epoch0["val_accuracy"] - head_only.best_val_accuracy) <= 1 / 30  # one picture: bf16 on some CPUs
    first_step = next(e for e in seen if e["event"] == "progress")
    assert first_step["step"] == 1 and abs(first_step["loss"] - math.log(2)) < 1e-3  # from the zeroed probe
