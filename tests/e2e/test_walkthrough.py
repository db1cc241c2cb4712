"""The whole walk-through in a real browser, once with pictures and once with sentences.

Each test starts a project, adds data through the page's own uploader, trains it head-only with the embedded model,
watches the live chart, reads the results and asks the model for a prediction. The picture project first leaves
the model to TransferLab: the Model step ranks the models on the pictures by itself and the Train step proposes
the blocks, before the person picks the embedded model after all.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2ehelpers import ANSWER, HYMENOPTERA, SHOTS, YELP, add_photo_classes, pick_model, settle, text, train_head_only, \
    uploader

pytestmark = pytest.mark.e2e

BARS = """() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.type === 'bar' && trace.orientation === 'h') return {y: trace.y, x: trace.x, text: trace.text};
    }
  }
  return null;
}"""


def start_project(page, server: str, kind_button: str, shot) -> None:
    """The Welcome step, and a new project of this kind opened on the Model step."""
    page.goto(server)
    text(page, "Teach a computer to sort")
    page.wait_for_timeout(500)
    shot(page, "01_welcome")
    page.get_by_role("button", name=kind_button).click()
    page.get_by_role("heading", name="Choose a model").wait_for()
    text(page, "available offline")


def use_model(page, name: str, shot) -> None:
    """The person's own model on the Model step: its card alone is selected."""
    pick_model(page, name)
    shot(page, "02_model")
    assert page.get_by_role("button", name="Selected").count() == 1


def the_automatic_choice(page, shot) -> None:
    """Left to TransferLab: the Model step ranks the models on the project's data by itself and draws the chart,
    and the Train step proposes the blocks."""
    page.get_by_role("link", name=re.compile("2 · Choose a model")).click()
    text(page, "Comparing the models on a sample of your data")
    text(page, "Why:", timeout=300_000)  # the recommendation, once every model is scored
    settle(page)
    bars = page.evaluate(BARS)
    assert bars and len(bars["y"]) == 3 and bars["x"] == sorted(bars["x"], reverse=True), bars
    assert sum("recommended" in t for t in bars["text"]) == 1
    automatic = page.locator(".st-key-card_auto")
    said = automatic.inner_text()
    assert "How close your data is to what EfficientNet-Lite" in said and "LogME" in said
    shot(page, "02_model_ranked")
    automatic.screenshot(path=str(SHOTS / "pictures-02_model_ranked_card.png"))  # the card alone, at reading size
    page.get_by_role("button", name="Next: add your data").click()
    page.get_by_role("button", name="Next: train your model").click()
    text(page, "TransferLab proposes:")
    settle(page)
    shot(page, "04_train_proposal")


def test_pictures(page, server, shot):
    start_project(page, server, "Start a picture project", shot)
    assert page.locator(".st-key-card_auto").get_by_role("button", name="Selected").count() == 1  # the default
    text(page, "the ranking of the models for your pictures appears here")
    shot(page, "02_model_no_data")
    page.get_by_role("button", name="Next: add your data").click()
    text(page, "How do you want to add examples?")
    add_photo_classes(page, ("ants", "bees"), 15)
    settle(page)
    shot(page, "03_data")

    the_automatic_choice(page, shot)

    # The person's own choice after all: the embedded model, head only with the slider.
    page.get_by_role("link", name=re.compile("2 · Choose a model")).click()
    use_model(page, "efficientnet_lite0", shot)
    page.get_by_role("link", name=re.compile("4 · Train")).click()
    seen = train_head_only(page, shot, epochs=8, reload=True)
    assert seen["running"], "the page never showed the run as running"
    assert seen["final"] == 8
    assert min(seen["running"]) < seen["final"], "the live chart did not gain points while the run was going"
    assert seen["labels"] or not any(seen["running"]), "the run's label was not read while it ran"

    page.get_by_role("button", name="See the results").click()
    text(page, "Accuracy")
    text(page, "What gets confused with what")
    settle(page)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text().endswith("%")
    shot(page, "05_results")

    page.get_by_role("button", name="Next: try the model yourself").click()
    page.get_by_role("heading", name="Try it").wait_for()
    val_bee = sorted((HYMENOPTERA / "val" / "bees").glob("*.jpg"))[0]
    uploader(page, "A picture the model has not seen").set_input_files(str(val_bee))
    said = text(page, ANSWER, timeout=60_000).inner_text()
    assert said.split(":")[-1].strip() in ("ants", "bees")
    settle(page)
    shot(page, "06_try")

    page.get_by_role("link", name=re.compile("All runs")).click()
    text(page, "Compare runs")
    settle(page)
    shot(page, "07_runs")


REVIEWS = 300  # of the 1,000: MiniLM reads every one on the CPU (the run took 32 s instead of 64 s, busy machine)


def quoted_reviews(folder: Path) -> Path:
    """The first REVIEWS yelp reviews (sentence<TAB>label, no header) with a quote opening every 20th sentence,
    as in a table typed by people: read as CSV, such a quote swallows the lines up to the next one."""
    lines = YELP.read_text(encoding="utf-8").splitlines()[:REVIEWS]
    path = folder / "reviews.tsv"
    path.write_text("".join(f'"{line}\n' if n % 20 == 7 else f"{line}\n" for n, line in enumerate(lines)),
                    encoding="utf-8")
    return path


def test_sentences(page, server, shot, tmp_path):
    start_project(page, server, "Start a text project", shot)
    use_model(page, "all-MiniLM-L6-v2", shot)
    page.get_by_role("button", name="Next: add your data").click()
    text(page, "How do you want to add examples?")
    uploader(page, "Your table file").set_input_files(str(quoted_reviews(tmp_path)))
    text(page, "Using reviews.tsv", timeout=60_000)
    text(page, "Which column holds the text?")
    text(page, "Your data is ready for training.", timeout=60_000)
    text(page, f"{REVIEWS:,} lines read, {REVIEWS:,} examples.")  # each line one example, and the page says so
    assert page.get_by_role("combobox", name="Which column holds the text?").input_value() == "column 1"
    assert page.get_by_role("combobox", name="Which column holds the class?").input_value() == "column 2"
    settle(page)
    shot(page, "03_data")

    page.get_by_role("button", name="Next: train your model").click()
    seen = train_head_only(page, shot, epochs=6)
    assert seen["running"] and seen["final"] == 6
    assert min(seen["running"]) < seen["final"]

    page.get_by_role("button", name="See the results").click()
    text(page, "What gets confused with what")
    text(page, "Examples the model got wrong")
    settle(page)
    shot(page, "05_results")

    page.get_by_role("button", name="Next: try the model yourself").click()
    box = page.get_by_label("Type or paste a sentence")
    box.fill("The food was absolutely wonderful and the staff were lovely.")
    page.get_by_role("button", name="Predict").click()
    said = text(page, ANSWER, timeout=60_000).inner_text()
    assert said.split(":")[-1].strip() == "1"
    settle(page)
    shot(page, "06_try")

    # Stop works: fine-tune the last two layers (slow on a CPU), stop it, and see the run end.
    page.get_by_role("link", name=re.compile("4 · Train")).click()
    text(page, "Layers to fine-tune")
    page.get_by_role("slider").first.focus()  # the "Layers to fine-tune" slider comes first
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    text(page, "The last 2 blocks adapt")
    page.get_by_role("button", name="Start training").click()
    text(page, "Getting ready", timeout=60_000)  # its worker is running
    page.get_by_role("button", name="Stop training").click()
    text(page, "Stopping", timeout=10_000)
    text(page, "Training was stopped", timeout=40_000)
    shot(page, "04_train_stopped")
