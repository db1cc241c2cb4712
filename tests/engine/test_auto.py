"""The automatic choices on real pictures (`auto.choose`), and the app's background ranking (`ranking.py`)."""
from __future__ import annotations

import json
import os

from tl_core.auto import FEW_PER_CLASS, choose, few_examples
from tl_core.config import AUTO, AUTO_MODEL, RunConfig, what_trains
from tl_core.models import find_model
from tl_core.ranking import rank_into, ranking_file, ranking_status, start_ranking
from tl_core.select import layer_scores, sample_data
from tl_core.workspace import write_json

from .conftest import link_photos, wait_for


def test_few_pictures_per_class_train_only_the_head_of_the_best_model(warm_workspace, image_subset):
    config = RunConfig(data=str(image_subset), model=AUTO_MODEL, unfreeze=AUTO)
    on_gpu = choose(config, on_cpu=False)
    ranking = ranking_status(config)  # written by the choice, for the app
    assert ranking.state == "done" and on_gpu.model == ranking.scores[0].model
    assert on_gpu.unfreeze == 0 and f"fewer than about {FEW_PER_CLASS}" in on_gpu.reason
    title = find_model(on_gpu.model).title
    assert on_gpu.reason.endswith(f"So: {title}, only the new head (unfreeze 0).")
    on_cpu = choose(config, on_cpu=True)  # the same ranking, read back; within CLOSE the smaller model
    assert find_model(on_cpu.model).params_m <= find_model(on_gpu.model).params_m
    assert find_model(on_cpu.model).title in on_cpu.reason


def test_enough_pictures_per_class_follow_the_per_block_scores(warm_workspace, tmp_path):
    data = link_photos(tmp_path / "photos", {"train": {"ants": FEW_PER_CLASS, "bees": FEW_PER_CLASS}})
    config = RunConfig(data=str(data), unfreeze=AUTO)  # the model as given: only its blocks are scored
    choice = choose(config, on_cpu=True)
    layers = layer_scores(sample_data(str(data), config=config), "efficientnet_lite0")
    assert choice.model == "efficientnet_lite0" and choice.unfreeze == layers.unfreeze
    assert choice.reason.startswith(layers.reason)
    assert choice.reason.endswith(f"{what_trains(layers.unfreeze)} (unfreeze {layers.unfreeze}).")


def test_the_ranking_records_the_choice_training_makes(warm_workspace, image_subset):
    """The app shows the ranking's record: its model, blocks and reason are the ones training then uses."""
    config = RunConfig(data=str(image_subset), model=AUTO_MODEL, unfreeze=AUTO)
    rank_into(ranking_file(config), config)  # the app's background job, run here
    recorded, choice = ranking_status(config).recommended, choose(config)  # training's choice on this device
    assert (recorded.model, recorded.unfreeze, recorded.reason) == (choice.model, choice.unfreeze, choice.reason)
    assert recorded.why_blocks == few_examples(35) and ranking_status(config).layers.model == choice.model


def test_nothing_automatic_is_left_alone(image_subset):
    config = RunConfig(data=str(image_subset), model="efficientnet_lite1", unfreeze=2)
    choice = choose(config)
    assert (choice.model, choice.unfreeze, choice.reason, choice.event_fields()) == ("efficientnet_lite1", 2, "", {})


def test_background_ranking_fills_in_then_recommends(warm_workspace, tmp_path):
    data = link_photos(tmp_path / "photos", {"train": {"ants": 6, "bees": 6}})
    config = RunConfig(data=str(data))
    assert ranking_status(config) is None
    start_ranking(config)
    first = json.loads(ranking_file(config).read_text())
    start_ranking(config)  # idempotent: the job already running is the one
    assert json.loads(ranking_file(config).read_text())["started"] == first["started"]
    ranking = wait_for(lambda: (r := ranking_status(config)).state != "running" and r, 180, "the ranking to finish")
    assert ranking.state == "done" and ranking.message == "", ranking.message
    assert [s.score for s in ranking.scores] == sorted((s.score for s in ranking.scores), reverse=True)
    assert all(s.title and s.seconds >= 0 for s in ranking.scores)
    best = ranking.recommended
    assert best.model in [s.model for s in ranking.scores] and best.relatedness and best.reason
    assert ranking.layers.model == best.model
    assert len(ranking.layers.blocks) == len(ranking.layers.scores) == 8


def test_ranking_failures_are_sentences(workspace, tmp_path):
    assert "does not exist" in ranking_status(RunConfig(data=str(tmp_path / "missing"))).message
    data = link_photos(tmp_path / "photos", {"train": {"ants": 2, "bees": 2}})
    config = RunConfig(data=str(data))
    write_json(ranking_file(config), {"state": "running", "pid": _a_finished_pid(), "started": 0})
    gone = ranking_status(config)
    assert gone.state == "failed" and "stopped unexpectedly" in gone.message


def _a_finished_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
