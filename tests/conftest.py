"""Settings every test shares: no network, quiet libraries, and a private TransferLab workspace on request."""
from __future__ import annotations

import os

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
