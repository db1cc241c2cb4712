"""The "Does transfer learning help here?" experiment: three arms, and the sentence computed from their events."""
from __future__ import annotations

import pytest

from tl_core.config import ALL, RunConfig
from tl_core.explain import experiment_configs, experiment_runs, takeaway
from tl_core.explain._experiment import EXPERIMENT_EPOCHS, _duration


def epochs(*points, started_unfreeze=None, ended=True) -> list[dict]:
    """Synthetic events: (val_accuracy, elapsed_s) per epoch, as a run's events.jsonl holds them."""
    evs = [{"event": "started", "unfreeze": started_unfreeze}]
    evs += [{"event": "epoch", "epoch": i + 1, "val_accuracy": acc, "elapsed_s": t}
            for i, (acc, t) in enumerate(points)]
    if ended:
        evs.append({"event": "finished", "best_val_accuracy": max(a for a, _ in points) if points else None})
    return evs


def test_three_arms_share_everything_but_the_start():
    base = RunConfig(data="photos/", model="resnet18", seed=3, lr=0.0, augment="strong", name="Bugs",
                     extra={"owner": "ana"})
    scratch, head, blocks = experiment_configs(base, 2, experiment_id="exp-1")
    assert (scratch.from_scratch, scratch.unfreeze) == (True, ALL)
    assert (head.from_scratch, head.unfreeze) == (False, 0)
    assert (blocks.from_scratch, blocks.unfreeze) == (False, 2)
    for config, arm in zip((scratch, head, blocks), ("scratch", "head", "blocks")):
        assert config.extra == {"owner": "ana", "experiment": "exp-1", "arm": arm}
        shared = (config.data, config.model, config.seed, config.augment, config.lr)
        assert shared == ("photos/", "resnet18", 3, "strong", 0.0)
        assert config.epochs == EXPERIMENT_EPOCHS                        # one budget, since the base said "automatic"
    assert [c.name for c in (scratch, head, blocks)] == [
        "Bugs · From scratch", "Bugs · Pretrained, head only", "Bugs · Pretrained, last 2 blocks"]
    assert base.extra == {"owner": "ana"} and base.epochs == 0           # the base is left as it was
    assert {c.epochs for c in experiment_configs(RunConfig(data="x", epochs=5), ALL)} == {5}
    ids = {c.extra["experiment"] for c in experiment_configs(base, 1)}
    assert len(ids) == 1 and ids != {"exp-1"}                            # a fresh id when none is given
    with pytest.raises(ValueError, match="1 or more"):
        experiment_configs(base, 0)


def test_arms_are_found_again_by_their_tags():
    from tl_core.runs import create_run

    made = {c.extra["arm"]: create_run(c) for c in experiment_configs(RunConfig(data="x"), 1, experiment_id="find-me")}
    create_run(RunConfig(data="x", extra={"experiment": "other", "arm": "head"}))
    found = experiment_runs("find-me")
    assert {arm: run.id for arm, run in found.items()} == {arm: run.id for arm, run in made.items()}


def test_takeaway_when_transfer_helps():
    sentence = takeaway({
        "scratch": epochs((0.50, 60), (0.62, 150), (0.66, 240)),
        "head": epochs((0.90, 4), (0.94, 8), (0.94, 12)),
        "blocks": epochs((0.92, 20), (0.93, 40), started_unfreeze=2),
    })
    assert sentence == ("The pretrained model (head only) reached 94% in 8 s; from scratch reached 66% after 4 min. "
                        "Transfer learning helps here: 28 points more accuracy, and it passed from scratch's best "
                        "after 4 s.")


def test_takeaway_names_the_better_pretrained_arm_and_marks_running_arms():
    sentence = takeaway({
        "scratch": epochs((0.40, 30), (0.55, 95), ended=False),
        "head": epochs((0.80, 5)),
        "blocks": epochs((0.85, 20), (0.91, 45), started_unfreeze=3),
    })
    assert sentence.startswith("The pretrained model (last 3 blocks) reached 91% in 45 s; "
                               "from scratch reached 55% after 1 min 35 s so far. Transfer learning helps here: "
                               "36 points more accuracy")


def test_takeaway_when_it_makes_no_or_negative_difference():
    similar = takeaway({"scratch": epochs((0.97, 300)), "head": epochs((0.98, 10))})
    assert "Both end up about as accurate" in similar and "gets there sooner" in similar
    worse = takeaway({"scratch": epochs((0.95, 300)), "head": epochs((0.70, 10))})
    assert "from scratch did better" in worse


def test_takeaway_before_results():
    assert "No arm has finished an epoch yet" in takeaway({"scratch": epochs(ended=False), "head": []})
    assert takeaway({"head": epochs((0.9, 7)), "scratch": [{"event": "failed", "reason": "x"}]}) == (
        "The pretrained model (head only) reached 90% in 7 s; from scratch stopped without a result.")
    assert takeaway({"scratch": epochs((0.6, 70), ended=False)}) == (
        "From scratch reached 60% after 1 min 10 s so far; the pretrained arms have no finished epoch yet.")


@pytest.mark.parametrize("seconds, said", [(0.4, "0 s"), (8.2, "8 s"), (59.6, "1 min"), (270, "4 min 30 s"),
                                           (660, "11 min"), (3900, "1 h 5 min"), (7200, "2 h")])
def test_durations_read_like_speech(seconds, said):
    assert _duration(seconds) == said
