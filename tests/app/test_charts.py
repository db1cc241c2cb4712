"""The Train page's loss and accuracy chart (`charts.curves`): what it marks for the person reading it."""
from __future__ import annotations

from pages.common import charts

HEAD_FIT = {"train_loss": 0.015, "val_loss": 1.07, "val_accuracy": 0.7}


def fine_tuning_events(head_fit: dict | None) -> list[dict]:
    """Two epochs of four steps as a run's events.jsonl holds them (numbers from the issue's 2-block run)."""
    started = {"event": "started", "epochs": 2, "steps": 8, **({"head_fit": head_fit} if head_fit else {})}
    evs = [started]
    for step in range(1, 9):
        evs.append({"event": "progress", "step": step, "steps": 8, "epoch": (step + 3) // 4, "loss": 0.016})
        if step % 4 == 0:
            evs.append({"event": "epoch", "epoch": step // 4, "train_loss": 0.016, "val_loss": 1.2 + step / 40,
                        "val_accuracy": 0.72})
    return evs


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


def test_the_head_fitting_phase_is_marked_where_fine_tuning_starts():
    fig = charts.curves(fine_tuning_events(HEAD_FIT), "run-1")
    bands = [s for s in fig.layout.shapes if s.name == charts.HEAD_FIT_MARK]
    start = -charts.HEAD_FIT_WIDTH
    assert {(s.x0, s.x1, s.xref) for s in bands} == {(start, 0, "x"), (start, 0, "x2")}  # on both charts
    assert [a.text for a in fig.layout.annotations].count(charts.HEAD_FIT_MARK) == 2
    assert fig.layout.xaxis.range[0] == -charts.HEAD_FIT_WIDTH
    # the per-epoch lines start at epoch 0 from the fitted head's scores
    train = trace(fig, "training loss (per epoch)")
    assert list(train.x) == [0, 1, 2] and train.y[0] == 0.015
    assert (trace(fig, "validation loss").y[0], trace(fig, "validation accuracy").y[0]) == (1.07, 70.0)
    note = charts.curves_note(fine_tuning_events(HEAD_FIT))
    assert "the new head was fitted" in note and "0.015" in note and "1.07" in note and "70%" in note
    assert charts.HEAD_TRAINED_ALONE not in note
    alone = charts.curves_note(fine_tuning_events({**HEAD_FIT, "trained_alone": True}))
    assert alone.endswith(charts.HEAD_TRAINED_ALONE) and "70%" in alone
    # A fine-tuning epoch that ties epoch 0 is kept (trainer.py; ag_news headlines: epoch 2 at 86.4 % as epoch 0, the
    # run kept epoch 2), so the note must not promise epoch 0 "unless a fine-tuning epoch beats it".
    assert "only if every fine-tuning epoch scores below it" in charts.HEAD_TRAINED_ALONE


def test_runs_without_a_fitted_head_have_no_band():
    fig = charts.curves(fine_tuning_events(None), "run-2")
    assert not [s for s in fig.layout.shapes if s.name == charts.HEAD_FIT_MARK]
    assert list(trace(fig, "training loss (per epoch)").x) == [1, 2] and fig.layout.xaxis.range[0] == 0
    assert charts.curves_note(fine_tuning_events(None)) == ""


def test_the_runs_comparison_spans_the_epochs_drawn():
    """All runs: a run of epochs 0 (its fitted head) and 1 was drawn on an axis from -1, Plotly's own padding."""
    fig = charts.compare({"fine-tuned": [(0, 0.7), (1, 0.8)], "head only": [(1, 0.75)]})
    assert fig.layout.xaxis.range == (-charts.EDGE, 1 + charts.EDGE) and fig.layout.xaxis.dtick == 1
    assert fig.layout.xaxis.title.text == charts.EPOCH_AXIS
    long = charts.compare({"long": [(e, 0.5) for e in range(1, 41)]})
    assert long.layout.xaxis.range == (1 - charts.EDGE, 40 + charts.EDGE) and long.layout.xaxis.dtick is None


def test_the_learning_curve_counts_unequal_classes_as_its_sentence_does():
    """SMS texts, 36 spam among 240: the axis read "per class" up to 120 beside "all 240 examples (36 of the
    smallest class)"."""
    from pages.common.understand_charts import learning_curve_figure

    points = [{"fraction": f, "examples_per_class": n // 2, "fewest_per_class": n * 3 // 20, "train_examples": n,
               "val_examples": 60, "seed": 0, "val_accuracy": 0.9, "mode": "head"} for f, n in ((0.5, 120), (1.0, 240))]
    fig = learning_curve_figure(points, 0.97)
    assert fig.layout.xaxis.title.text == "training examples"
    assert [list(t.x) for t in fig.data] == [[120, 240], [120, 240], [240]]
