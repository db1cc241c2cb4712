"""The whole walk-through in a real browser, once with pictures and once with sentences.

Each test starts a project, picks the embedded model (the automatic choice has its own test, test_ranking_browser.py),
adds data through the page's own uploader, trains it head-only, watches the live chart, reads the results and asks
the model for a prediction.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.e2e

HYMENOPTERA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "hymenoptera_data"
YELP = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "sentences" / "yelp_labelled.txt"

VAL_ACCURACY_POINTS = """() => {
  let n = 0;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.name === 'validation accuracy') n = Math.max(n, (trace.x || []).length);
    }
  }
  return n;
}"""


def photos(label: str, start: int, count: int = 8) -> list[str]:
    return [str(p) for p in sorted((HYMENOPTERA / "train" / label).glob("*.jpg"))[start:start + count]]


def disk_project(home: Path, per_class: int = 6, start: int = 20) -> str:
    """A picture project with linked photos, as the Welcome and Data steps leave it once the person picked the
    embedded model and chose the layers with the slider; returns its id. For tests that do not need to build one
    through the page (test_pictures does)."""
    project_id = os.urandom(8).hex()
    folder = home / "projects" / project_id
    for label in ("ants", "bees"):
        (folder / "photos" / label).mkdir(parents=True)
        for path in photos(label, start, per_class):
            (folder / "photos" / label / Path(path).name).symlink_to(path)
    (folder / "project.json").write_text(json.dumps({
        "id": project_id, "kind": "image", "created": time.time(), "model": "efficientnet_lite0", "source": "photos",
        "classes": [{"uid": "c0000001", "name": "ants"}, {"uid": "c0000002", "name": "bees"}],
        "typed": {}, "table_file": None, "text_column": None, "label_column": None, "settings": {"blocks": "mine"}}))
    return project_id


def text(page, value: str, timeout: float = 30_000):
    """Wait for a piece of text to be visible and return its locator."""
    locator = page.get_by_text(value, exact=False).first
    locator.wait_for(state="visible", timeout=timeout)
    return locator


def wait_for_rerun(page) -> None:
    """Let Streamlit finish the script run a click started."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"] button')",
                           timeout=60_000)


PLOTS_DRAWN = ("() => [...document.querySelectorAll('.js-plotly-plot')]"
               ".every(p => p._fullLayout && p.querySelector('.main-svg'))")


def settle(page) -> None:
    """Before a screenshot: the script run over and every Plotly chart drawn, waited for instead of a fixed
    1-1.5 s sleep (a dozen of those were about 15 s of the browser tests)."""
    wait_for_rerun(page)
    page.wait_for_function(PLOTS_DRAWN, timeout=10_000)
    page.wait_for_timeout(200)  # the chart's first paint after its layout


def uploader(page, label: str):
    """The drop zone of the uploader with this label (a redraw can briefly show a stale one beside it)."""
    return (page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
            .locator('[data-testid="stFileUploaderDropzoneInput"]'))


def fill_text_input(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_for_rerun(page)


def pick_model(page, name: str) -> None:
    """"Use this model" on one model's card of the Model step (the automatic choice is the default)."""
    page.locator(f".st-key-card_{name}").get_by_role("button", name="Use this model").click()
    page.locator(f".st-key-card_{name}").get_by_role("button", name="Selected").wait_for()


def choose_blocks_myself(page) -> None:
    """On the Train step: the layers to fine-tune set with the slider rather than left to TransferLab."""
    page.get_by_text("I choose", exact=True).click()  # a segmented control's option
    wait_for_rerun(page)


def start_project(page, server: str, kind_button: str, shot) -> None:
    page.goto(server)
    text(page, "Teach a computer to sort")
    page.wait_for_timeout(500)
    shot(page, "01_welcome")
    page.get_by_role("button", name=kind_button).click()
    page.get_by_role("heading", name="Choose a model").wait_for()
    text(page, "available offline")
    pick_model(page, "efficientnet_lite0" if "picture" in kind_button else "all-MiniLM-L6-v2")
    shot(page, "02_model")
    assert page.get_by_role("button", name="Selected").count() == 1
    page.get_by_role("button", name="Next: add your data").click()
    text(page, "How do you want to add examples?")


def train_head_only(page, shot, epochs: int, reload: bool = False) -> dict:
    """Start a head-only run; return what was seen while it ran."""
    choose_blocks_myself(page)
    text(page, "Layers to fine-tune")
    text(page, "trainable:")
    epochs_box = page.get_by_role("spinbutton", name="Epochs (0 = automatic)")
    epochs_box.fill(str(epochs))
    epochs_box.press("Enter")
    wait_for_rerun(page)
    shot(page, "04_train_settings")
    page.get_by_role("button", name="Start training").click()
    text(page, "You can leave this page or reload it")
    page.wait_for_function("() => /[?&]run=/.test(location.search)")
    if reload:  # a refresh is a new session: the run must come back from the URL
        page.reload()
        text(page, "You can leave this page or reload it")
    seen_running: list[int] = []
    deadline = time.time() + 150
    while time.time() < deadline:
        if page.get_by_text("Training finished in").count():
            break
        if page.get_by_role("button", name="Stop training").count():
            points = page.evaluate(VAL_ACCURACY_POINTS)
            if not seen_running or points > seen_running[-1]:
                shot(page, "04_train_live")  # the latest moment that shows something new
            seen_running.append(points)
        page.wait_for_timeout(400)
    text(page, "Training finished in", timeout=5_000)
    try:  # the chart's last redraw, waited for rather than slept
        page.wait_for_function(f"n => ({VAL_ACCURACY_POINTS})() >= n", arg=epochs, timeout=3_000)
    except PlaywrightTimeout:
        pass  # the caller's assertion on "final" says what is missing
    final = page.evaluate(VAL_ACCURACY_POINTS)
    shot(page, "04_train_done")
    return {"running": seen_running, "final": final}


def test_pictures(page, server, shot, tmp_path):
    start_project(page, server, "Start a picture project", shot)
    fill_text_input(page, "Name of class 1", "ants")
    fill_text_input(page, "Name of class 2", "bees")
    for index, label in enumerate(("ants", "bees")):
        photos = sorted((HYMENOPTERA / "train" / label).glob("*.jpg"))[:15]
        uploader(page, f"Add photos of {label}").set_input_files([str(p) for p in photos])
        page.wait_for_function(
            "n => [...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
            ".filter(e => e.innerText.includes('15 photos in this class')).length >= n", arg=index + 1,
            timeout=60_000)
        wait_for_rerun(page)
    text(page, "Your data is ready for training.", timeout=60_000)
    settle(page)
    shot(page, "03_data")

    page.get_by_role("button", name="Next: train your model").click()
    seen = train_head_only(page, shot, epochs=8, reload=True)
    assert seen["running"], "the page never showed the run as running"
    assert seen["final"] == 8
    assert min(seen["running"]) < seen["final"], "the live chart did not gain points while the run was going"

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
    said = text(page, "The model says:", timeout=60_000).inner_text()
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
    said = text(page, "The model says:", timeout=60_000).inner_text()
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
