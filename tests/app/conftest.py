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
