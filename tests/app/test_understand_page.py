"""Step 8, Understand: its views on a real picture run, and the weighted words of a text run. The comparison's
bookkeeping, presenter mode and the heat maps on Results and Try it: test_understand_comparison.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from apphelpers import REPO, YELP, html, open_page, texts

UNDERSTAND = "pages/8_understand.py"

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the views run in the test process (conftest.py)


# ---------------------------------------------------------------- without a run

def test_without_a_trained_model_the_page_points_to_training(app):
    at = open_page(app, "understand")
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
    at = open_page(trained_app, "understand", run=run)
    assert not at.exception
    assert [h.value for h in at.header] == ["Does transfer learning help here?", "Where the model looks",
                                            "Do the features already know?", "How much data do I need?",
                                            "What each layer learned"]
    assert at.selectbox[0].value == run
    assert at.button(key="start_experiment").label == "Compare the three starting points"
    assert at.number_input(key="experiment_epochs").value == 3
    assert not at.get("plotly_chart") and not at.image  # heavy views wait for their buttons

    at = at.button(key=f"show_cams_{run}").click().run()
    assert not at.exception
    said = texts(at)
    cards = [m.value for m in at.markdown if m.value.startswith("True class:")]
    assert len(cards) == 4 and all("The model said:" in c for c in cards)
    assert "right" in " ".join(cards) and "wrong" in " ".join(cards)  # the mistakes come first, then correct ones
    wrong = sum(":red[" in c for c in cards)
    assert len(at.image) == 2 * 4 + wrong  # picture + its answer's map, + the right answer's map when wrong
    assert HOW_TO_READ["gradcam"] in said and HOW_TO_READ["gradcam_true"] in said
    assert "where the model looked:" in html(at)                        # the colour scale under the maps

    at = at.button(key=f"show_features_{run}").click().run()
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

    at = at.button(key=f"show_curve_{run}").click().run()
    assert not at.exception
    said = texts(at)
    assert len(at.get("plotly_chart")) == 2
    assert "With 1 example per class the new head gets" in said and "with all 10 examples per class," in said
    accuracy = get_run(run).metrics()["accuracy"]
    assert f"Your run itself got {accuracy:.0%} on the same 20 validation examples" in said
    curve = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    assert [t["name"] for t in curve] == ["one training (random share)", "average (bars: how far chance can move it)",
                                          "your run (its own training)"]
    assert curve[2]["y"] == [pytest.approx(100 * accuracy)] and len(curve[1]["error_y"]["array"]) == 4
    (sentence,) = [m.value for m in at.markdown if m.value.startswith("With 1 example")]
    assert "would add little" not in sentence or "already high" in sentence  # 20 examples: never from noise
    assert HOW_TO_READ["learning_curve"] in said


def test_the_views_are_cached_per_run(trained_home, monkeypatch):
    from pages.common import understand
    from tl_core import explain
    from tl_core.runs import get_run

    run = get_run(trained_home["run"])
    first, message = understand.learning_curve(run)
    monkeypatch.setattr(explain, "learning_curve", lambda *a, **k: pytest.fail("measured again, not cached"))
    again, _ = understand.learning_curve(run)
    assert message is None and again == first
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
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=120), "understand", run=run)
    assert not at.exception
    at = at.button(key=f"show_words_{run}").click().run()
    assert not at.exception
    body = html(at)
    assert body.count('<div class="tl-words">') == 4 and body.count('class="tl-w"') > 20
    assert "hardly counted" in body and HOW_TO_READ["tokens"] in texts(at)

    hostile = 'The <b>soup</b> was "great" & <script>alert(1)</script> cheap'
    at.text_input(key="understand_text").input(hostile)
    at = at.button(key="FormSubmitter:understand_words-Weigh the words").click().run()
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


def test_an_unchanged_after_map_says_so_rather_than_repeating_itself():
    from pages.common.understand import after_words

    said = "The classes partly separate: sorting by the nearest class centre gets 92% right."
    assert after_words({"before": {"summary": said}, "after": {"summary": said}}).startswith("the same: fine-tuning")
    moved = said.replace("92%", "96%")
    assert after_words({"before": {"summary": said}, "after": {"summary": moved}}) == moved
