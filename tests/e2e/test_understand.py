"""Step 8, Understand, in a real browser: on a short head-only run on 15 ants and 15 bees, the
comparison of three starting points trains live, and the heat maps, feature maps and learning curve
are drawn; then the heat maps on Results and Try it; what each layer learned, on the comparison's from-scratch
run (the Train page's block picker and the Understand step's Layers section); and presenter mode.

Each view is saved as its own screenshot (test-artifacts/screenshots/understand-*.png).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from e2ehelpers import ANSWER, HYMENOPTERA, disk_project, read, section, settle, text, uploader, wait_for_rerun

pytestmark = pytest.mark.e2e

PHOTOS_PER_CLASS = 15
COMPARISON_EPOCHS = 1   # three runs of 1 epoch on 24 training photos: the chart still gains a point per run, and
                        # from scratch (the longest arm) trains one epoch, not two

LEARNED_FROM_NOTHING = "This run started from random numbers, so every block learned from nothing."

ARM_POINTS = """() => {
  const counts = {};
  for (const plot of document.querySelectorAll('.st-key-understand_experiment .js-plotly-plot')) {
    for (const trace of plot.data || []) {
      if (trace.showlegend !== false) counts[trace.name] = (trace.x || []).length;
    }
  }
  return counts;
}"""


def pick(page, label: str) -> None:
    """Choose a block in the drop-down under the Train page's drawing (or in the Layers section)."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Look inside a block").last.click()
    page.keyboard.type(label)  # the list shows only the options that fit: typing brings the wanted one into it
    page.get_by_role("option", name=label, exact=True).click()
    wait_for_rerun(page)


def arm_run(home: Path, arm: str) -> str:
    """The id of the comparison's run for one arm ("scratch", "head", "blocks"), as its config tags it."""
    (found,) = [p.name for p in (home / "runs").iterdir() if (read(p / "config.json").get("extra") or {}).get("arm")
                == arm]
    return found


def press(page, label: str, then: str, timeout: float = 120_000) -> None:
    page.get_by_role("button", name=label).click()
    text(page, then, timeout=timeout)
    settle(page)  # Plotly's first draw


def test_understand(page, server, workspace, shot, train_run):
    from tl_core.config import RunConfig

    # The project as the Welcome and Data steps leave it, and its head-only run as the Train step starts it (both
    # built through the page by test_pictures), trained here in the test's process without a worker's imports
    project = disk_project(workspace, per_class=PHOTOS_PER_CLASS, start=0)
    run = train_run(workspace, RunConfig(data=str(workspace / "projects" / project / "photos"),
                                         model="efficientnet_lite0", unfreeze=0, epochs=2,
                                         extra={"project": project, "kind": "image"}))
    page.goto(f"{server}/understand?project={project}&run={run.id}")
    text(page, "Does transfer learning help here?")

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

    # (b) where the model looks
    press(page, "Show where the model looks", "(its answer)")
    page.wait_for_function("() => document.querySelectorAll('.st-key-understand_looks img').length >= 8",
                           timeout=10_000)  # the pictures arrive one by one after the script run
    section(page, "understand_looks", "understand-gradcam")

    # (c) the features already know
    press(page, "Draw the feature maps", "Before training:")
    separability = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Before training:").inner_text()
    assert "guessing would get" in separability
    section(page, "understand_features", "understand-feature_map")

    # (d) how much data do I need
    press(page, "Draw the learning curve", "on average")
    assert page.locator(".st-key-understand_curve .js-plotly-plot").count() == 1
    section(page, "understand_curve", "understand-learning_curve")

    watch_the_comparison(page, started)
    print(f"\nseparability: {separability}\nlearning curve: {text(page, 'on average').inner_text()}")
    shot(page, "page")
    heat_maps_on_results_and_try(page, shot)
    scratch = arm_run(workspace, "scratch")
    layers_of_a_trained_network(page, f"{server}/{{step}}?project={project}&run={scratch}", shot)
    presenter_mode(page, shot)


