"""The automatic choices on real pictures (`auto.choose`), and the app's background ranking (`ranking.py`)."""
from __future__ import annotations

import os

from tl_core.auto import FEW_PER_CLASS, RANKING_NOW, choose, few_examples
from tl_core.config import ALL, AUTO, AUTO_MODEL, RunConfig, what_trains
from tl_core.models import find_model
from tl_core.ranking import rank_into, ranking_file, ranking_status, start_ranking
from tl_core.select import layer_scores, sample_data
from tl_core.workspace import write_json

from .conftest import link_photos, wait_for


def test_few_pictures_per_class_train_only_the_head_of_the_best_model(warm_workspace, image_subset):
    config = RunConfig(data=str(image_subset), model=AUTO_MODEL, unfreeze=AUTO)
    said = []
    on_gpu = choose(config, said.append, on_cpu=False)
    assert [(e["event"], e["text"]) for e in said] == [("preparing", RANKING_NOW)]  # a step of getting ready
    ranking = ranking_status(config)  # written by the choice, for the app
    assert ranking.state == "done" and on_gpu.model == ranking.scores[0].model
    assert (ranking.recommended.gap, ranking.recommended.relatedness) == (None, "") and not ranking.whole
    assert on_gpu.unfreeze == 0 and f"fewer than about {FEW_PER_CLASS}" in on_gpu.reason
    title = find_model(on_gpu.model).title
    assert on_gpu.reason.endswith(f"So: {title}, only the new head (unfreeze 0).")
    on_cpu = choose(config, on_cpu=True)  # the same ranking, read back; within CLOSE_SCORES the smaller model
    assert find_model(on_cpu.model).params_m <= find_model(on_gpu.model).params_m
    assert find_model(on_cpu.model).title in on_cpu.reason
    mine = choose(RunConfig(data=str(image_subset), model=AUTO_MODEL, unfreeze=1), on_cpu=True)  # the blocks mine
    assert mine.reason.endswith(f"So: {find_model(mine.model).title}, and the blocks you chose: the last block "
                                f"(unfreeze 1).")  # it read "So: EfficientNet-Lite1, the last block (unfreeze 1)."


def test_enough_pictures_per_class_follow_the_per_block_scores(warm_workspace, tmp_path):
    data = link_photos(tmp_path / "photos", {"train": {"ants": FEW_PER_CLASS, "bees": FEW_PER_CLASS}})
    config = RunConfig(data=str(data), unfreeze=AUTO)  # the model as given: only its blocks are scored
    choice = choose(config, on_cpu=True)
    layers = layer_scores(sample_data(str(data), config=config), "efficientnet_lite0")
    assert choice.model == "efficientnet_lite0" and choice.unfreeze == layers.unfreeze
    assert choice.reason.startswith(layers.reason)
    assert choice.reason.endswith(f"{what_trains(layers.unfreeze)} (unfreeze {layers.unfreeze}).")


def test_sentences_fine_tune_every_block_of_the_text_model(warm_workspace, yelp_subset):
    choice = choose(RunConfig(data=str(yelp_subset), model=AUTO_MODEL, unfreeze=AUTO), on_cpu=True)
    assert choice.model == "all-MiniLM-L6-v2" and choice.unfreeze == ALL
    assert "fine-tuning every layer of a sentence model did better than fine-tuning only its last" in choice.why_blocks
    assert choice.reason.endswith("So: MiniLM-L6 (sentence encoder), all blocks (unfreeze all).")


def test_the_ranking_records_the_choice_training_makes(warm_workspace, image_subset):
    """The app shows the ranking's record: its model, blocks and reason are the ones training then uses."""
    config = RunConfig(data=str(image_subset), model=AUTO_MODEL, unfreeze=AUTO)
    rank_into(ranking_file(config), config)  # the app's background job, run here
    recorded, choice = ranking_status(config).recommended, choose(config)  # training's choice on this device
    assert (recorded.model, recorded.unfreeze, recorded.reason) == (choice.model, choice.unfreeze, choice.reason)
    assert recorded.why_blocks == few_examples(35) and ranking_status(config).layers.model == choice.model
    assert ranking_status(config).scored == ranking_status(config).of == 70  # fewer than RANK_SAMPLE: every one


