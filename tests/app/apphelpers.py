"""Helpers the AppTests share: open a step, make a project on disk, build uploads."""
from __future__ import annotations

from pages.common.frame import STEPS

import io
import re
import json
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HYMENOPTERA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "hymenoptera_data"
YELP = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "sentences" / "yelp_labelled.txt"
PAGES = {step.slug: step.path for step in STEPS}
ANSWER = re.compile(r"### The model(?: says|'s best guess): (.+)")  # Try it's heading, sure of its answer or not


def open_page(at, step: str, **params):
    """Load the app, then switch to one step with the given query parameters."""
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(PAGES[step])
    return at.run()


def make_project(home: Path, kind: str = "image", **fields) -> dict:
    """A project on disk, as the Welcome step would create it, except that the model and the blocks to fine-tune are
    the person's own (the embedded model, the slider), so tests about something else need no ranking; pass
    model="auto", settings={} for TransferLab's automatic choices."""
    project = {"id": os.urandom(8).hex(), "kind": kind, "created": 0.0,
               "model": "efficientnet_lite0" if kind == "image" else "all-MiniLM-L6-v2",
               "source": "photos" if kind == "image" else "table",
               "classes": [{"uid": "aaaa0001", "name": "ants"}, {"uid": "aaaa0002", "name": "bees"}],
               "typed": {}, "table_file": None, "text_column": None, "label_column": None,
               "settings": {"blocks": "mine"}, **fields}
    folder = home / "projects" / project["id"]
    folder.mkdir(parents=True)
    (folder / "project.json").write_text(json.dumps(project))
    return project


def add_photos(home: Path, project: dict, per_class: int = 6) -> None:
    """Real photos, linked into the project's class folders as uploads would be saved."""
    for label in ("ants", "bees"):
        folder = home / "projects" / project["id"] / "photos" / label
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted((HYMENOPTERA / "train" / label).glob("*.jpg"))[:per_class]:
            (folder / path.name).symlink_to(path)


def copy_run(trained: dict, home, run_id: str, project: dict | None = None, state: str | None = None) -> str:
    """The session's real run, copied into this test's workspace under another id: started from `project` on
    the Train step (which records it in config.extra), and ended in `state` (a run stopped after an epoch)."""
    target = home / "runs" / run_id
    shutil.copytree(trained["home"] / "runs" / trained["run"], target, symlinks=True)
    for name, field, value in (("config.json", "extra", project and {"project": project["id"], "kind": "image"}),
                               ("status.json", "state", state)):
        if value:
            stored = json.loads((target / name).read_text())
            (target / name).write_text(json.dumps({**stored, field: value}))
    return run_id


def jpeg_bytes(label: str = "bees", index: int = 0) -> bytes:
    return sorted((HYMENOPTERA / "val" / label).glob("*.jpg"))[index].read_bytes()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def texts(at) -> str:
    """Everything the page says in markdown, captions, alerts and titles, as one string to search."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # as the person reads it: markdown escapes removed


TRACEBACK = re.compile(r"Traceback|File \"|\b\w+(Error|Exception)\b")


def plain(at) -> str:
    """What the page says, checked to be free of exceptions and traceback text."""
    assert not at.exception, at.exception
    said = texts(at)
    assert not TRACEBACK.search(said), said
    return said


def errors(at) -> list[str]:
    """The page's error boxes as a person reads them (markdown escapes removed)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def folder(home, project, *parts) -> Path:
    """A path inside a project's folder in the workspace."""
    return home.joinpath("projects", project["id"], *parts)


def html(at) -> str:
    """Everything the page drew with st.html, as one string to search."""
    return "\n".join(h.proto.body for h in at.html)


# A first visit to the Train step in a fresh process (a new server), printing what it showed and what it imported.
FIRST_VISIT = """
import json, sys
from streamlit.testing.v1 import AppTest
from apphelpers import REPO, open_page, texts
at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=120), "train", project=sys.argv[1])
assert not at.exception, at.exception
print(json.dumps({"text": texts(at), "drawing": at.html[0].proto.body,
                  "imported": [m for m in ("torch", "timm", "transformers") if m in sys.modules]}))
"""


def answer(at) -> str | None:
    """The class Try it's heading names (`ANSWER`), or None without one."""
    return next((found[1] for m in at.markdown if (found := ANSWER.fullmatch(m.value))), None)
