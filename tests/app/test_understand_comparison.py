"""Step 8, Understand, beyond its views: the comparison's bookkeeping (three runs through the queue, the takeaway),
presenter mode, and the heat maps the step adds to Results and Try it."""
from __future__ import annotations

import json

import pytest
from apphelpers import REPO, answer, html, jpeg_bytes, open_page, texts

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the views run in the test process (conftest.py)


# ---------------------------------------------------------------- the comparison: three arms through the queue

@pytest.fixture
def comparison_home(trained, home, monkeypatch):
    """A fresh home holding the trained picture run (linked in), where starting a run only creates it."""
    import tl_core.runs

    (home / "runs").mkdir()
    (home / "runs" / trained["run"]).symlink_to(trained["home"] / "runs" / trained["run"])
    monkeypatch.setattr(tl_core.runs, "start_run", tl_core.runs.create_run)  # queued, no worker
    return home


def finish(run, accuracies: list[float], seconds: float) -> None:
    """Write what a worker would have: epoch events and a finished status."""
    events = [{"event": "started", "unfreeze": run.config.unfreeze}]
    events += [{"event": "epoch", "epoch": i + 1, "val_accuracy": a, "elapsed_s": seconds * (i + 1), "train_loss": 1,
                "val_loss": 1} for i, a in enumerate(accuracies)]
    events.append({"event": "finished", "best_val_accuracy": max(accuracies)})
    (run.dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    status = json.loads((run.dir / "status.json").read_text())
    (run.dir / "status.json").write_text(json.dumps({**status, "state": "finished"}))


def test_the_comparison_starts_three_arms_and_states_the_takeaway(app, trained, comparison_home):
    from tl_core.explain import HOW_TO_READ, experiment_runs

    at = open_page(app, "understand", run=trained["run"])
    at.number_input(key="experiment_epochs").set_value(2)  # changed and clicked in one go
    at = at.button(key="start_experiment").click().run()
    assert not at.exception
    (experiment_id,) = {json.loads((p / "config.json").read_text())["extra"].get("experiment")
                        for p in (comparison_home / "runs").iterdir() if p.name != trained["run"]}
    arms = experiment_runs(experiment_id)
    assert set(arms) == {"scratch", "head", "blocks"}
    configs = {arm: run.config for arm, run in arms.items()}
    assert {c.epochs for c in configs.values()} == {2}
    assert (configs["scratch"].from_scratch, configs["head"].unfreeze, configs["blocks"].unfreeze) == (True, 0, 2)
    assert {c.data for c in configs.values()} == {str(trained["data"])}
    assert configs["blocks"].name == "Pretrained, last 2 blocks · Comparison"  # a narrow column shows the arm
    said = texts(at)
    assert "**From scratch:** waiting for its turn" in said
    assert "No run has finished an epoch yet" in said and HOW_TO_READ["experiment"] in said
    assert "The same for all three" in said and "at most 2 epochs or 1 min each" in said
    assert "the whole comparison takes at most about 3 min (each run stops at the budget below)" in said  # it
    # said "a couple of minutes" of a comparison that took 27 s
    created = sorted(arms, key=lambda arm: arms[arm].created())
    assert created == ["head", "blocks", "scratch"]  # the queue's order: pretrained first
    assert "measured on only 20 validation examples, so each one is worth 5 points" in said
    assert at.button(key="start_experiment").disabled  # one comparison at a time
    assert len(at.get("plotly_chart")) == 1

    finish(arms["scratch"], [0.5, 0.6], 40)
    finish(arms["head"], [0.85, 0.9], 3)
    finish(arms["blocks"], [0.8, 0.95], 10)
    at.run()
    said = texts(at)
    assert "**From scratch:** finished, best 60%" in said
    assert "**Pretrained, last 2 blocks:** finished, best 95%" in said
    assert ("The pretrained model (last 2 blocks) reached 95% in 20 s; from scratch reached 60% after 1 min 20 s. "
            "Transfer learning helps here: 35 points more accuracy") in said
    assert at.button(key="start_experiment").label == "Run the comparison again"
    assert not at.button(key="start_experiment").disabled

    # Found again by a new session (a reload) on any run of the same data, and on the arms themselves.
    from streamlit.testing.v1 import AppTest

    again = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "understand",
                      run=arms["head"].id)
    assert "Transfer learning helps here" in texts(again)


