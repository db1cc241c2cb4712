"""The automatic choice in a real browser: a new project leaves the model to TransferLab, the pictures are uploaded,
the Model step ranks the models on them by itself and draws the chart, and the Train step proposes the blocks.

Screenshots: test-artifacts/screenshots/ranking-*.png.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_walkthrough import HYMENOPTERA, settle, text, uploader, wait_for_rerun

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PER_CLASS = 20  # pictures uploaded per class: enough for a ranking that means something, quick to score

BARS = """() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.type === 'bar' && trace.orientation === 'h') return {y: trace.y, x: trace.x, text: trace.text};
    }
  }
  return null;
}"""


def test_ranking(page, server, shot):
    page.goto(server)
    page.get_by_role("button", name="Start a picture project").click()
    page.get_by_role("heading", name="Choose a model").wait_for()
    automatic = page.locator(".st-key-card_auto")
    assert automatic.get_by_role("button", name="Selected").count() == 1  # the default for a new project
    text(page, "appears here once you have added your data")
    shot(page, "01_model_no_data")

    page.get_by_role("button", name="Next: add your data").click()
    text(page, "How do you want to add examples?")
    for index, label in enumerate(("ants", "bees"), start=1):
        box = page.get_by_label(f"Name of class {index}", exact=True)
        box.fill(label)
        box.press("Enter")
        wait_for_rerun(page)
        photos = sorted((HYMENOPTERA / "train" / label).glob("*.jpg"))[:PER_CLASS]
        uploader(page, f"Add photos of {label}").set_input_files([str(p) for p in photos])
        page.wait_for_function(
            "n => [...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
            f".filter(e => e.innerText.includes('{PER_CLASS} photos in this class')).length >= n", arg=index,
            timeout=60_000)
        wait_for_rerun(page)
    text(page, "Your data is ready for training.", timeout=60_000)

    page.get_by_role("link", name=re.compile("2 · Choose a model")).click()
    text(page, "Comparing the models on a sample of your data")  # started by itself: the choice is automatic
    text(page, "Why:", timeout=300_000)  # the recommendation, once every model is scored
    settle(page)
    bars = page.evaluate(BARS)
    assert bars and len(bars["y"]) == 3 and bars["x"] == sorted(bars["x"], reverse=True), bars
    assert sum("recommended" in t for t in bars["text"]) == 1
    said = automatic.inner_text()
    assert "How close your data is to what EfficientNet-Lite" in said and "LogME" in said
    shot(page, "02_model_ranked")
    automatic.screenshot(path=str(SHOTS / "ranking-02_model_ranked_card.png"))  # the card alone, at reading size

    page.get_by_role("button", name="Next: add your data").click()
    page.get_by_role("button", name="Next: train your model").click()
    text(page, "TransferLab proposes:")
    settle(page)
    shot(page, "03_train_proposal")
