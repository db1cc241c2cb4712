"""Step 2: the automatic choice first (the default), with the models ranked for the data; then model cards from the
catalogue, picked with a warning when they need a download."""
import json
import re

import pytest

from apphelpers import add_photos, make_project, open_page, texts


def test_image_cards_come_from_the_catalogue_with_the_default_selected(app, home):
    from tl_core.models.catalog import catalog

    project = make_project(home, "image")
    at = open_page(app, "model", project=project["id"])
    assert not at.exception
    pick_buttons = [b for b in at.button if b.key and b.key.startswith("pick_")]
    assert pick_buttons[0].key == "pick_auto" and pick_buttons[0].label == "Use the automatic choice"
    assert sorted(b.key for b in pick_buttons[1:]) == sorted(f"pick_{m.name}" for m in catalog("image"))
    selected = at.button(key="pick_efficientnet_lite0")
    assert selected.label == "Selected" and selected.disabled
    page = texts(at)
    assert "EfficientNet-Lite0" in page and "Learned from:" in page and "18 MB" in page
    assert "available offline" in page and "needs a one-time download of 47 MB" in page


def test_picking_a_model_that_needs_a_download_warns(app, home):
    project = make_project(home, "image")
    at = open_page(app, "model", project=project["id"])
    at.button(key="pick_resnet18").click().run()
    assert not at.exception
    saved = json.loads((home / "projects" / project["id"] / "project.json").read_text())
    assert saved["model"] == "resnet18"
    assert at.button(key="pick_resnet18").label == "Selected"
    assert any("is not on this computer yet" in w.value for w in at.warning)


def test_text_project_shows_text_models(app, home):
    project = make_project(home, "text")
    at = open_page(app, "model", project=project["id"])
    assert at.button(key="pick_all-MiniLM-L6-v2").label == "Selected"
    assert not [b for b in at.button if b.key == "pick_resnet18"]


def test_an_unavailable_text_model_gives_a_sentence_on_the_train_step(app, home):
    project = make_project(home, "text", model="bert-base", source="typed",
                           classes=[{"uid": "t1", "name": "happy"}, {"uid": "t2", "name": "sad"}],
                           typed={"happy": "good\nnice\ngreat", "sad": "bad\nawful\nsad"})
    typed = home / "projects" / project["id"] / "typed.tsv"
    typed.write_text("text\tlabel\ngood\thappy\nnice\thappy\ngreat\thappy\nbad\tsad\nawful\tsad\nsad\tsad\n")
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    assert "BERT-base is not on this computer yet" in texts(at) or "trainable:" in texts(at)


def test_each_embedded_models_card_counts_the_parameters_the_train_step_counts(app, home):
    """The card leads with the count of the network a new head sits on: the number the Train step shows."""
    from pages.common import engine
    from tl_core.models.catalog import default_model

    for kind in ("image", "text"):
        info = default_model(kind)
        layout, message = engine.layout(info.name, kind, 2)
        plan, message = engine.plan(layout, 0, False)
        at = open_page(app, "model", project=make_project(home, kind)["id"])
        card = texts(at)
        assert f"{plan.total / 1e6:.1f} million parameters" in card, kind
        assert f"of {plan.total / 1e6:.1f} M parameters" in plan.describe()
    assert "3.4 million parameters (4.7 million with ImageNet's 1,000-class output layer" in texts(
        open_page(app, "model", project=make_project(home, "image")["id"]))



def _card(at, name: str):
    """The block of one model's card on the Model step."""
    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(child, "key", None) == f"card_{name}":
                return child
            found = walk(child)
            if found is not None:
                return found
        return None

    return walk(at.main)


def test_the_embedded_lites_show_as_available_offline(app, home):
    """EfficientNet-Lite1 and -Lite2 ship with the install: their cards say so, and picking one warns of nothing."""
    project = make_project(home, "image")
    at = open_page(app, "model", project=project["id"])
    for name, title in (("efficientnet_lite1", "EfficientNet-Lite1"), ("efficientnet_lite2", "EfficientNet-Lite2")):
        card = " ".join(m.value for m in _card(at, name).markdown)
        assert f"#### {title}" in card and "available offline" in card and "one-time download" not in card
    at.button(key="pick_efficientnet_lite2").click().run()
    assert not at.exception and at.button(key="pick_efficientnet_lite2").label == "Selected"
    assert not [w for w in at.warning if "is not on this computer yet" in w.value]


