"""AppTest fixtures: an empty workspace per test, projects made on disk, and one real finished run per session."""
from __future__ import annotations

import os
import subprocess
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
def trained(tmp_path_factory) -> dict:
    """One real head-only run of one epoch on a small linked subset, trained by the CLI, shared by all tests."""
    base = tmp_path_factory.mktemp("trained")
    data = base / "data"
    for split in ("train", "val"):
        for label in ("ants", "bees"):
            folder = data / split / label
            folder.mkdir(parents=True)
            for path in sorted((HYMENOPTERA / split / label).glob("*.jpg"))[:10]:
                (folder / path.name).symlink_to(path)
    home = base / "home"
    env = {**os.environ, "TRANSFERLAB_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "tl_core.cli", "train", str(data), "--epochs", "1", "--name",
                           "tiny run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = next(p.name for p in (home / "runs").iterdir() if (p / "metrics.json").exists())
    return {"home": home, "run": run_id, "data": data}


@pytest.fixture
def trained_home(trained, monkeypatch) -> dict:
    monkeypatch.setenv("TRANSFERLAB_HOME", str(trained["home"]))
    return trained


@pytest.fixture
def trained_app(trained_home):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