# ---------------------------------------------------------------- presenter mode

def test_presenter_mode_is_kept_in_the_url_and_hides_advanced_controls(trained_app, trained_home):
    at = open_page(trained_app, "understand", run=trained_home["run"])
    assert "present" not in at.query_params and "font-size: 20px" not in html(at)
    at.sidebar.toggle(key="present").set_value(True).run()
    assert not at.exception
    assert at.query_params["present"] == "1"
    assert "html {font-size: 20px;}" in html(at)
    assert ':has(.st-key-lr) {display: none;}' in html(at)  # the Train step's Advanced settings
    assert "experiment_epochs" not in [n.key for n in at.number_input]
    at.switch_page("pages/5_results.py").run()  # the step links leave it out of the URL; it stays on
    assert at.sidebar.toggle(key="present").value is True and "font-size: 20px" in html(at)
    assert at.run().query_params["present"] == "1"
    at.sidebar.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params and "font-size: 20px" not in html(at)


def test_presenter_mode_from_a_shared_link_survives_starting_a_project(app):
    app.query_params["present"] = "1"
    at = app.run()
    assert at.sidebar.toggle(key="present").value is True
    at.button(key="start_image").click().run()  # starting a project clears the URL
    assert not at.exception
    assert at.title[0].value == "Choose a model"
    assert at.query_params["present"] == "1" and at.query_params["project"]


# ---------------------------------------------------------------- heat maps on Results and Try it

def test_try_it_shows_where_the_model_looked(trained_app, trained_home):
    from tl_core.explain import HOW_TO_READ

    at = open_page(trained_app, "try", run=trained_home["run"])
    at.file_uploader(key="try_upload").set_value(("bee.jpg", jpeg_bytes("bees", 3), "image/jpeg")).run()
    assert len(at.image) == 1
    at.toggle(key="try_cam").set_value(True).run()
    assert not at.exception
    assert len(at.image) == 2
    said = texts(at)
    predicted = answer(at)
    assert f"Evidence for **{predicted}**:" in [c.value for c in at.caption]
    assert HOW_TO_READ["gradcam"] in said


def test_results_mistakes_can_show_heat_maps(trained_app, trained_home):
    from tl_core.runs import get_run

    mistakes = get_run(trained_home["run"]).metrics()["mistakes"]
    at = open_page(trained_app, "results", run=trained_home["run"])
    if not mistakes:
        pytest.skip("the tiny run made no mistakes")
    pictures = len(at.image)
    at.toggle(key="mistake_cams").set_value(True).run()
    assert not at.exception
    captions = [t.value for t in at.text]
    right = [c for c in captions if c.split("\n")[0][6:] == c.split("\n")[1][11:]]  # "true: X\npredicted: X"
    assert right, "no picture it got right is shown next to the mistakes"
    assert len(at.image) == pictures + len(right) and pictures == len(mistakes[:40])
    assert "The picture is lit where the model found evidence" in texts(at)
    assert "where the model looked:" in html(at) and "linear-gradient" in html(at)
    assert captions[0].startswith(f"true: {mistakes[0]['true']}\npredicted:")


def test_chosen_examples_include_right_answers_when_there_are_some():
    """Picked from the validation examples: a few mistakes, and right answers next to them, every class shown.
    The earlier choice took the examples after the mistakes in file order, which here are mistakes too."""
    from types import SimpleNamespace

    from pages.common.understand import pick_examples

    examples = [SimpleNamespace(name=f"{label}{i}", label=label) for label in ("ants", "bees") for i in range(5)]
    wrong = ["ants0", "ants1", "bees0", "bees1"]  # the first two of each class, in file order
    mistakes = [{"name": n} for n in wrong]
    picked = pick_examples(examples, mistakes, 4, key=lambda e: e.name)
    names = [e.name for e in picked]
    assert len(names) == 4 and {e.label for e in picked} == {"ants", "bees"}
    assert sum(n in wrong for n in names) == 2 and sum(n not in wrong for n in names) == 2
    everything_wrong = [{"name": e.name} for e in examples]
    assert len(pick_examples(examples, everything_wrong, 4, key=lambda e: e.name)) == 4  # none right: still four
