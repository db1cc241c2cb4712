"""Helpers the browser tests share: the shared data, projects made on disk, and waiting for what the page shows."""
from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
HYMENOPTERA = REPO.parent / "shared" / "datasets" / "hymenoptera_data"
YELP = REPO.parent / "shared" / "datasets" / "sentences" / "yelp_labelled.txt"
ANSWER = re.compile(r"The model(?: says|'s best guess):")  # Try it's heading, sure of its answer or not


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


def read(path: Path) -> dict:
    """A JSON file the worker or the app writes; {} while it is missing or half written."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def text(page, value: str | re.Pattern, timeout: float = 30_000):
    """Wait for a piece of text to be visible and return its locator."""
    locator = page.get_by_text(value, exact=False).first
    locator.wait_for(state="visible", timeout=timeout)
    return locator


def run_panel(page) -> None:
    """Wait for the Train step's view of a run: the sentence it shows while the run goes on, or how it ended."""
    page.get_by_text("You can leave this page or reload it").or_(page.get_by_text("Training finished in")).or_(
        page.get_by_text("Training was interrupted")).first.wait_for(state="visible", timeout=30_000)


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


# Every picture inside the taller window loaded; checked in animation frames (Playwright's default polling), so the
# window has been laid out at its new size.
PICTURES_LOADED = "() => [...document.images].every(i => i.complete || i.getBoundingClientRect().top > innerHeight)"


@contextmanager
def whole_page(page):
    """Streamlit scrolls inside its main area: the window is made as tall as the page for a picture, then put back."""
    size = page.viewport_size
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
    page.wait_for_function(PICTURES_LOADED, timeout=10_000)  # was a fixed 0.4 s, about 30 times per run
    try:
        yield
    finally:
        page.set_viewport_size(size)


def section(page, key: str, name: str) -> None:
    """test-artifacts/screenshots/<name>.png: one section of the page (its keyed container), beside the full-page
    ones."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with whole_page(page):
        page.locator(f".st-key-{key}").screenshot(path=str(SHOTS / f"{name}.png"))


def uploader(page, label: str):
    """The drop zone of the uploader with this label (a redraw can briefly show a stale one beside it)."""
    return (page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
            .locator('[data-testid="stFileUploaderDropzoneInput"]'))


def fill_text_input(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_for_rerun(page)


def add_photo_classes(page, names: tuple[str, str], count: int, start: int = 0) -> None:
    """On the Data step: name the two classes and upload `count` photos of ants to the first, of bees to the
    second, through the page's own uploaders, until the page says the data is ready."""
    for index, (name, label) in enumerate(zip(names, ("ants", "bees")), start=1):
        fill_text_input(page, f"Name of class {index}", name)
        uploader(page, f"Add photos of {name}").set_input_files(photos(label, start, count))
        page.wait_for_function(
            "([n, said]) => [...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
            ".filter(e => e.innerText.includes(said)).length >= n", arg=[index, f"{count} photos in this class"],
            timeout=60_000)
        wait_for_rerun(page)
    text(page, "Your data is ready for training.", timeout=60_000)


def pick_model(page, name: str) -> None:
    """"Use this model" on one model's card of the Model step (the automatic choice is the default)."""
    page.locator(f".st-key-card_{name}").get_by_role("button", name="Use this model").click()
    page.locator(f".st-key-card_{name}").get_by_role("button", name="Selected").wait_for()


def choose_blocks_myself(page) -> None:
    """On the Train step: the layers to fine-tune set with the slider rather than left to TransferLab."""
    page.get_by_text("I choose", exact=True).click()  # a segmented control's option
    wait_for_rerun(page)


def set_epochs(page, epochs: int) -> None:
    box = page.get_by_role("spinbutton", name="Epochs (0 = automatic)")
    box.fill(str(epochs))
    box.press("Enter")
    wait_for_rerun(page)


def start_training(page) -> str:
    """Click Start; the new run's id once it is in the URL."""
    before = page.url
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("old => location.href !== old && /[?&]run=/.test(location.search)", arg=before)
    return page.evaluate("() => new URLSearchParams(location.search).get('run')")


VAL_ACCURACY_POINTS = """() => {
  let n = 0;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.name === 'validation accuracy') n = Math.max(n, (trace.x || []).length);
    }
  }
  return n;
}"""


def train_head_only(page, shot, epochs: int, reload: bool = False) -> dict:
    """Start a head-only run; return what was seen while it ran."""
    choose_blocks_myself(page)
    text(page, "Layers to fine-tune")
    text(page, "trainable:")
    set_epochs(page, epochs)
    shot(page, "04_train_settings")
    start_training(page)
    text(page, "You can leave this page or reload it")
    if reload:  # a refresh is a new session: the run must come back from the URL
        page.reload()
        run_panel(page)
    seen_running: list[int] = []
    labels: list[str] = []  # the run's label, read while it ran with an epoch done
    deadline = time.time() + 150
    while time.time() < deadline:
        if page.get_by_text("Training finished in").count():
            break
        if page.get_by_role("button", name="Stop training").count():
            points = page.evaluate(VAL_ACCURACY_POINTS)
            if not seen_running or points > seen_running[-1]:
                shot(page, "04_train_live")  # the latest moment that shows something new
            if points:  # an epoch done: the run's label says it is training (it stayed "waiting", drawn once)
                labels += page.get_by_text("You can leave this page or reload it").all_inner_texts()
            seen_running.append(points)
        page.wait_for_timeout(400)
    text(page, "Training finished in", timeout=5_000)
    try:  # the chart's last redraw, waited for rather than slept
        page.wait_for_function(f"n => ({VAL_ACCURACY_POINTS})() >= n", arg=epochs, timeout=3_000)
    except PlaywrightTimeout:
        pass  # the caller's assertion on "final" says what is missing
    final = page.evaluate(VAL_ACCURACY_POINTS)
    shot(page, "04_train_done")
    assert all(" · training" in label and " · waiting" not in label for label in labels), labels
    return {"running": seen_running, "final": final, "labels": labels}