def test_a_new_project_leaves_the_model_to_transferlab(app, home):
    """The Automatic card comes first and is chosen; with no data yet it says when the ranking will appear."""
    at = app.run()
    at.button(key="start_image").click().run()
    assert not at.exception and at.title[0].value == "Choose a model"
    saved = json.loads((home / "projects" / at.query_params["project"] / "project.json").read_text())
    assert saved["model"] == "auto"
    picks = [b for b in at.button if b.key and b.key.startswith("pick_")]
    assert picks[0].key == "pick_auto" and picks[0].label == "Selected" and picks[0].disabled
    assert all(b.label == "Use this model" for b in picks[1:])
    card = " ".join(m.value for m in _card(at, "auto").markdown)
    assert "#### Automatic (recommended)" in card and "picks the model that fits your data best" in card
    assert "Once you have added your data (step 3), the ranking of the models for your pictures appears here." \
        in texts(at) and "measures how well each model available offline tells" in texts(at)
    assert "rank_models" not in [b.key for b in at.button]


def test_a_text_project_is_not_promised_a_ranking_of_its_one_offline_model(app, home):
    at = app.run()
    at.button(key="start_text").click().run()
    assert not at.exception
    said = texts(at)
    assert "Once you have added your data (step 3), how well MiniLM-L6 (sentence encoder) tells your texts apart " \
           "appears here." in said and "ranking of the models" not in said
    assert "measures how well the one model available offline, MiniLM-L6 (sentence encoder), tells your texts" in said


def test_a_project_with_its_own_model_ranks_on_request(app, home):
    """With a model picked and data added, nothing starts by itself: the person asks for the ranking."""
    import tl_core
    from pages.common import ranking

    project = make_project(home, "image")
    add_photos(home, project, per_class=3)
    at = open_page(app, "model", project=project["id"])
    assert not at.exception
    assert at.button(key="rank_models").label == "Rank the models for my data"
    assert tl_core.ranking_status(ranking.config(project)) is None


def test_a_training_runs_ranking_gets_its_relatedness_when_the_page_opens(app, home):
    """A run with the automatic choice that ranked for itself (the CLI's) leaves out how related the data is: the
    Model page ranks again in the background to measure it, and draws the meter once it is there."""
    import time

    import tl_core
    from pages.common import ranking

    project = make_project(home, "image", model=tl_core.AUTO_MODEL, settings={})
    add_photos(home, project, per_class=3)
    config = ranking.config(project)
    tl_core.choose(config, on_cpu=True)  # what `transferlab train --model auto` does first
    assert not tl_core.ranking_status(config).whole
    at = open_page(app, "model", project=project["id"])
    assert not at.exception and tl_core.ranking_status(config).state == "running"
    assert "Comparing the models on a sample of your data" in texts(at)
    deadline = time.time() + 180
    while (found := tl_core.ranking_status(config)).state == "running" and time.time() < deadline:
        time.sleep(0.5)
    assert found.whole, found.message
    at = open_page(app, "model", project=project["id"])
    meter = at.get("progress")[-1].proto
    assert not at.exception and found.recommended.relatedness in re.sub(r"\\(.)", r"\1", meter.text)


