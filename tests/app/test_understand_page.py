"""Step 8, Understand: the four views on a real run, the comparison's bookkeeping, presenter mode,
and the heat maps added to Results and Try it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from apphelpers import REPO, YELP, jpeg_bytes, open_page, texts

UNDERSTAND = "pages/8_understand.py"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the views run in the test process (conftest.py)


def understand(at, **params):
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(UNDERSTAND)
    return at.run()


def click(at, key: str):
    at.button(key=key).click()
    return at.run()


def html(at) -> str:
    return "\n".join(h.proto.body for h in at.html)


# ---------------------------------------------------------------- without a run

def test_without_a_trained_model_the_page_points_to_training(app):
    at = understand(app)
    assert not at.exception
    assert "Why it works" in at.title[0].value
    assert "No trained model yet" in texts(at)
    assert "start_experiment" not in [b.key for b in at.button]
    assert at.get("progress")[0].proto.text.startswith("Step 8 of 8")


def test_the_page_runs_on_its_own_without_the_frame(trained_home):
    """A deep link right after the server starts may run the page file directly."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / UNDERSTAND), default_timeout=60)
    at.query_params["run"] = trained_home["run"]
    at.run()
    assert not at.exception
    assert at.get("progress") and at.header[0].value == "Does transfer learning help here?"


# ---------------------------------------------------------------- a picture run: the four views

def test_every_view_of_a_picture_run(trained_app, trained_home):
    from pages.common import understand as understand_views
    from tl_core.explain import HOW_TO_READ
    from tl_core.runs import get_run

    run = trained_home["run"]
    at = understand(trained_app, run=run)
    assert not at.exception
    assert [h.value for h in at.header] == ["Does transfer learning help here?", "Where the model looks",
                                            "Do the features already know?", "How much data do I need?",
                                            "What each layer learned"]
    assert at.selectbox[0].value == run
    assert at.button(key="start_experiment").label == "Compare the three starting points"
    assert at.number_input(key="experiment_epochs").value == 3
    assert not at.get("plotly_chart") and not at.image  # heavy views wait for their buttons

    at = click(at, f"show_cams_{run}")
    assert not at.exception
    said = texts(at)
    cards = [m.value for m in at.markdown if m.value.startswith("True class:")]
    assert len(cards) == 4 and all("The model said:" in c for c in cards)
    assert "right" in " ".join(cards) and "wrong" in " ".join(cards)  # the mistakes come first, then correct ones
    wrong = sum(":red[" in c for c in cards)
    assert len(at.image) == 2 * 4 + wrong  # picture + its answer's map, + the right answer's map when wrong
    assert HOW_TO_READ["gradcam"] in said and HOW_TO_READ["gradcam_true"] in said
    assert "where the model looked:" in html(at)                        # the colour scale under the maps

    at = click(at, f"show_features_{run}")
    assert not at.exception
    said = texts(at)
    assert len(at.get("plotly_chart")) == 1
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "xaxis2" not in figure["layout"]                              # head only: no "after" map beside it
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Before: the pretrained network"]
    maps, _ = understand_views.feature_maps(get_run(run))
    assert at.subheader[0].value == maps["before"]["headline"]          # the title follows the numbers
    assert f"**Before training:** {maps['before']['summary']}" in said and "**After training:**" not in said
    assert "(guessing would get 50%)" in said
    assert "There is no \"after\" map for this run: only the new head learned" in said
    assert HOW_TO_READ["feature_map"] in said and HOW_TO_READ["feature_map_before_after"] not in said

    at = click(at, f"show_curve_{run}")
    assert not at.exception
    said = texts(at)
    assert len(at.get("plotly_chart")) == 2
    assert "With 1 example per class the new head gets" in said and "with all 10," in said
    accuracy = get_run(run).metrics()["accuracy"]
    assert f"Your run itself got {accuracy:.0%} on the same 20 validation examples" in said
    curve = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    assert [t["name"] for t in curve] == ["one training (random share)", "average (bars: how far chance can move it)",
                                          "your run (its own training)"]
    assert curve[2]["y"] == [pytest.approx(100 * accuracy)] and len(curve[1]["error_y"]["array"]) == 4
    (sentence,) = [m.value for m in at.markdown if m.value.startswith("With 1 example")]
    assert "would add little" not in sentence or "already high" in sentence  # 20 examples: never from noise
    assert HOW_TO_READ["learning_curve"] in said


