"""The learning curve: head-only points on cached frozen features, and a from-scratch smoke test."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from tl_core.config import RunConfig
from tl_core.explain import curve_axis, curve_summary, curve_verdict, learning_curve, stratified_subset, summarize


def test_ants_bees_curve_is_monotone_ish_and_fast_once_cached(hymenoptera, monkeypatch):
    points = learning_curve(hymenoptera)                                 # the one feature pass
    assert len(points) == 4 * 3 and {p["mode"] for p in points} == {"head"}
    assert [p["examples_per_class"] for p in points[::3]] == [12, 30, 61, 122]
    curve = {row["fraction"]: row["mean"] for row in summarize(points)}
    assert curve[1.0] >= curve[0.1] - 0.03, curve                        # measured 0.93 at 10 %, 0.93 at 100 %
    assert min(p["val_accuracy"] for p in points) > 0.8

    import tl_core.features

    def no_forward(*args, **kwargs):
        raise AssertionError("the frozen network ran again: features were not cached")

    monkeypatch.setattr(tl_core.features, "run_frozen", no_forward)
    started = time.time()
    again = learning_curve(hymenoptera)
    assert time.time() - started < 30                                    # ~8 s on a busy 2-core machine
    assert again == points                                               # same shares, same fits


def test_stratified_subset_keeps_class_shares():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 2)
    rows = stratified_subset(labels, 0.1, seed=0)
    assert torch.bincount(labels[rows]).tolist() == [5, 3, 1]            # at least one of every class
    assert rows.tolist() == sorted(set(rows.tolist()))
    assert torch.equal(rows, stratified_subset(labels, 0.1, seed=0))
    assert not torch.equal(rows, stratified_subset(labels, 0.1, seed=1))
    assert len(stratified_subset(labels, 1.0, seed=3)) == len(labels)


def test_scratch_points_train_through_the_engine_loop(yelp_subset, tmp_path):
    small = tmp_path / "yelp_small.txt"
    small.write_text("\n".join(yelp_subset.read_text().splitlines()[:60]) + "\n")
    seen = []
    points = learning_curve(small, fractions=(0.5,), seeds=(0,), include_scratch=True, scratch_epochs=1,
                            on_point=seen.append)
    assert [p["mode"] for p in points] == ["head", "scratch"] and seen == points
    assert all(0 <= p["val_accuracy"] <= 1 for p in points)


def test_fractions_are_checked(hymenoptera):
    with pytest.raises(ValueError, match="fraction"):
        learning_curve(hymenoptera, fractions=(0.0, 1.0))


def curve(means: dict[int, list[float]], val_examples: int) -> list[dict]:
    """Head-only points as learning_curve gives them: {examples per class: [accuracy per seed]}."""
    return [{"fraction": per / max(means), "examples_per_class": per, "train_examples": 2 * per,
             "val_examples": val_examples, "seed": seed, "val_accuracy": a, "mode": "head"}
            for per, accs in means.items() for seed, a in enumerate(accs)]


def test_a_flat_line_at_60_percent_on_30_examples_is_not_a_ceiling():
    """What a person saw: 60 % at all 24 per class, 59 % the step before, on 30 validation photos."""
    points = curve({2: [0.4, 0.47, 0.43], 6: [0.5, 0.53, 0.57], 12: [0.6, 0.57, 0.6], 24: [0.6, 0.6, 0.6]}, 30)
    found = curve_verdict(points)
    assert found["verdict"] == "unclear" and 0.15 < found["spread"] < 0.2
    said = curve_summary(points)
    low, high = summarize(points)[-1]["low"], summarize(points)[-1]["high"]  # the error bar's ends, as drawn
    assert f"with all 24 examples per class, 60% (likely between {low:.0%} and {high:.0%}: 30 validation" in said
    assert "added 1 point, within half that range, and at 60% it is not high yet, so the curve" in said
    assert "would add little" not in said
    assert summarize(points)[-1]["low"] < 0.45 < 0.7 < summarize(points)[-1]["high"]  # the error bar


def test_flat_and_high_says_more_would_add_little_and_a_clear_rise_says_it_would_help():
    flat = curve({12: [0.9, 0.93, 0.92], 30: [0.93, 0.94, 0.93], 61: [0.93, 0.93, 0.93], 122: [0.94, 0.94, 0.94]}, 153)
    assert curve_verdict(flat)["verdict"] == "flat"
    assert "more examples of the same kind would add little" in curve_summary(flat)
    rising = curve({10: [0.5, 0.52, 0.55], 50: [0.6, 0.62, 0.6], 100: [0.7, 0.72, 0.71], 200: [0.85, 0.86, 0.85]}, 400)
    assert curve_verdict(rising)["verdict"] == "rising"
    assert "still rising, so more examples would probably help" in curve_summary(rising)
    same_rise_few = curve({10: [0.5, 0.52, 0.55], 50: [0.6, 0.62, 0.6], 100: [0.7, 0.72, 0.71], 200: [0.78, 0.8, 0.8]},
                          20)
    assert curve_verdict(same_rise_few)["verdict"] == "unclear"          # +9 points is within 20 examples' spread
    high_but_noisy = curve({5: [0.8, 0.85, 0.9], 10: [0.95, 0.95, 0.95], 20: [0.95, 0.95, 0.95]}, 20)
    assert curve_verdict(high_but_noisy)["verdict"] == "flat"             # high, and no change at all


def test_a_last_step_of_11_points_within_the_noise_is_not_called_flat():
    """On 18 spam texts the curve read 80, 76, 83 and 94 % and was said to have "changed by 11 points, within half
    that range, and it is already high: more examples of the same kind would add little"."""
    points = curve({4: [0.8, 0.8, 0.8], 10: [0.76, 0.76, 0.76], 20: [0.83, 0.83, 0.83], 40: [0.94, 0.94, 0.94]}, 18)
    assert curve_verdict(points)["verdict"] == "unclear"
    said = curve_summary(points)
    assert "Going from 20 to 40 per class added 11 points, within half that range, so the curve cannot tell" in said
    assert "would add little" not in said and "not high yet" not in said


