"""The "Does transfer learning help here?" experiment: three arms, and the sentence computed from their events."""
from __future__ import annotations

import pytest

from tl_core.config import ALL, NEVER, RunConfig
from tl_core.explain import experiment_configs, experiment_runs, takeaway, time_ran_out, what_is_equal
from tl_core.explain._experiment import EXPERIMENT_EPOCHS, EXPERIMENT_SECONDS


def epochs(*points, started_unfreeze=None, ended=True, planned=None, partial=False) -> list[dict]:
    """Synthetic events: (val_accuracy, elapsed_s) per epoch, as a run's events.jsonl holds them."""
    evs = [{"event": "started", "unfreeze": started_unfreeze, "epochs": planned or len(points)}]
    evs += [{"event": "epoch", "epoch": i + 1, "val_accuracy": acc, "elapsed_s": t,
             "partial": partial and i == len(points) - 1} for i, (acc, t) in enumerate(points)]
    if ended:
        evs.append({"event": "finished", "best_val_accuracy": max(a for a, _ in points) if points else None})
    return evs


def test_three_arms_share_everything_but_the_start():
    base = RunConfig(data="photos/", model="resnet18", seed=3, lr=0.0, augment="strong", name="Bugs",
                     early_stop=3, extra={"owner": "ana"})
    head, blocks, scratch = experiment_configs(base, 2, experiment_id="exp-1")  # the order they train in
    assert (head.from_scratch, head.unfreeze) == (False, 0)
    assert (blocks.from_scratch, blocks.unfreeze) == (False, 2)
    assert (scratch.from_scratch, scratch.unfreeze) == (True, ALL)
    for config, arm in zip((head, blocks, scratch), ("head", "blocks", "scratch")):
        assert config.extra == {"owner": "ana", "experiment": "exp-1", "arm": arm}
        shared = (config.data, config.model, config.seed, config.augment, config.lr)
        assert shared == ("photos/", "resnet18", 3, "strong", 0.0)
        assert config.epochs == EXPERIMENT_EPOCHS                        # one budget, since the base said "automatic"
        assert (config.time_limit_s, config.early_stop) == (EXPERIMENT_SECONDS, NEVER)
    assert [c.name for c in (head, blocks, scratch)] == [
        "Pretrained, head only · Bugs", "Pretrained, last 2 blocks · Bugs", "From scratch · Bugs"]
    assert base.extra == {"owner": "ana"} and base.epochs == 0           # the base is left as it was
    own = experiment_configs(RunConfig(data="x", epochs=5, time_limit_s=30), ALL)
    assert {(c.epochs, c.time_limit_s) for c in own} == {(5, 30)}
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


def test_takeaway_says_when_from_scratch_ran_out_of_time():
    cut = epochs((0.50, 31), (0.58, 61), planned=8, partial=True)
    assert time_ran_out(cut) == "in epoch 2 of 8"
    assert time_ran_out(epochs((0.5, 30), (0.6, 60), planned=8)) == "after epoch 2 of 8"
    assert time_ran_out(epochs((0.5, 30), (0.6, 60))) == ""                  # all its epochs done
    assert time_ran_out(epochs((0.5, 30), planned=8, ended=False)) == ""     # still training
    sentence = takeaway({"head": epochs((0.9, 3)), "blocks": epochs((0.88, 20)), "scratch": cut})
    assert sentence.startswith("The pretrained model (head only) reached 90% in 3 s; from scratch reached 58% after "
                               "1 min 1 s (its time ran out in epoch 2 of 8). Transfer learning helps here")
    assert "arm" not in sentence


def test_takeaway_says_when_from_scratch_did_no_better_than_guessing():
    """44 % from scratch on two classes read as a result like any other."""
    coin = epochs((0.44, 30), (0.44, 61))
    coin[0]["classes"] = ["cats", "dogs"]
    sentence = takeaway({"head": epochs((0.96, 5)), "scratch": coin})
    assert "from scratch reached 44% after 30 s, no better than guessing among 2 classes (50%). Transfer" in sentence
    coin[0]["classes"] = ["a", "b", "c", "d", "e"]  # 44 % of five classes is well above a guess's 20 %
    assert "guessing" not in takeaway({"head": epochs((0.96, 5)), "scratch": coin})


def test_the_page_says_what_is_equal_and_what_is_not():
    said = what_is_equal(3, EXPERIMENT_SECONDS)
    assert "at most 3 epochs or 1 min each" in said and "Not the same: what each starts from" in said
    assert "1 epoch or" in what_is_equal(1, 45)


def test_takeaway_before_results():
    assert "No run has finished an epoch yet" in takeaway({"scratch": epochs(ended=False), "head": []})
    assert takeaway({"head": epochs((0.9, 7)), "scratch": [{"event": "failed", "reason": "x"}]}) == (
        "The pretrained model (head only) reached 90% in 7 s; from scratch stopped without a result.")
    assert takeaway({"scratch": epochs((0.6, 70), ended=False)}) == (
        "From scratch reached 60% after 1 min 10 s so far; the pretrained runs have no finished epoch yet.")


