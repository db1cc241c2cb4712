"""Several people, and faults, in a real browser: two sessions at once, a killed worker, a restarted server.

On the standby server of tests/e2e/conftest.py (`app_server`, this module's own; one test stops and starts it).
Projects a test does not need to build through the page are written to disk the way the Welcome and Data steps
write them, and opened by URL, which is how a reload reconnects anyway.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from e2ehelpers import SHOTS, add_photo_classes, choose_blocks_myself, disk_project, photos, pick_model, read, \
    run_panel, set_epochs, start_training, text

pytestmark = pytest.mark.e2e

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


# ---------------------------------------------------------------- small helpers

def runs(home: Path) -> list[Path]:
    folder = home / "runs"
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def epochs_done(run: Path) -> int:
    try:
        lines = (run / "events.jsonl").read_text().splitlines()
    except OSError:
        return 0
    return sum(1 for line in lines if '"event": "epoch"' in line)


def wait_until(condition, timeout: float, what: str, step: float = 0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def runs_table(page) -> list[str]:
    """The cells of the All runs table (drawn on a canvas; its accessible copy holds the text)."""
    text(page, "Compare runs")
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    cells.first.wait_for(state="attached")
    return cells.all_inner_texts()


def started(run: Path) -> str:
    """An unnamed run's name in the All runs table: when it started."""
    return time.strftime("Run of %d %b %H:%M:%S", time.localtime(read(run / "status.json")["created"]))


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on this port, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def photo_project_through_the_page(page, url: str, names: tuple[str, str], start: int) -> None:
    """Welcome -> Model -> Data, naming both classes and uploading 8 photos to each."""
    page.goto(url)
    page.get_by_role("button", name="Start a picture project").click()
    text(page, "available offline")
    pick_model(page, "efficientnet_lite0")
    page.get_by_role("button", name="Next: add your data").click()
    text(page, "How do you want to add examples?")
    add_photo_classes(page, names, 8, start)



# ---------------------------------------------------------------- the tests