def watch_comparison_points(page, started: float) -> list[dict]:
    """The comparison's live chart, polled until the comparison ends: each new count of points per run."""
    seen: list[dict] = []
    while time.time() - started < 420:
        points = page.evaluate(ARM_POINTS)
        if points and (not seen or points != seen[-1]):
            if not any(p for counts in seen for p in counts.values()) and any(points.values()):
                print(f"\nfirst point {time.time() - started:.0f} s after the click")
            seen.append(points)
            if len(seen) == 2:
                section(page, "understand_experiment", "understand-experiment_live")
        if page.get_by_text("Run the comparison again").count() and \
                page.get_by_role("button", name="Run the comparison again").is_enabled():
            break
        page.wait_for_timeout(500)
    try:  # the chart's last redraw (every 2 s while a run trains), waited for rather than slept
        page.wait_for_function(f"() => Object.values(({ARM_POINTS})()).filter(n => n > 0).length == 3", timeout=5_000)
    except PlaywrightTimeout:
        pass  # the caller's assertions say what is missing
    return seen


def watch_the_comparison(page, started: float) -> None:
    """(a) again: the live chart gains points and the takeaway names what happened."""
    seen = watch_comparison_points(page, started)
    final = page.evaluate(ARM_POINTS)
    scratch = final.pop("From scratch", 0)
    # the fine-tuning run also shows epoch 0: its new head fitted before any block trained, which it may keep
    assert final == {"Pretrained, head only": COMPARISON_EPOCHS, "Pretrained, last 2 blocks": COMPARISON_EPOCHS + 1}
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
    print(f"\nwhole comparison {time.time() - started:.0f} s\ntakeaway: {takeaway}")
    section(page, "understand_experiment", "understand-experiment")


def heat_maps_on_results_and_try(page, shot) -> None:
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
    text(page, ANSWER, timeout=60_000)
    page.get_by_text("Show where the model looked").click()
    text(page, "Evidence for", timeout=60_000)
    settle(page)
    shot(page, "try_heat_map")


def layers_of_a_trained_network(page, url: str, shot) -> None:
    """On the comparison's from-scratch run, whose every block learned (a pretrained arm of this size keeps the head
    fitted before fine-tuning, as no fine-tuning epoch beats its 100 % on 6 pictures, so its blocks do not move):
    the Train page's block picker shows what a block sees and how far this run moved it; the Understand step's
    Layers section draws both. `url`: a step's address with the project and that run, "{step}" for the step."""
    page.goto(url.format(step="train"))
    text(page, "Look inside a block")
    # the arm may still be saving its model: once it ends, the whole page is drawn again and an open drop-down
    # closes under the click (seen in CI, cold)
    text(page, "Training finished in", timeout=60_000)
    pick(page, "Block 7 · objects and their parts")
    text(page, "How much it changed in run", timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 6")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="How much it changed")
    assert "fine-tuned" in metric.inner_text()
    shot(page, "train_block_7")
    pick(page, "Block 1 · edges and colours")
    text(page, "Block 1 · edges and colours sees", timeout=60_000)  # its field as measured on this run's weights
    page.wait_for_timeout(500)
    shot(page, "train_block_1")

    page.goto(url.format(step="understand"))
    text(page, "What each layer learned")
    page.get_by_role("button", name="Show what each layer learned").click()
    text(page, LEARNED_FROM_NOTHING, timeout=120_000)
    pick(page, "Block 2 · lines and textures")
    text(page, "pixels of each 224-pixel picture", timeout=60_000)  # its tile size depends on the model's padding
    settle(page)
    section(page, "understand_layers", "understand-layers")
    ticks = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '.st-key-understand_layers .ytick text')].map(t => [t.textContent, t.getBoundingClientRect().top]))""")
    assert ticks["Block 7 · objects and their parts"] < ticks["Stem · edges and colours"], ticks  # as drawn: out on top


def presenter_mode(page, shot) -> None:
    """Larger text everywhere, kept across steps, advanced settings hidden; the layer views drawn large."""
    page.get_by_text("Presenter mode").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'")
    assert "present=1" in page.url
    text(page, LEARNED_FROM_NOTHING, timeout=60_000)
    settle(page)
    section(page, "understand_layers", "understand-layers_presenter")
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
    section(page, "understand_experiment", "understand-presenter_experiment")
