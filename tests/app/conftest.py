"""AppTest fixtures: an empty workspace per test, projects made on disk, and one real finished run per session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from apphelpers import HYMENOPTERA  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty TRANSFERLAB_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("TRANSFERLAB_HOME", str(path))
    return path


@pytest.fixture
def app(home):
    """Start the app the way `streamlit run app.py` does; `open(app, "train", project=...)` goes to a step."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "app.py"), default_timeout=60)


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules whose explain views run in the test process: one torch thread, as the machine's two cores
    are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, train_run) -> dict:
    """One real head-only run of one epoch on a small linked subset, shared by all tests (trained in this process
    as `transferlab train DATA --epochs 1 --name "tiny run"` trains it in its own: tests/conftest.py train_run)."""
    from tl_core.config import RunConfig

    base = tmp_path_factory.mktemp("trained")
    data = base / "data"
    for split in ("train", "val"):
        for label in ("ants", "bees"):
            folder = data / split / label
            folder.mkdir(parents=True)
            for path in sorted((HYMENOPTERA / split / label).glob("*.jpg"))[:10]:
                (folder / path.name).symlink_to(path)
    home = base / "home"
    run = train_run(home, RunConfig(data=str(data), epochs=1, name="tiny run"))
    return {"home": home, "run": run.id, "data": data}


@pytest.fixture
def trained_home(trained, monkeypatch) -> dict:
    monkeypatch.setenv("TRANSFERLAB_HOME", str(trained["home"]))
    return trained


@pytest.fixture
def trained_app(trained_home):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120)


RANKED_PER_CLASS = 20  # pictures per class the ranking tests score: 3 models ranked in seconds


@pytest.fixture(scope="session")
def ranked(tmp_path_factory) -> dict:
    """A picture project left to TransferLab ("auto"), 20 photos per class copied in, opened on the Model step (which
    starts ranking its data in the background) and waited for until the ranking is done; shared by the tests
    that read a finished ranking."""
    import os
    import shutil
    import time

    from apphelpers import make_project, open_page, texts
    from streamlit.testing.v1 import AppTest

    import tl_core
    from pages.common import ranking

    home = tmp_path_factory.mktemp("ranked") / "home"
    home.mkdir()
    before = os.environ.get("TRANSFERLAB_HOME")
    os.environ["TRANSFERLAB_HOME"] = str(home)
    try:
        project = make_project(home, "image", model=tl_core.AUTO_MODEL, settings={})
        for label in ("ants", "bees"):
            folder = home / "projects" / project["id"] / "photos" / label
            folder.mkdir(parents=True)
            for path in sorted((HYMENOPTERA / "train" / label).glob("*.jpg"))[:RANKED_PER_CLASS]:
                shutil.copy(path, folder / path.name)
        at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "model", project=project["id"])
        assert not at.exception and at.title[0].value == "Choose a model"
        opened = texts(at)
        config = ranking.config(project)
        deadline = time.time() + 300
        while (found := tl_core.ranking_status(config)) is not None and found.state == "running":
            assert time.time() < deadline, "the ranking did not finish in 5 minutes"
            time.sleep(0.5)
    finally:
        if before is None:
            os.environ.pop("TRANSFERLAB_HOME", None)
        else:
            os.environ["TRANSFERLAB_HOME"] = before
    assert found is not None and found.state == "done", found and found.message
    return {"home": home, "project": project, "ranking": found, "opened": opened}


@pytest.fixture
def ranked_home(ranked, monkeypatch) -> dict:
    monkeypatch.setenv("TRANSFERLAB_HOME", str(ranked["home"]))
    return ranked
