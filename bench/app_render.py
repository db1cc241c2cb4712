"""How long until the app's first page is on screen: server start, first render (cold server), a second render.

    .venv/bin/python bench/app_render.py [--reps N] [--shot PATH | --no-shot] [--no-standby]

Each repetition starts the Streamlit server as `transferlab app` / scripts/app do (`streamlit run app.py
--server.port PORT` from the repository root, so .streamlit/config.toml applies) on a free port, with a fresh,
empty TRANSFERLAB_HOME and HF_HUB_OFFLINE=1, and times:

  server_up_s      process start -> GET /_stcore/health answers "ok"
  first_render_s   (cold server) page.goto(url) in a fresh browser context -> the Welcome page drawn: its
                   heading visible, its picture loaded, both "Start a … project" buttons visible, and
                   Streamlit's running indicator gone (the script run has finished)
  first_content_s  the same, up to the heading alone being visible
  warm_render_s    the same as first_render_s, in a second, new browser context on the same server

Chromium (/usr/bin/chromium, headless) is launched once, before any timing; every page gets its own
context (no shared cache). The first repetition's first page is saved as a screenshot
(test-artifacts/bench/first-render.png by default). One JSON line per repetition, then a summary line
(medians; target 6 of issue #8: first render < 3 s). The app's standby worker (app.py starts one, which
imports torch) is left to run as it would for a person; --no-standby (TRANSFERLAB_STANDBY=0) turns it off
to see what it costs. Everything this script starts, standby workers included, is ended by pid.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import emit, parent_of  # bench/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
SHOT = ROOT / "test-artifacts" / "bench" / "first-render.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TITLE = "Teach a computer to sort your pictures or texts"   # pages/1_welcome.py's st.title
LAST = "Start a text project"                               # its last widget (no project yet)
TARGET_S = 3.0
SERVER_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 30_000

# True once the Welcome page is really drawn (not Streamlit's skeleton): see the docstring.
DRAWN_JS = """([title, last, full]) => {
  const shown = el => !!el && el.getClientRects().length > 0;
  const heading = [...document.querySelectorAll('h1')].find(h => h.textContent.includes(title));
  if (!shown(heading)) return false;
  if (!full) return performance.now();
  const button = [...document.querySelectorAll('button')].find(b => b.textContent.includes(last));
  const image = document.querySelector('[data-testid="stImage"] img, [data-testid="stImageContainer"] img');
  const running = document.querySelector('[data-testid="stStatusWidget"] button');
  if (!shown(button) || !image || !image.complete || !image.naturalWidth || running) return false;
  return performance.now();
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--shot", type=Path, default=SHOT, help="screenshot of the first rendered page")
    parser.add_argument("--no-shot", action="store_true")
    parser.add_argument("--no-standby", action="store_true", help="TRANSFERLAB_STANDBY=0: no warm worker")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for rep in range(1, args.reps + 1):
                shot = None if args.no_shot or rep > 1 else args.shot
                result = measure(browser, rep, shot, args.no_standby)
                results.append(result)
                emit(**result)
        finally:
            browser.close()

    ok = [r for r in results if "first_render_s" in r]
    median = lambda key: statistics.median(r[key] for r in ok if r.get(key) is not None) if ok else None  # noqa: E731
    cold = median("first_render_s")
    emit(event="app_render_summary", reps=len(results), ok=len(ok), median_server_up_s=median("server_up_s"),
          median_first_content_s=median("first_content_s"), median_first_render_s=cold,
          median_warm_render_s=median("warm_render_s"), target_s=TARGET_S,
          met=None if cold is None else cold < TARGET_S, standby=not args.no_standby,
          screenshot=None if args.no_shot else str(args.shot), load1=os.getloadavg()[0])
    return 0 if len(ok) == len(results) else 1


def measure(browser, rep: int, shot: Path | None, no_standby: bool) -> dict:
    """One repetition: a fresh server and home, a cold page, a warm page; everything ended afterwards."""
    home = Path(tempfile.mkdtemp(prefix="tl-app-render-"))
    env = {**os.environ, "TRANSFERLAB_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1"}
    if no_standby:
        env["TRANSFERLAB_STANDBY"] = "0"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    out = {"event": "app_render", "rep": rep, "load1_before": os.getloadavg()[0]}
    log = open(home / "server.log", "w")
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                              cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        out["server_up_s"] = _wait_healthy(url, server, started)
        cold = _render(browser, url, shot)
        out.update(first_content_s=cold["content_s"], first_render_s=cold["render_s"],
                   first_render_browser_s=cold["browser_s"])
        warm = _render(browser, url, None)
        out.update(warm_content_s=warm["content_s"], warm_render_s=warm["render_s"],
                   warm_render_browser_s=warm["browser_s"])
    except Exception as err:  # one bad repetition is reported, not fatal
        log.flush()
        out.update(error=f"{type(err).__name__}: {err}"[:500],
                   server_log_tail=(home / "server.log").read_text(errors="replace")[-1500:])
    finally:
        out["standby_workers"] = _stop(server, home)
        log.close()
        shutil.rmtree(home, ignore_errors=True)
    if shot and "first_render_s" in out:
        out["screenshot"] = str(shot)
    return out


def _wait_healthy(url: str, server: subprocess.Popen, started: float) -> float:
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200 and answer.read().strip() == b"ok":
                    return time.perf_counter() - started
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        if time.perf_counter() - started > SERVER_TIMEOUT_S:
            raise TimeoutError(f"no healthy server after {SERVER_TIMEOUT_S} s")
        time.sleep(0.02)


def _render(browser, url: str, shot: Path | None) -> dict:
    """Fresh context + page (untimed), then goto -> heading visible -> whole page drawn and idle."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(DRAWN_JS, arg=[TITLE, LAST, False], polling=20)
        content = time.perf_counter() - t0
        in_browser = page.wait_for_function(DRAWN_JS, arg=[TITLE, LAST, True], polling=20).json_value()
        render = time.perf_counter() - t0
        if shot:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
        return {"content_s": content, "render_s": render, "browser_s": in_browser / 1000}
    finally:
        context.close()


def _stop(server: subprocess.Popen, home: Path) -> int:
    """End the standby workers app.py started (own sessions, so not in the server's group), then the server."""
    pids = set()
    for marker in (home / "standby").glob("*.*") if (home / "standby").is_dir() else ():
        if marker.stem.isdigit() and parent_of(int(marker.stem)) == server.pid:
            pids.add(int(marker.stem))
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return len(pids)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
