"""RunConfig is the run's record: it survives JSON and ignores what it does not know."""
from __future__ import annotations

import dataclasses
import json

from tl_core.config import ALL, RunConfig


def test_a_config_round_trips_through_json(tmp_path):
    config = RunConfig(data="photos", model="resnet18", unfreeze=ALL, epochs=5, lr=3e-4, extra={"experiment": "e1"})
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert RunConfig.load(path) == config
    assert set(json.loads(config.to_json())) == {f.name for f in dataclasses.fields(RunConfig)}


def test_unknown_keys_from_a_newer_version_are_ignored():
    assert RunConfig.from_dict({"data": "d", "epochs": 2, "a_future_setting": 1}) == RunConfig(data="d", epochs=2)
