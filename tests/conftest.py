"""Settings every test shares: no network, quiet libraries, and a private TransferLab workspace on request."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports huggingface_hub or transformers: they read these once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
# No warm standby workers outliving a test (they wait 15 minutes); tests/engine/test_standby.py turns it on.
os.environ["TRANSFERLAB_STANDBY"] = "0"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty TRANSFERLAB_HOME (runs, caches) for this test only."""
    home = tmp_path / "transferlab-home"
    monkeypatch.setenv("TRANSFERLAB_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def train_run():
    """train(home, config) -> the finished Run: what `transferlab train` does in a process of its own (create the
    run, then the worker), done in this one, so the session fixtures of tests/app, tests/engine and tests/explain
    that need a trained run do not each pay a new process's imports (torch, the model) for it."""
    def train(home: Path, config):
        from tl_core.runs import create_run
        from tl_core.worker import run_worker

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TRANSFERLAB_HOME", str(home))
            run = create_run(config)
            assert run_worker(run.dir) == 0, (run.dir / "events.jsonl").read_text()[-2000:]
        return run

    return train