def test_two_sessions_train_through_the_queue_and_see_only_their_own_data(context, app_server):
    a, b = context(), context()
    photo_project_through_the_page(a, app_server.url, (IMG, "bees"), start=0)
    photo_project_through_the_page(b, app_server.url, (SCRIPT, "apis"), start=8)
    text(b, f"Saved and trained as '{SCRIPT.replace('/', '_')}'")

    for page, epochs in ((a, 40), (b, 2)):  # the first run long enough that the second must wait for it
        page.get_by_role("button", name="Next: train your model").click()
        choose_blocks_myself(page)
        text(page, "Layers to fine-tune")
        set_epochs(page, epochs)
    run_a = start_training(a)
    run_b = start_training(b)  # a second later
    text(b, "Waiting for its turn: 1 run is ahead of this one", timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    b.screenshot(path=str(SHOTS / "sessions-queued.png"))
    for page in (a, b):
        text(page, "Training finished in", timeout=150_000)

    home = app_server.home
    configs = {run: read(home / "runs" / run / "config.json") for run in (run_a, run_b)}
    assert configs[run_a]["extra"]["project"] != configs[run_b]["extra"]["project"]
    assert read(home / "runs" / run_a / "status.json")["state"] == "finished"
    assert read(home / "runs" / run_b / "status.json")["state"] == "finished"
    # Each project holds only its own uploads, and each page names only its own classes.
    for run, names, start in ((run_a, (IMG, "bees"), 0), (run_b, (SCRIPT.replace("/", "_"), "apis"), 8)):
        folder = Path(configs[run]["data"])
        assert sorted(p.name for p in folder.iterdir()) == sorted(names)
        for name, label in zip(names, ("ants", "bees")):
            assert sorted(p.name for p in (folder / name).iterdir()) == sorted(Path(p).name
                                                                                for p in photos(label, start))
    for page, own, other in ((a, IMG, SCRIPT), (b, SCRIPT, IMG)):
        page.get_by_role("link", name="3 · Add your data").click()
        text(page, "16 photos in 2 classes")
        text(page, f"Add photos of {own}")  # the literal text, not markup
        assert page.get_by_text(other, exact=False).count() == 0

    # Script injection: the class name is text on the results page too (table, confusion matrix, gallery).
    a.get_by_role("link", name="5 · Results").click()
    text(a, "What gets confused with what")
    a.locator(".js-plotly-plot text", has_text=IMG).first.wait_for(state="attached", timeout=10_000)
    assert a.locator('img[src="x"]').count() == 0
    a.screenshot(path=str(SHOTS / "sessions-results-hostile-name.png"))
    assert a.dialogs == [] and b.dialogs == []


def test_a_worker_killed_mid_run_shows_interrupted_and_the_next_run_works(context, app_server):
    page = context()
    project = disk_project(app_server.home)
    page.goto(f"{app_server.url}/train?project={project}")
    text(page, "Layers to fine-tune")
    set_epochs(page, 300)
    run_id = start_training(page)
    run = app_server.home / "runs" / run_id
    wait_until(lambda: epochs_done(run) >= 1, 90, "the run's first epoch")
    pid = read(run / "status.json")["pid"]
    os.kill(pid, signal.SIGKILL)

    text(page, "Training was interrupted (its process ended unexpectedly). Start it again.", timeout=20_000)
    page.get_by_role("button", name="Stop training").wait_for(state="detached", timeout=10_000)
    assert read(run / "status.json")["state"] == "interrupted"
    page.screenshot(path=str(SHOTS / "sessions-worker-killed.png"))

    set_epochs(page, 2)
    again = start_training(page)
    assert again != run_id
    text(page, "Training finished in", timeout=120_000)
    assert read(app_server.home / "runs" / again / "status.json")["state"] == "finished"
    assert read(run / "status.json")["state"] == "interrupted"  # the old run stays as it ended


def test_a_server_restart_during_a_run_loses_nothing(context, app_server):
    assert listening_addresses(app_server.port) == {"0100007F"}  # 127.0.0.1 only (little-endian hex)
    page = context()
    project = disk_project(app_server.home)
    page.goto(f"{app_server.url}/train?project={project}")
    text(page, "Layers to fine-tune")
    set_epochs(page, 1000)  # head-only epochs on a few pictures take milliseconds: 50 ended before the restart
    run_id = start_training(page)
    run = app_server.home / "runs" / run_id
    wait_until(lambda: epochs_done(run) >= 1, 90, "the run's first epoch")
    earlier = runs(app_server.home)
    assert read(run / "status.json")["state"] == "running"  # the restart below comes during the run

    app_server.stop()
    app_server.start()
    assert listening_addresses(app_server.port) == {"0100007F"}

    page = context()  # a new session after the restart
    page.goto(f"{app_server.url}/runs")
    cells = runs_table(page)
    assert runs(app_server.home) == earlier and all(started(run) in cells for run in earlier)
    page.goto(f"{app_server.url}/train?run={run_id}")
    run_panel(page)
    ended = page.get_by_text("Training finished in").or_(page.get_by_text("Training was interrupted"))
    ended.first.wait_for(state="visible", timeout=120_000)
    assert read(run / "status.json")["state"] in ("finished", "interrupted")
    page.get_by_role("button", name="Stop training").wait_for(state="detached", timeout=10_000)
    page.screenshot(path=str(SHOTS / "sessions-after-restart.png"))

    page.goto(f"{app_server.url}/runs")  # every run there was, none of them still "training"
    cells = runs_table(page)
    assert all(started(run) in cells for run in earlier)
    shown = [c for c in cells if c in ("waiting", "training", "finished", "interrupted", "failed", "stopped")]
    assert len(shown) == len(earlier) and not {"waiting", "training"} & set(shown), cells
    states = {p.name: read(p / "status.json").get("state") for p in runs(app_server.home)}
    assert not {"queued", "running"} & set(states.values()), states
