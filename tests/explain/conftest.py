"""Shared fixtures for the explain tests: a private TransferLab home, the real datasets, two real models.

The home is one temporary folder for the whole session, so the engine's caches (decoded pictures,
frozen features) are shared between tests the way they are between runs in the app.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
YELP_LINES = 300  # enough for a head to learn sentiment (about 85% on the held-out fifth), a few seconds of features


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The test machine's two cores are shared: one thread each leaves room for others and, under load,
    was also faster here (small batches lose more to thread contention than they gain)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def transferlab_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("transferlab-home")
    saved = {k: os.environ.get(k) for k in ("TRANSFERLAB_HOME", "HF_HUB_OFFLINE")}
    os.environ.update(TRANSFERLAB_HOME=str(home), HF_HUB_OFFLINE="1")
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def hymenoptera() -> Path:
    path = DATASETS / "hymenoptera_data"
    if not path.is_dir():
        pytest.skip("the ants/bees dataset is not in shared/datasets")
    return path


@pytest.fixture(scope="session")
def yelp_subset(tmp_path_factory) -> Path:
    source = DATASETS / "sentences" / "yelp_labelled.txt"
    if not source.is_file():
        pytest.skip("the Yelp sentences are not in shared/datasets")
    path = tmp_path_factory.mktemp("yelp") / "yelp_subset.txt"
    path.write_text("\n".join(source.read_text().splitlines()[:YELP_LINES]) + "\n")
    return path


@pytest.fixture(scope="session")
def imagenet_lite0():
    """The embedded EfficientNet-Lite0 with its ImageNet head (class 309 is 'bee')."""
    from tl_core.models import load_model

    return load_model("", "image", None)


@pytest.fixture(scope="session")
def yelp_run(transferlab_home, yelp_subset, train_run):
    """A finished head-only MiniLM run on the Yelp subset, trained in-process the way a worker trains."""
    from tl_core.config import RunConfig

    return train_run(transferlab_home, RunConfig(data=str(yelp_subset), name="yelp head only"))
