"""Odd settings and damaged run folders through the app: the engine's sentence reaches the page, nothing is lost.

Settings the form cannot produce (a CLI config, an old run) and run folders a full disk cut short; the uploads'
side is tests/app/test_bad_input.py.
"""
from __future__ import annotations

import pytest
from apphelpers import add_photos, errors, folder, make_project, open_page, plain


# ---------------------------------------------------------------- settings

@pytest.fixture
def train_page(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)  # 12 photos: fewer than any batch size offered but 8
    return open_page(app, "train", project=project["id"]), project


def test_settings_widgets_only_offer_values_the_engine_accepts(train_page):
    at, _ = train_page
    plain(at)
    epochs = at.number_input(key="epochs")
    assert (epochs.min, epochs.max, epochs.value) == (0, 1000, 0) and "0 = automatic" in epochs.label
    lr = at.selectbox(key="lr")
    assert lr.options[0] == "automatic" and lr.value == 0.0  # 0 means "pick for me", never a zero step
    assert all(0 < float(v) <= 0.1 for v in lr.options[1:])
    assert at.selectbox(key="batch").options == ["automatic", "8", "16", "32", "64", "128"]
    assert at.selectbox(key="batch").value == 0
    slider = at.select_slider(key="unfreeze")
    assert slider.options[0] == "0: only the new head" and slider.options[-1] == "8: all blocks"
    assert len(slider.options) == 9  # the default model has 8 blocks: nothing beyond them is offered
    assert at.slider(key="val_percent").min == 10 and at.slider(key="val_percent").max == 50


def test_unfreeze_beyond_the_block_count_means_all_blocks(train_page):
    """The slider stops at the block count; a larger number (a CLI config) counts as all blocks."""
    from pages.common import engine

    at, _ = train_page
    at.select_slider(key="unfreeze").set_value(8).run()
    assert "All blocks are fine-tuned" in plain(at)
    layout, message = engine.layout("efficientnet_lite0", "image", 2)
    plan, message = engine.plan(layout, 99, False)
    assert message is None and plan.unfreeze == 8 and plan.first_trainable == 0


def test_zero_epochs_automatic_rate_and_a_batch_larger_than_the_data_start_a_run(train_page, monkeypatch):
    import tl_core.runs as runs
    from tl_core.config import check_settings

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker: the settings are what is checked
    at, _ = train_page
    at.number_input(key="epochs").set_value(0).run()
    at.selectbox(key="batch").set_value(128).run()
    at.button(key="start_training").click().run()
    plain(at)
    config = runs.get_run(at.query_params["run"]).config
    assert (config.epochs, config.lr, config.batch_size) == (0, 0.0, 128)
    check_settings(config)  # the engine takes them as they are (tests/app/test_security.py trains with batch 128)
    assert not at.error


@pytest.mark.parametrize("field, value, sentence", [
    ("lr", 100.0, "A learning rate of 100.0 is out of range: use a value above 0 and at most 1"),
    ("epochs", -1, "Epochs must be between 1 and 1000 (or 0 for automatic), not -1."),
    ("batch_size", -1, "Batch size must be at least 1 (or 0 for automatic)."),
    ("unfreeze", -5, "'unfreeze' must be 0 or more (or -1 for all), not -5."),
])
def test_a_setting_the_engine_refuses_reaches_the_page_as_a_sentence(app, home, field, value, sentence):
    """Settings the form cannot produce (a CLI config, an old run) still fail with the engine's sentence."""
    from tl_core.config import RunConfig
    from tl_core.runs import create_run
    from tl_core.worker import run_worker

    project = make_project(home)
    add_photos(home, project, per_class=4)
    run = create_run(RunConfig(data=str(folder(home, project, "photos")), **{"epochs": 1, field: value}))
    assert run_worker(run.dir) == 1
    at = open_page(app, "train", project=project["id"], run=run.id)
    plain(at)
    assert f"Training failed: {sentence}" in errors(at)[-1]


# ---------------------------------------------------------------- damaged run folders

def test_a_run_with_a_damaged_settings_file_is_named_and_the_others_are_listed(app, home):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    good = create_run(RunConfig(data=str(home / "photos"), name="good run"))
    damaged = home / "runs" / "20200101-000000-dead"
    damaged.mkdir()
    (damaged / "config.json").write_text('{"data": "/x", "mod')  # cut short, e.g. copied from a full disk
    at = open_page(app, "runs")
    said = plain(at)
    assert "1 run is left out of this list because its settings file cannot be read" in said
    assert list(at.dataframe[0].value["run"]) == [good.id]
    for step in ("train", "results", "try"):
        plain(open_page(app, step, run=damaged.name))

    (good.dir / "config.json").unlink()  # now no run can be read: a sentence, not an empty table
    at = open_page(app, "runs")
    assert "1 run is left out of this list" in plain(at) and not at.dataframe