def test_classes_of_unequal_size_are_counted_as_they_are(tmp_path):
    """SMS texts, 36 ham and 8 spam to train on, were said to be "all 22 per class"."""
    rows = [line for line in (Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "sentences" /
                              "sms_spam.tsv").read_text().splitlines()]
    table = tmp_path / "sms.tsv"
    table.write_text("\n".join([r for r in rows if r.endswith("\tham")][:45] + [r for r in rows
                                                                               if r.endswith("\tspam")][:10]))
    points = learning_curve(table, fractions=(0.5, 1.0), seeds=(0,))
    last = summarize(points)[-1]
    assert last["fewest_per_class"] < last["examples_per_class"] / 2
    said = curve_summary(points)
    assert f"with all {last['train_examples']} examples ({last['fewest_per_class']} of the smallest class)," in said
    assert f"from {summarize(points)[0]['train_examples']} to {last['train_examples']} examples" in said
    assert curve_axis(points) == ("train_examples", "training examples")  # the chart counts them as the words do
    assert curve_axis(curve({2: [0.5], 24: [0.6]}, 30)) == ("examples_per_class", "training examples per class")


def test_the_run_s_own_accuracy_is_named_with_why_it_differs():
    points = curve({2: [0.4, 0.47, 0.43], 24: [0.6, 0.6, 0.6]}, 30)
    said = curve_summary(points, 0.67, RunConfig(data="x"))
    assert "Your run itself got 67% on the same 30 validation examples: it trained its head step by step" in said
    assert "kept its best epoch" in said
    assert "also fine-tuned its last 2 blocks" in curve_summary(points, 0.67, RunConfig(data="x", unfreeze=2))
    assert "also fine-tuned its last block and" in curve_summary(points, 0.67, RunConfig(data="x", unfreeze=1))


def test_a_real_small_run_and_its_curve_agree_on_their_examples(yelp_run):
    """The head-only Yelp run (60 validation sentences): the curve measures on the run's own validation examples,
    its spread is as wide as 60 examples make it, and its conclusion never claims a ceiling below HIGH."""
    config = yelp_run.config
    points = learning_curve(config.data, model=config.model, val_split=config.val_split, split_seed=config.seed)
    metrics = yelp_run.metrics()
    assert {p["val_examples"] for p in points} == {metrics["examples"]} == {60}
    last = summarize(points)[-1]
    assert 0.14 < last["high"] - last["low"] < 0.3                        # about +-9 points around 80-90 %
    found = curve_verdict(points)
    said = curve_summary(points, metrics["accuracy"], config)
    assert found["verdict"] != "flat" or found["last"]["mean"] >= 0.9
    assert ("would add little" in said) == (found["verdict"] == "flat")
    assert f"Your run itself got {metrics['accuracy']:.0%} on the same 60 validation examples" in said


def test_a_table_is_read_with_the_runs_own_columns(tmp_path):
    """The curve reads the label column the run chose, not the one a guess takes: here 4 topics, not 2 classes."""
    lines = (Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "sentences" / "ag_news.tsv"
             ).read_text().splitlines()
    topics = sorted({line.split("\t")[1] for line in lines})
    picked: list[list[str]] = []
    for topic in topics:  # 20 news items of each topic
        picked += [line.split("\t") for line in lines if line.endswith("\t" + topic)][:20]
    table = tmp_path / "news.tsv"
    table.write_text("text\tlabel\ttopic\n" + "\n".join(f"{text}\t{('odd', 'even')[i % 2]}\t{topic}"
                                                         for i, (text, topic) in enumerate(picked)))
    guessed = learning_curve(table, fractions=(1.0,), seeds=(0,))
    chosen = learning_curve(table, fractions=(1.0,), seeds=(0,), label_column="topic",
                            label_names={"world": "world news"})
    assert guessed[0]["examples_per_class"] == 2 * chosen[0]["examples_per_class"]  # 2 classes, then 4
