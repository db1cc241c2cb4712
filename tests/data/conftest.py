"""Shared fixtures for the data tests; builders live in datakit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from datakit import DATASETS, REPO

# `.venv/bin/pytest` puts only this folder on sys.path and the package is not installed.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def hymenoptera() -> Path:
    return DATASETS / "hymenoptera_data"


@pytest.fixture(scope="session")
def yelp() -> Path:
    return DATASETS / "sentences" / "yelp_labelled.txt"
