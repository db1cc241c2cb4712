"""Drive the real app in headless Chromium: Streamlit servers on free ports, each with its own TRANSFERLAB_HOME."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from e2ehelpers import REPO, SHOTS, read, whole_page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


class Server:
    """`streamlit run app.py` on a fixed free port and home, so it can be stopped and started again."""

    def __init__(self, home: Path, standby: bool):
        self.home = home
        self.standby = standby  # a warm standby worker, as users run it: a run after the first skips the imports
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers its health check."""
        env = {**os.environ, "TRANSFERLAB_HOME": str(self.home), "TRANSFERLAB_STANDBY": str(int(self.standby)),
               "PYTHONUNBUFFERED": "1"}
        with open(self.home / "server.log", "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                 "--server.headless", "true"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start: {(self.home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the app server only: training workers run in their own sessions and go on."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def end_workers(self) -> None:
        """Nothing outlives the tests: workers still training, and a standby worker waiting for a run."""
        runs = (self.home / "runs").glob("*/status.json")
        pids = [status.get("pid") for status in map(read, runs) if status.get("state") in ("queued", "running")]
        pids += [int(marker.stem) for marker in (self.home / "standby").glob("*.*") if marker.stem.isdigit()]
        for pid in filter(None, pids):
            try:
                if b"tl_core.cli\x00worker" in Path(f"/proc/{pid}/cmdline").read_bytes():  # ours, not a reused pid
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
            except OSError:
                pass


@contextmanager
def serving(home: Path, standby: bool):
    server = Server(home, standby)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.end_workers()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("transferlab-home")


@pytest.fixture(scope="session")
def server(workspace):
    """The app's address, without a standby worker (tests/conftest.py), so every run starts a worker of its own."""
    with serving(workspace, standby=False) as running:
        yield running.url


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """A Server with a standby worker, as users run it, on a home of its own for the module; its tests may stop and
    start it."""
    with serving(tmp_path_factory.mktemp("sessions-home"), standby=True) as running:
        yield running


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
def context(browser, request):
    """new() -> a page in a new browser context: its own cookies and storage, so its own Streamlit session; any
    alert() that fires lands in page.dialogs. What each showed is saved when the test fails."""
    made = []

    def new():
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        made.append(ctx)
        return page

    yield new
    name = request.node.name.removeprefix("test_")
    for number, ctx in enumerate(made, start=1):
        if getattr(request.node, "failed_call", False):
            SHOTS.mkdir(parents=True, exist_ok=True)
            for page in ctx.pages:
                page.screenshot(path=str(SHOTS / f"{name}-{number}-FAILED.png"))
        ctx.close()


@pytest.fixture
def page(context, server):
    """One page on the session's server."""
    return context()


@pytest.fixture
def shot(request):
    """shot(page, "03_data") saves test-artifacts/screenshots/<test>-03_data.png (full page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.removeprefix("test_")

    def take(page, name: str) -> Path:
        path = SHOTS / f"{prefix}-{name}.png"
        with whole_page(page):
            page.screenshot(path=str(path))
        return path

    return take