def test_the_views_are_cached_per_run(trained_home):
    from pages.common import understand
    from tl_core.runs import get_run

    run = get_run(trained_home["run"])
    first, message = understand.learning_curve(run)
    started = time.time()
    again, _ = understand.learning_curve(run)
    assert message is None and again == first and time.time() - started < 1
    assert [p["seed"] for p in first[:3]] == [0, 1, 2] and {p["mode"] for p in first} == {"head"}
    maps, message = understand.feature_maps(run)
    assert message is None and maps["after"] is None                # head only: the features did not move


# ---------------------------------------------------------------- a text run: weighted words

@pytest.fixture(scope="module")
def text_home(tmp_path_factory, train_run) -> Path:
    """Its own home with one head-only MiniLM run on 200 Yelp sentences (the picture home stays as it is)."""
    from tl_core.config import RunConfig

    base = tmp_path_factory.mktemp("text-run")
    data = base / "yelp200.txt"
    data.write_text("\n".join(YELP.read_text().splitlines()[:200]) + "\n")
    home = base / "home"
    train_run(home, RunConfig(data=str(data), epochs=2, name="yelp words"))
    return home


def test_a_text_run_highlights_words_and_escapes_them(text_home, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from tl_core.explain import HOW_TO_READ

    monkeypatch.setenv("TRANSFERLAB_HOME", str(text_home))
    run = next((text_home / "runs").iterdir()).name
    at = understand(AppTest.from_file(str(REPO / "app.py"), default_timeout=120), run=run)
    assert not at.exception
    at = click(at, f"show_words_{run}")
    assert not at.exception
    body = html(at)
    assert body.count('<div class="tl-words">') == 4 and body.count('class="tl-w"') > 20
    assert "hardly counted" in body and HOW_TO_READ["tokens"] in texts(at)

    hostile = 'The <b>soup</b> was "great" & <script>alert(1)</script> cheap'
    at.text_input(key="understand_text").input(hostile)
    at = click(at, "FormSubmitter:understand_words-Weigh the words")
    assert not at.exception
    mine = at.html[-2].proto.body
    assert "<script" not in mine and "<b>" not in mine and "</b>" not in mine
    assert ">&lt;</span>" in mine and ">&gt;</span>" in mine and ">&amp;</span>" in mine and "&quot;" in mine
    assert "The model says" in texts(at)


def test_words_html_keeps_the_text_and_escapes_every_piece():
    from pages.common.word_weights import words_html

    text = "Not <i>bad</i>,  really & truly"
    out = words_html(text, [("Not", 1.0), ("<i>bad</i>", 0.5), (",", 0.0), ("really", 0.2), ("&", 0.0),
                            ("truly", 0.9), ("missing", 0.3)])
    assert "<i>" not in out and "&lt;i&gt;bad&lt;/i&gt;" in out
    assert ",</span>  <span" in out  # the spacing between words is the text's own
    assert 'rgba(249, 115, 22, 0.90)" title="weight 100%">Not</span>' in out
    assert 'rgba(249, 115, 22, 0.06)" title="weight 0%">,</span>' in out
    assert out.count('class="tl-w"') == 7


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

    at = understand(app, run=trained["run"])
    at.number_input(key="experiment_epochs").set_value(2)  # changed and clicked in one go
    at = click(at, "start_experiment")
    assert not at.exception
    (experiment_id,) = {json.loads((p / "config.json").read_text())["extra"].get("experiment")
                        for p in (comparison_home / "runs").iterdir() if p.name != trained["run"]}
    arms = experiment_runs(experiment_id)
    assert set(arms) == {"scratch", "head", "blocks"}
    configs = {arm: run.config for arm, run in arms.items()}
    assert {c.epochs for c in configs.values()} == {2}
    assert (configs["scratch"].from_scratch, configs["head"].unfreeze, configs["blocks"].unfreeze) == (True, 0, 2)
    assert {c.data for c in configs.values()} == {str(trained["data"])}
    assert configs["blocks"].name == "Comparison · Pretrained, last 2 blocks"
    said = texts(at)
    assert "**From scratch:** waiting for its turn" in said
    assert "No run has finished an epoch yet" in said and HOW_TO_READ["experiment"] in said
    assert "The same for all three" in said and "at most 2 epochs or 1 min each" in said
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

    again = understand(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), run=arms["head"].id)
    assert "Transfer learning helps here" in texts(again)


# ---------------------------------------------------------------- presenter mode

def test_presenter_mode_is_kept_in_the_url_and_hides_advanced_controls(trained_app, trained_home):
    at = understand(trained_app, run=trained_home["run"])
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
    predicted = [m.value for m in at.markdown if m.value.startswith("### The model says:")][0].split(": ")[-1]
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
