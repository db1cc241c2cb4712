"""Everything a page needs ships with the app: walking the first steps asks nothing of the internet.

Streamlit's frontend shows a `:material/...:` page icon as the tab's icon by loading an SVG from
fonts.gstatic.com (offline: ERR_NAME_NOT_RESOLVED in the console on every page); the app's own icon
is served with it instead. Every request the browser makes is recorded, as are the console's errors.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
from e2ehelpers import text, wait_for_rerun

pytestmark = pytest.mark.e2e

LOCAL = {"127.0.0.1", "localhost"}


def test_the_first_steps_ask_nothing_of_the_internet(page, server, shot):
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: errors.append(f"{request.url}: {request.failure}"))

    page.goto(server)
    text(page, "Teach a computer to sort")
    page.get_by_role("button", name="Start a picture project").click()
    page.get_by_role("heading", name="Choose a model").wait_for()
    text(page, "available offline")
    page.get_by_role("button", name="Next: add your data").click()
    page.get_by_role("heading", name="Add your data").wait_for()
    text(page, "How do you want to add examples?")
    page.get_by_role("link", name="4 · Train").click()
    page.get_by_role("heading", name="Train").wait_for()
    text(page, "Add your data first")
    wait_for_rerun(page)
    page.wait_for_timeout(2_000)  # late requests: icons, fonts, the favicon
    shot(page, "offline_train")

    outside = sorted({url for url in requests if urlparse(url).scheme in ("http", "https", "ws", "wss")
                      and urlparse(url).hostname not in LOCAL})
    assert not outside, outside
    assert not [e for e in errors if "ERR_NAME_NOT_RESOLVED" in e or "gstatic" in e], errors
    icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
    assert urlparse(icon).scheme == "data" or urlparse(icon).hostname in LOCAL, icon
    assert page.title() == "Train · TransferLab"