def test_arm_titles_say_the_choice_in_the_words_of_every_other_view():
    from tl_core.config import what_trains
    from tl_core.explain import arm_title

    assert [arm_title(arm, 2) for arm in ("head", "blocks", "scratch")] == [
        "Pretrained, head only", "Pretrained, last 2 blocks", "From scratch"]
    for n in (1, 3, ALL, None):
        assert arm_title("blocks", n) == f"Pretrained, {what_trains(n, short=True)}"
    assert arm_title("scratch") == what_trains(ALL, from_scratch=True, short=True).capitalize()
    assert arm_title("blocks", 1) == "Pretrained, last block" and arm_title("blocks", ALL) == "Pretrained, all blocks"


@pytest.mark.parametrize("seconds, said", [(0.44, "under a second"), (1.2, "1 s"), (8.2, "8 s"), (59.6, "1 min"), (270, "4 min 30 s"),
                                           (660, "11 min"), (3900, "1 h 5 min"), (7200, "2 h")])
def test_durations_read_like_speech(seconds, said):
    """One wording for every duration the app shows (a run, the comparison): a head-only run on features prepared
    ahead finished in 0.44 s and the Train step said 'Training finished in 0 s'."""
    from tl_core import duration

    assert duration(seconds) == said


def test_the_pretrained_runs_train_first_and_from_scratch_keeps_to_the_time_limit(hymenoptera, tmp_path,
                                                                                  monkeypatch):
    """The comparison as the page starts it, in real worker processes, on 4 + 4 photos to train on and 2 + 2 to
    check with (few, so the three runs cost little more than their workers' start): the runs take their turns
    head only, last block, from scratch (so the first points come within seconds), and from scratch, with
    epochs to spare, stops at the shared time limit. In a home of its own: the session's holds runs other tests
    queued and never started, which a worker waits for until they go stale (runs.STALE_S, 30 s)."""
    import time

    from tl_core.explain import start_experiment

    monkeypatch.setenv("TRANSFERLAB_HOME", str(tmp_path / "home"))
    data = tmp_path / "photos"
    for split, n in (("train", 4), ("val", 2)):
        for cls in ("ants", "bees"):
            (data / split / cls).mkdir(parents=True)
            for photo in sorted((hymenoptera / split / cls).glob("*.jpg"))[:n]:
                (data / split / cls / photo.name).symlink_to(photo.resolve())
    limit = 4.0  # enough for a few from-scratch steps on 8 photos; every second of it is waited
    runs = start_experiment(RunConfig(data=str(data), epochs=40, time_limit_s=limit), 1)
    deadline = time.time() + 600
    while any(r.state in ("queued", "running") for r in runs.values()) and time.time() < deadline:
        time.sleep(0.2)
    evs = {arm: run.events() for arm, run in runs.items()}
    states = {arm: run.state for arm, run in runs.items()}
    assert states == dict.fromkeys(("head", "blocks", "scratch"), "finished"), evs

    def moment(arm: str, kind: str) -> float:
        return next(e["time"] for e in evs[arm] if e["event"] == kind)

    assert moment("head", "started") < moment("blocks", "started") < moment("scratch", "started")
    assert moment("head", "finished") <= moment("blocks", "started")       # one after another, in that order
    assert moment("blocks", "finished") <= moment("scratch", "started")
    scratch = evs["scratch"]
    assert time_ran_out(scratch) and sum(e["event"] == "epoch" for e in scratch) < 40
    finished = scratch[-1]
    since_start = [e["time"] - (finished["time"] - finished["elapsed_s"]) for e in scratch if e["event"] == "progress"]
    assert sum(t >= limit for t in since_start) <= 1, since_start  # no step began after the limit
    assert finished["elapsed_s"] < limit + 15, scratch  # then only that step, its scoring and saving the model


def test_takeaway_counts_the_fitted_head_a_fine_tuning_run_kept():
    """Epoch 0 (the new head fitted before any block trained) is the model a fine-tuning run keeps when its epochs
    score below it, so the takeaway reads it as the run's result, as the run's own metrics do. Before, the sentence
    said 91% for a run whose kept model scored 95%."""
    blocks = epochs((0.90, 30), (0.91, 45), started_unfreeze=2)
    blocks[0]["head_fit"] = {"train_loss": 0.2, "val_loss": 0.3, "val_accuracy": 0.95, "elapsed_s": 15.0}
    sentence = takeaway({"head": epochs((0.93, 4)), "blocks": blocks, "scratch": epochs((0.60, 60))})
    assert sentence.startswith("The pretrained model (its new head, fitted before the last 2 blocks trained) "
                               "reached 95% in 15 s; from scratch reached 60%")  # it read "(last 2 blocks)": no
    # block had trained, and the head-only arm beside it, trained for a few epochs, scored 93 %: said why
    assert sentence.endswith(" The head-only run trains its head step by step and reached 93% in its 1 epoch; "
                             "fitted in one step on the same features, as the fine-tuning run does before any block "
                             "trains, the head got 95%.")
    blocks[1]["val_accuracy"] = 0.96
    assert takeaway({"head": epochs((0.93, 4)), "blocks": blocks, "scratch": epochs((0.60, 60))}).startswith(
        "The pretrained model (last 2 blocks) reached 96% in 30 s")