def test_a_training_runs_ranking_leaves_the_random_twin_to_the_app(warm_workspace, tmp_path, monkeypatch):
    """The choice does not use how related the data is, so a training run that ranks for itself skips the random
    twin's pass (3.5 s of a cold 17.5 s choice on ants/bees); the app's ask then ranks again in the background, from
    the cached features, to measure it."""
    from tl_core import catalog, select

    computed = []
    cached_tensor = select.cached_tensor
    monkeypatch.setattr(select, "cached_tensor", lambda key, compute: cached_tensor(
        key, lambda: computed.append(key) or compute()))
    config = RunConfig(data=str(link_photos(tmp_path / "photos", {"train": {"ants": 3, "bees": 3}})),
                       model=AUTO_MODEL, unfreeze=AUTO)
    choice = choose(config, on_cpu=True)
    assert len(computed) == len([m for m in catalog("image") if m.available])  # one pass per model, no twin
    assert not ranking_status(config).whole
    start_ranking(config)  # as the Model page asks
    assert ranking_status(config).state == "running"
    done = wait_for(lambda: (r := ranking_status(config)).state != "running" and r, 180, "the ranking to end")
    assert done.whole and "what this model learned" in done.recommended.relatedness
    assert (done.recommended.model, done.recommended.reason) == (choice.model, choice.reason)


def test_nothing_automatic_is_left_alone(image_subset):
    config = RunConfig(data=str(image_subset), model="efficientnet_lite1", unfreeze=2)
    choice = choose(config)
    assert (choice.model, choice.unfreeze, choice.reason, choice.event_fields()) == ("efficientnet_lite1", 2, "", {})


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


def test_a_stamped_ask_reads_the_data_once_per_stamp(workspace, tmp_path, monkeypatch):
    """The Model page asks for the ranking every second while it runs: given the data's stamp, the engine names the
    data's version once per stamp instead of reading every file's size and time at each ask."""
    import tl_core.ranking as ranking

    data = link_photos(tmp_path / "photos", {"train": {"ants": 2, "bees": 2}})
    reads, load = [], ranking.load_dataset
    monkeypatch.setattr(ranking, "load_dataset", lambda *args, **kw: reads.append(args[0]) or load(*args, **kw))
    config = RunConfig(data=str(data))
    assert [ranking_status(config, stamp=("as added",)) for _ in range(3)] == [None] * 3
    assert len(reads) == 1
    (data / "train" / "ants" / "copy.jpg").symlink_to(next((data / "train" / "ants").iterdir()).resolve())
    assert ranking_file(config, stamp=("one more",)) != ranking_file(config, stamp=("as added",))
    assert len(reads) == 2  # a new stamp: read again, and a new version
    ranking_status(config)
    ranking_status(config)
    assert len(reads) == 4  # without a stamp (the CLI, training) every ask reads the data


def test_background_jobs_take_turns_and_a_newer_version_stops_the_older(workspace, tmp_path):
    """Each version of the data starts a job while photos are being added: the jobs take turns on the workspace's
    lock, a newer version of the same data stops the older one's job (its record goes with it), and another
    project's job is not stopped but waits its turn. The newest fills in, then recommends."""
    import fcntl

    from tl_core.standby import pid_alive
    from tl_core.workspace import read_json

    data = link_photos(tmp_path / "photos", {"train": {"ants": 3, "bees": 3}})
    config, elsewhere = RunConfig(data=str(data)), RunConfig(data=str(link_photos(tmp_path / "other",
                                                                                   {"train": {"ants": 2, "bees": 2}})))
    assert ranking_status(config) is None
    older = ranking_file(config)
    with open(older.parent / "turn.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a ranking already taking its turn: jobs started now wait
        start_ranking(config)
        first = read_json(older)
        start_ranking(config)  # idempotent: the job already there is the one
        assert read_json(older)["started"] == first["started"]
        start_ranking(elsewhere)
        pid = wait_for(lambda: (read_json(older) or {}).get("pid"), 60, "the first job to start")
        (data / "train" / "ants" / "copy.jpg").symlink_to(next((data / "train" / "ants").iterdir()).resolve())
        start_ranking(config)  # one more photo: a new version of the same data
        assert ranking_file(config) != older and ranking_status(config).state == "running"
        wait_for(lambda: not older.exists() and not pid_alive(pid), 60, "the older version's job to stop")
        assert ranking_status(elsewhere).state == "running"
        fcntl.flock(lock, fcntl.LOCK_UN)
    done = [wait_for(lambda c=c: (r := ranking_status(c)).state != "running" and r, 180, "the rankings to finish")
            for c in (config, elsewhere)]
    assert [r.state for r in done] == ["done", "done"], [r.message for r in done]
    first, second = sorted((ranking_file(c) for c in (config, elsewhere)), key=lambda p: read_json(p)["started"])
    assert read_json(second)["started"] >= first.stat().st_mtime  # the second began once the first had finished
    ranking = done[0]
    assert [s.score for s in ranking.scores] == sorted((s.score for s in ranking.scores), reverse=True)
    assert all(s.title and s.seconds >= 0 for s in ranking.scores)
    best = ranking.recommended
    assert best.model in [s.model for s in ranking.scores] and best.relatedness and best.reason
    assert ranking.layers.model == best.model and len(ranking.layers.blocks) == len(ranking.layers.scores) == 8