def test_the_models_are_ranked_for_the_data_best_on_top(app, ranked_home):
    """Opened with data, the automatic choice ranked the models by itself; the chart, the meter and the reason
    agree with the ranking."""
    from pages.common import charts, ranking

    found = ranked_home["ranking"]
    assert "Comparing the models on a sample of your data" in ranked_home["opened"]  # started as the page opened
    at = open_page(app, "model", project=ranked_home["project"]["id"])
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = figure["data"][0]
    assert bars["y"] == [s.title for s in found.scores]
    assert [bars["base"] + x for x in bars["x"]] == pytest.approx([s.score for s in found.scores])
    assert len(bars["y"]) == 3 and bars["x"] == sorted(bars["x"], reverse=True)
    assert figure["layout"]["yaxis"]["autorange"] == "reversed"  # the first, best, on top
    title = next(s.title for s in found.scores if s.model == found.recommended.model)
    marked = [y for y, text in zip(bars["y"], bars["text"]) if charts.RECOMMENDED_MARK in text]
    assert marked == [title]
    page = texts(at)
    assert found.scored == found.of > 0  # fewer pictures than the ranking's sample: every one scored
    assert ranking.what_the_score_is(found, "image") in page and f"measured on all {found.of} of your pictures" in page
    why = found.recommended.why_model  # the words training's own choice uses (auto.decide)
    assert title in why and f"**Why:** {why} How many of its layers to fine-tune is proposed on step 4" in page
    assert found.recommended.why_blocks not in page  # the blocks are the Train step's
    meter = at.get("progress")[-1].proto  # the frame's step indicator comes first
    assert found.recommended.relatedness in re.sub(r"\\(.)", r"\1", meter.text)
    best_card = " ".join(m.value for m in _card(at, found.recommended.model).markdown)
    assert "Chosen for your data" in best_card
    assert at.button(key="pick_auto").label == "Selected"


def test_one_model_is_not_drawn_as_a_ranking(app, home):
    """Texts have one model offline: its bar alone ranked nothing, and its negative score (-0.43) drew as a long bar
    on an axis without 0. The reason says it is the one model available."""
    import tl_core
    from pages.common import ranking
    from tl_core.ranking import ranking_file
    from tl_core.select import relatedness_sentence
    from tl_core.workspace import write_json

    project = make_project(home, "text", model="auto", settings={}, source="typed",
                           classes=[{"uid": "t1", "name": "happy"}, {"uid": "t2", "name": "sad"}],
                           typed={"happy": "good\nnice\ngreat", "sad": "bad\nawful\nsad"})
    typed = home / "projects" / project["id"] / "typed.tsv"
    typed.write_text("text\tlabel\ngood\thappy\nnice\thappy\ngreat\thappy\nbad\tsad\nawful\tsad\nsad\tsad\n")
    (model,) = [m for m in tl_core.catalog("text") if m.available]
    why = f"{model.title} is the one model available for your data."
    write_json(ranking_file(ranking.config(project)), {  # as `tl_core.rank_into` leaves it
        "state": "done", "scores": [{"model": model.name, "title": model.title, "score": -0.43, "seconds": 1.0}],
        "recommended": {"model": model.name, "unfreeze": -1, "gap": 0.3,
                        "relatedness": relatedness_sentence(0.3, "text"), "reason": why, "why_model": why,
                        "why_blocks": "", "on_cpu": True}, "scored": 6, "of": 6})
    at = open_page(app, "model", project=project["id"])
    assert not at.exception and not at.get("plotly_chart")
    assert f"**Why:** {why}" in texts(at) and "What LogME" not in texts(at)


def test_a_ranking_with_every_model_scored_says_what_it_still_does(app, home):
    """Between the last model's score and the recommendation the best model's blocks and relatedness are measured:
    "3 of 3 scored so far" read as stuck, beside a caption saying all the pictures had been scored."""
    import os

    import tl_core
    from pages.common import ranking
    from tl_core.ranking import ranking_file
    from tl_core.workspace import write_json

    project = make_project(home, "image", model="auto", settings={})
    add_photos(home, project, per_class=3)
    models = [m for m in tl_core.catalog("image") if m.available]
    write_json(ranking_file(ranking.config(project)), {  # a live job (this process) with every score in
        "state": "running", "pid": os.getpid(), "started": 0, "scored": 6, "of": 6,
        "scores": [{"model": m.name, "title": m.title, "score": -0.1 * i, "seconds": 1.0}
                   for i, m in enumerate(models)]})
    at = open_page(app, "model", project=project["id"])
    assert not at.exception
    assert (f"all {len(models)} models scored, now measuring how close your data is to the best one. It runs in the "
            f"background") in texts(at) and "scored so far" not in texts(at)
