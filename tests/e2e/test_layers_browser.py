"""What each layer learned, in a real browser: after a short run that fine-tunes the last block of
EfficientNet-Lite0 on 12 ants and 12 bees, the Train page's block picker shows what a block responds to and how
far it moved, and the Understand step's Layers section draws both; presenter mode shows them large.

Screenshots: test-artifacts/screenshots/layers-*.png.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_understand import section
from test_walkthrough import disk_project, settle, text, wait_for_rerun

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def short_run(workspace: Path, data: Path) -> str:
    """`transferlab train DATA --unfreeze 1 --epochs 1`, as a person would from a terminal; returns the run id."""
    env = {**os.environ, "TRANSFERLAB_HOME": str(workspace)}
    done = subprocess.run([sys.executable, "-m", "tl_core.cli", "train", str(data), "--unfreeze", "1", "--epochs",
                           "1", "--name", "last block"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("Run: "))


def pick(page, label: str) -> None:
    """Choose a block in the drop-down under the drawing (or in the Layers section)."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Look inside a block").last.click()
    page.keyboard.type(label)  # the list shows only the options that fit: typing brings the wanted one into it
    page.get_by_role("option", name=label, exact=True).click()
    wait_for_rerun(page)


def test_layers(page, server, workspace, shot):
    project = disk_project(workspace, per_class=12, start=0)
    run_id = short_run(workspace, workspace / "projects" / project / "photos")

    # the Train page: the named blocks, a block picked, what it sees and how far this run moved it
    page.goto(f"{server}/train?project={project}&run={run_id}")
    text(page, "Look inside a block")
    pick(page, "Block 7 · objects and their parts")
    text(page, "How much it changed in run", timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 6")
    shot(page, "train_block_7")
    pick(page, "Block 1 · edges and colours")
    text(page, "sees 7×7 pixels", timeout=60_000)
    page.wait_for_timeout(500)
    shot(page, "train_block_1")

    # the Understand step: how far each block moved, and what a picked block sees
    page.goto(f"{server}/understand?run={run_id}")
    text(page, "What each layer learned")
    page.get_by_role("button", name="Show what each layer learned").click()
    text(page, "Fine-tuned here: Block 7", timeout=120_000)
    pick(page, "Block 2 · lines and textures")
    text(page, "pixels of each 224-pixel picture", timeout=60_000)  # its tile size depends on the model's padding
    settle(page)
    section(page, "understand_layers", "layers")

    page.get_by_text("Presenter mode").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '20px'")
    text(page, "Fine-tuned here: Block 7", timeout=60_000)
    settle(page)
    section(page, "understand_layers", "layers_presenter")
