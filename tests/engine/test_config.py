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


def test_every_field_explains_itself_for_the_cli_and_the_form():
    from tl_core.config import AUGMENTATIONS, field_choices, field_help

    for f in dataclasses.fields(RunConfig):
        assert field_help(f.name).strip(), f"RunConfig.{f.name} has no help text in its metadata"
    assert field_choices("augment") == AUGMENTATIONS and field_choices("epochs") is None
