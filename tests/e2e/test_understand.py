"""Step 8, Understand, in a real browser: after a short head-only run on 15 ants and 15 bees, the
comparison of three starting points trains live, and the heat maps, feature maps and learning curve
are drawn; then the heat maps on Results and Try it, and presenter mode.

Each view is saved as its own screenshot (test-artifacts/screenshots/understand-*.png).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_walkthrough import HYMENOPTERA, disk_project, settle, text, train_head_only, uploader, \
    wait_for_rerun

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

PHOTOS_PER_CLASS = 15
COMPARISON_EPOCHS = 1   # three runs of 1 epoch on 24 training photos: the chart still gains a point per run, and
                        # from scratch (the longest arm) trains one epoch, not two

ARM_POINTS = """() => {
  const counts = {};
  for (const plot of document.querySelectorAll('.st-key-understand_experiment .js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.showlegend !== false) counts[trace.name] = (trace.x || []).length;
    }
  }
  return counts;
}"""


def section(page, key: str, name: str) -> None:
    """A screenshot of one section of the page (its keyed container), beside the full-page ones."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size  # Streamlit scrolls inside its main area: make the window as tall as the page
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
    page.wait_for_timeout(600)
    page.locator(f".st-key-{key}").screenshot(path=str(SHOTS / f"understand-{name}.png"))
    page.set_viewport_size(size)


def press(page, label: str, then: str, timeout: float = 120_000) -> None:
    page.get_by_role("button", name=label).click()
    text(page, then, timeout=timeout)
    settle(page)  # Plotly's first draw


def test_understand(page, server, workspace, shot):
    # The project as the Welcome and Data steps leave it (test_pictures builds the same one through the page)
    project = disk_project(workspace, per_class=PHOTOS_PER_CLASS, start=0)
    page.goto(f"{server}/train?project={project}")
    train_head_only(page, shot, epochs=2)

    page.get_by_role("link", name=re.compile("8 · Why it works")).click()
    text(page, "Does transfer learning help here?")
    assert "run=" in page.url

    # (a) the comparison: started first, since it takes longest; the other views are drawn while it trains
    epochs = page.get_by_role("spinbutton", name="Epochs for each of the three")
    epochs.fill(str(COMPARISON_EPOCHS))
    epochs.press("Enter")
    wait_for_rerun(page)
    said = page.locator(".st-key-understand_experiment").inner_text()
    assert "The same for all three" in said and "Not the same" in said
    page.get_by_role("button", name="Compare the three starting points").click()
    text(page, "waiting for its turn", timeout=30_000)
    started = time.time()
    first_point = None

    # (b) where the model looks
    press(page, "Show where the model looks", "(its answer)")
    page.wait_for_function("() => document.querySelectorAll('.st-key-understand_looks img').length >= 8",
                           timeout=10_000)  # the pictures arrive one by one after the script run
    section(page, "understand_looks", "gradcam")

    # (c) the features already know
    press(page, "Draw the feature maps", "Before training:")
    separability = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Before training:").inner_text()
    assert "guessing would get" in separability
    section(page, "understand_features", "feature_map")

    # (d) how much data do I need
    press(page, "Draw the learning curve", "on average")
    assert page.locator(".st-key-understand_curve .js-plotly-plot").count() == 1
    section(page, "understand_curve", "learning_curve")

    # (a) again: the live chart gains points and the takeaway names what happened
    seen: list[dict] = []
    while time.time() - started < 420:
        points = page.evaluate(ARM_POINTS)
        if points and (not seen or points != seen[-1]):
            seen.append(points)
            if first_point is None and any(points.values()):
                first_point = time.time() - started
            if len(seen) == 2:
                section(page, "understand_experiment", "experiment_live")
        if page.get_by_text("Run the comparison again").count() and \
                page.get_by_role("button", name="Run the comparison again").is_enabled():
            break
        page.wait_for_timeout(500)
    try:  # the chart's last redraw (every 2 s while a run trains), waited for rather than slept
        page.wait_for_function(f"() => Object.values(({ARM_POINTS})()).filter(n => n > 0).length == 3", timeout=5_000)
    except PlaywrightTimeout:
        pass  # the assertions below say what is missing
    final = page.evaluate(ARM_POINTS)
    scratch = final.pop("From scratch", 0)
    assert final == {"Pretrained, head only": COMPARISON_EPOCHS, "Pretrained, last 2 blocks": COMPARISON_EPOCHS}
    assert 1 <= scratch <= COMPARISON_EPOCHS        # fewer when its minute ran out first
    if not seen or {**final, "From scratch": scratch} != seen[-1]:  # the last run may end between two polls
        seen.append({**final, "From scratch": scratch})
    assert len(seen) >= 2, f"the chart did not grow while the runs trained: {seen}"
    # the pretrained runs train first: their points come while from scratch still waits
    growing = [p for p in seen if any(p.values())]
    assert growing[0].get("Pretrained, head only") and not growing[0].get("From scratch"), seen
    assert any(p.get("Pretrained, last 2 blocks") and not p.get("From scratch") for p in growing), seen
    takeaway = text(page, "The pretrained model (").inner_text()
    assert "from scratch reached" in takeaway and "so far" not in takeaway
    assert " arm" not in page.locator(".st-key-understand_experiment").inner_text().lower()
    print(f"\nfirst point {first_point:.0f} s after the click; whole comparison {time.time() - started:.0f} s")
    print(f"\ntakeaway: {takeaway}\nseparability: {separability}\n"
          f"learning curve: {text(page, 'on average').inner_text()}")
    section(page, "understand_experiment", "experiment")
    shot(page, "page")

    # the heat maps added to Results and Try it
    page.get_by_role("link", name=re.compile("5 · Results")).click()
    text(page, "Examples the model got wrong")
    if page.get_by_role("switch", name="Show where the model looked").count():  # only when there are mistakes
        page.get_by_text("Show where the model looked").click()  # a toggle is clicked on its label
        text(page, "For comparison, pictures it got right", timeout=60_000)
        settle(page)
        shot(page, "results_heat_maps")
    page.get_by_role("link", name=re.compile("6 · Try it")).click()
    page.get_by_role("heading", name="Try it").wait_for()
    bee = sorted((HYMENOPTERA / "val" / "bees").glob("*.jpg"))[1]
    uploader(page, "A picture the model has not seen").set_input_files(str(bee))
    text(page, "The model says:", timeout=60_000)
    page.get_by_text("Show where the model looked").click()
    text(page, "Evidence for", timeout=60_000)
    settle(page)
    shot(page, "try_heat_map")

    # presenter mode: larger text everywhere, kept across steps, advanced settings hidden
    page.get_by_text("Presenter mode").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'")
    assert "present=1" in page.url
    page.get_by_role("link", name=re.compile("4 · Train")).click()
    text(page, "Layers to fine-tune")
    page.wait_for_timeout(1_000)
    assert "present=1" in page.url
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "20px"
    advanced = page.get_by_text("Advanced settings")
    assert advanced.count() == 1 and not advanced.is_visible()
    shot(page, "presenter_train")
    page.get_by_role("link", name=re.compile("8 · Why it works")).click()
    text(page, "Does transfer learning help here?")
    assert page.get_by_role("spinbutton", name="Epochs for each of the three").count() == 0
    settle(page)
    section(page, "understand_experiment", "presenter_experiment")
