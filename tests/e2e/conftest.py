"""Drive the real app in headless Chromium: a Streamlit server on a free port with its own TRANSFERLAB_HOME."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("transferlab-home")


@pytest.fixture(scope="session")
def server(workspace):
    """`streamlit run app.py`, waited for until it answers its health check."""
    port = _free_port()
    env = {**os.environ, "TRANSFERLAB_HOME": str(workspace), "PYTHONUNBUFFERED": "1"}
    log = open(workspace / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"streamlit did not start: {(workspace / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield url
    _stop_training(workspace)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _stop_training(workspace: Path) -> None:
    """Workers run in their own sessions; end any still going so nothing outlives the tests."""
    old = os.environ.get("TRANSFERLAB_HOME")
    os.environ["TRANSFERLAB_HOME"] = str(workspace)
    try:
        from tl_core.runs import active_runs

        for run in active_runs():
            run.kill()
    finally:
        if old is None:
            os.environ.pop("TRANSFERLAB_HOME", None)
        else:
            os.environ["TRANSFERLAB_HOME"] = old


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def page(browser, server, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if getattr(request.node, "failed_call", False):  # what the page showed when the test failed
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{request.node.name.removeprefix('test_')}-FAILED.png"))
    context.close()


@pytest.fixture
def shot(request):
    """shot(page, "03_data") saves test-artifacts/screenshots/<test>-03_data.png (full page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.removeprefix("test_")

    def take(page, name: str) -> Path:
        """Streamlit scrolls inside its main area, so the window is made as tall as the page for the picture."""
        path = SHOTS / f"{prefix}-{name}.png"
        size = page.viewport_size
        height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                               " return m ? m.scrollHeight : document.body.scrollHeight; }")
        page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
        page.wait_for_timeout(400)
        page.screenshot(path=str(path))
        page.set_viewport_size(size)
        return path

    return take
