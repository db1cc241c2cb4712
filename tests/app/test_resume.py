"""Keep training a run: "Train N more epochs" on the Train page, the link on All runs, one continued curve."""
import json
import shutil

from apphelpers import copy_run, open_page, texts

from pages.common import charts


def test_train_more_epochs_starts_a_continuation_linked_to_the_run(trained_app, trained_home, monkeypatch):
    import tl_core.runs as runs

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker process: the run stays queued
    earlier = trained_home["run"]
    at = open_page(trained_app, "train", run=earlier)
    assert at.number_input(key=f"more_epochs_{earlier}").value == 5
    assert at.button(key=f"continue_{earlier}").label == "Train 5 more epochs"
    at.number_input(key=f"more_epochs_{earlier}").set_value(3).run()
    at.button(key=f"continue_{earlier}").click().run()
    assert not at.exception and not at.error
    continuation = runs.get_run(at.query_params["run"])
    try:
        config = continuation.config
        assert (config.resume_from, config.epochs, config.name) == (earlier, 3, "tiny run, continued")
        assert config.data == str(trained_home["data"])
        assert "This run continues tiny run: it starts from that run's best model" in texts(at)

        at.switch_page("pages/7_runs.py").run()
        table = at.dataframe[0].value.set_index("run")
        assert table.loc[continuation.id, "continues"] == "tiny run" and table.loc[earlier, "continues"] == ""
    finally:
        shutil.rmtree(continuation.dir)  # the session's shared workspace keeps only its trained run


def test_the_live_loss_is_not_joined_across_epochs():
    """A fast head-only run logged two steps in 20 epochs; the line between them drew an even fall over all 20."""
    evs = [{"event": "started", "epochs": 20, "steps": 40},
           {"event": "progress", "step": 1, "steps": 40, "epoch": 1, "loss": 1.1},
           {"event": "progress", "step": 1.5, "steps": 40, "epoch": 1, "loss": 1.0},
           {"event": "progress", "step": 39, "steps": 40, "epoch": 20, "loss": 0.2}]
    live = next(t for t in charts.curves(evs, "run").data if t.name == "training loss (live)")
    assert list(live.x) == [0.5, 0.75, None, 19.5] and list(live.y) == [1.1, 1.0, None, 0.2]


def test_a_continuations_chart_runs_on_from_the_earlier_epochs():
    earlier = [{"event": "epoch", "epoch": n, "train_loss": 0.6 / n, "val_loss": 0.5 / n, "val_accuracy": 0.7 + n / 100}
               for n in (1, 2)]
    own = [{"event": "started", "epochs": 2, "steps": 4, "first_epoch": 3},
           {"event": "progress", "step": 1, "steps": 4, "epoch": 3, "loss": 0.2},
           {"event": "epoch", "epoch": 3, "train_loss": 0.2, "val_loss": 0.2, "val_accuracy": 0.74}]
    fig = charts.curves(own, "run-2", earlier)
    accuracy = next(t for t in fig.data if t.name == "validation accuracy")
    assert list(accuracy.x) == [1, 2, 3] and list(accuracy.y) == [71.0, 72.0, 74.0]  # one line
    assert next(t for t in fig.data if t.name == "training loss (live)").x == (2.5,)  # within epoch 3
    assert fig.layout.xaxis.range == (0, 4.2)  # the earlier 2 epochs and this run's 2
    assert [a.text for a in fig.layout.annotations].count(charts.CONTINUED_MARK) >= 1


def test_results_draw_a_continuation_on_from_the_earlier_epochs(app, home, trained):
    """Results drew a continued run's epochs 6 to 10 with nothing before them; the Train step drew one curve."""
    import tl_core

    earlier = copy_run(trained, home, "20990101-000000-0101")
    later = copy_run(trained, home, "20990101-000000-0102")  # ids of its own: the earlier epochs are cached per id
    config = home / "runs" / later / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "resume_from": earlier}))
    at = open_page(app, "results", run=later)
    assert not at.exception
    drawn = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    accuracy = next(t for t in drawn if t.get("name") == "validation accuracy")
    before = tl_core.earlier_epochs(tl_core.get_run(later))
    assert before and len(accuracy["x"]) == len(before) + len(tl_core.scored_epochs(tl_core.get_run(later)))


def test_train_more_says_which_epochs_it_leaves_behind(app, home, trained):
    """A run of 20 epochs whose best was epoch 5 continued from epoch 5, with nothing saying 6 to 20 were dropped."""
    import tl_core

    shown = copy_run(trained, home, "20990101-000000-0001")
    last = max(e["epoch"] for e in tl_core.scored_epochs(tl_core.get_run(shown)))
    said = (f"It carries on from epoch {last - 1}, this run's best: epoch {last}, which scored no better, is left "
            "behind.")
    at = open_page(app, "train", run=shown)
    assert not at.exception and at.button(key=f"continue_{shown}") and said not in texts(at)  # its best is its last
    stored = home / "runs" / shown / "metrics.json"
    stored.write_text(json.dumps({**json.loads(stored.read_text()), "best_epoch": last - 1}))
    at = open_page(app, "train", run=shown)
    assert not at.exception and said in texts(at)
