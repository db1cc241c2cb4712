"""Step 4: the fine-tuning knob and its drawing, the settings, starting, and following a run from disk."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apphelpers import FIRST_VISIT, add_photos, copy_run, make_project, open_page, texts

import tl_core


@pytest.fixture
def ready(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)
    return open_page(app, "train", project=project["id"]), project


def drawing(at) -> str:
    return at.html[0].proto.body


def test_without_data_the_page_points_to_step_3(app, home):
    project = make_project(home)
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    assert "Add your data first" in texts(at)
    assert "start_training" not in [b.key for b in at.button]


def test_head_only_by_default_with_a_live_parameter_count(ready):
    at, _ = ready
    assert not at.exception
    slider = at.select_slider(key="unfreeze")
    assert slider.value == 0 and len(slider.options) == 9
    assert "trainable: 2,562 of 3.4 M parameters (less than 1%)" in texts(at)
    assert "Only the new head learns" in texts(at)
    body = drawing(at)
    assert body.count('data-state="frozen"') == 8 and body.count('data-state="trainable"') == 0
    assert 'data-state="head"' in body


def test_moving_the_slider_unfreezes_the_last_blocks(ready):
    at, _ = ready
    at.select_slider(key="unfreeze").set_value(2).run()
    assert not at.exception
    assert "The last 2 blocks adapt to your data" in texts(at)
    assert re.search(r"trainable: 2\.7 M of 3\.4 M parameters \(79%\)", texts(at))
    body = drawing(at)
    assert body.count('data-state="trainable"') == 2 and body.count('data-state="frozen"') == 6
    at.select_slider(key="unfreeze").set_value(8).run()
    assert "All blocks are fine-tuned" in texts(at)
    assert "may *overfit*" in texts(at)


def test_from_scratch_switch_trains_everything_and_disables_the_slider(ready):
    at, _ = ready
    at.toggle(key="from_scratch").set_value(True).run()
    assert at.select_slider(key="unfreeze").disabled
    assert "From scratch:" in texts(at)
    assert drawing(at).count('data-state="trainable"') == 8


def test_settings_survive_a_trip_to_another_step(ready):
    at, project = ready
    at.select_slider(key="unfreeze").set_value(3).run()
    at.number_input(key="epochs").set_value(7).run()
    at.switch_page("pages/3_data.py").run()
    at.switch_page("pages/4_train.py").run()
    assert at.select_slider(key="unfreeze").value == 3
    assert at.number_input(key="epochs").value == 7


def test_start_creates_a_run_with_the_chosen_settings_and_follows_it(ready, monkeypatch):
    import tl_core.runs as runs

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker process: the run stays queued
    at, project = ready
    at.select_slider(key="unfreeze").set_value(1).run()
    at.number_input(key="epochs").set_value(3).run()
    assert at.selectbox(key="early_stop").value == 0  # automatic: a few epochs without gain when blocks train
    at.selectbox(key="early_stop").set_value(tl_core.NEVER).run()  # the way to turn it off
    at.button(key="start_training").click().run()
    assert not at.exception
    run_id = at.query_params["run"]
    config = runs.get_run(run_id).config
    assert (config.unfreeze, config.epochs, config.from_scratch, config.augment) == (1, 3, False, "light")
    assert config.early_stop == tl_core.NEVER
    assert config.data.endswith("photos") and config.extra["project"] == project["id"]
    assert "Starting the training process" in texts(at)
    assert at.button(key=f"stop_{run_id}")


def test_stop_asks_the_worker_to_stop(ready, monkeypatch):
    import tl_core.runs as runs

    monkeypatch.setattr(runs, "start_run", runs.create_run)
    at, _ = ready
    at.button(key="start_training").click().run()
    run_id = at.query_params["run"]
    at.button(key=f"stop_{run_id}").click().run()
    assert runs.get_run(run_id).stop_requested()
    assert "Stopping" in texts(at)


def test_a_worker_that_ignores_stop_is_killed_after_the_grace_period(app, home):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run
    from tl_core.workspace import write_json

    run = create_run(RunConfig(data="/nowhere"))
    worker = subprocess.Popen(["sleep", "60"], start_new_session=True)
    write_json(run.dir / "status.json", {"state": "running", "pid": worker.pid, "heartbeat": time.time(),
                                         "created": time.time()})
    run.request_stop()
    past = time.time() - 30
    os.utime(run.stop_file, (past, past))
    at = open_page(app, "train", run=run.id)
    assert not at.exception
    assert worker.wait(timeout=10) == -9


def test_a_failed_run_shows_its_reason(app, home):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run
    from tl_core.workspace import write_json

    run = create_run(RunConfig(data="/nowhere"))
    reason = "'/nowhere' does not exist; check the path."
    write_json(run.dir / "status.json", {"state": "failed", "message": reason, "created": time.time()})
    at = open_page(app, "train", run=run.id)
    assert not at.exception
    assert any("Training failed: '/nowhere' does not exist; check the path." in e.value.replace("\\", "")
               for e in at.error)


def test_a_queued_run_shows_its_place_in_the_queue(app, home):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    create_run(RunConfig(data="/first"))
    time.sleep(0.01)
    second = create_run(RunConfig(data="/second"))
    at = open_page(app, "train", run=second.id)
    assert "Waiting for its turn: 1 run is ahead of this one" in texts(at)


def running_run(event: dict, **settings):
    """A run this process plays the worker of, its events file holding `event`."""
    from tl_core.config import RunConfig
    from tl_core.runs import create_run
    from tl_core.workspace import write_json

    run = create_run(RunConfig(data="/photos", **settings))
    write_json(run.dir / "status.json", {"state": "running", "pid": os.getpid(), "heartbeat": time.time(),
                                         "created": time.time(), "started": time.time()})
    (run.dir / "events.jsonl").write_text(json.dumps(event) + "\n")
    return run


def test_getting_ready_says_what_its_progress_counts(app, home):
    """A fine-tuning run's frozen pass counts views, not pictures, and the bar says so beside its numbers. Before, it
    read "The pretrained network looks at every picture once: 3200 of 5200" for 1,600 tomato-leaf pictures."""
    from tl_core import events

    text = ("The frozen blocks look at your pictures (1,200 training pictures as they are, mirrored and in 2 augmented "
            "copies, 400 for checking as they are)")
    run = running_run(events.make(events.PREPARING, text=text, done=3200, total=5200, unit="views"), unfreeze=2)
    at = open_page(app, "train", run=run.id)
    assert f"{text}: 3,200 of 5,200 views" in [bar.proto.text.replace("\\", "") for bar in at.get("progress")]
    assert not at.get("plotly_chart")  # no empty loss and accuracy axes (epochs 0 to 6) before training starts


def test_ranking_the_models_shows_only_while_getting_ready(app, home):
    """An automatic run that ranks the models itself says so while getting ready; once training started the step is
    over. Before, the sentence stayed on the page as a notice after the run had finished."""
    from tl_core import auto, events

    run = running_run(events.make(events.PREPARING, text=auto.RANKING_NOW), model="auto")
    said = texts(open_page(app, "train", run=run.id))
    assert f"{auto.RANKING_NOW}…" in said and "You can leave this page or reload it: training goes on" in said
    started = events.make(events.STARTED, device="CPU", trainable_params=2562, total_params=3_376_132,
                          train_examples=12, val_examples=4, epochs=1, steps=1)
    with (run.dir / "events.jsonl").open("a") as out:
        out.write(json.dumps(started) + "\n")
    at = open_page(app, "train", run=run.id)
    assert not at.exception and auto.RANKING_NOW not in texts(at)


def test_the_bar_says_when_an_epoch_has_finished(app, home):
    """Between the end of epoch 1 and epoch 2's first step the bar said "epoch 1 of 2" at 50 %, as if it had begun."""
    from tl_core import events

    started = events.make(events.STARTED, device="CPU", trainable_params=2562, total_params=3_376_132,
                          train_examples=12, val_examples=4, epochs=2, steps=4)
    step = events.make(events.PROGRESS, step=2, steps=4, epoch=1, loss=0.6, samples_per_s=20.0, eta_s=3.0)
    run = running_run(started)
    with (run.dir / "events.jsonl").open("a") as out:
        out.write(json.dumps(step) + "\n")
    bar = lambda: [b.proto.text for b in open_page(app, "train", run=run.id).get("progress")]  # noqa: E731
    assert any(text.startswith("50% · epoch 1 of 2 · ") for text in bar())
    epoch = events.make(events.EPOCH, epoch=1, train_loss=0.6, val_loss=0.5, val_accuracy=0.75, lr=0.01,
                        elapsed_s=2.0)
    with (run.dir / "events.jsonl").open("a") as out:
        out.write(json.dumps(epoch) + "\n")
    assert any(text.startswith("50% · epoch 1 of 2 finished · ") for text in bar())


def test_training_on_says_how_each_picture_is_seen(app, home):
    """Two views of each picture are the picture as it is and its mirror; the line said "each seen 2 ways: mirrored
    or augmented copies" for them, though no augmented copy was made (the progress bar before it names them right)."""
    from tl_core import events

    started = events.make(events.STARTED, device="CPU, bfloat16", trainable_params=2_675_364, total_params=3_376_132,
                          train_examples=1200, val_examples=400, epochs=1, steps=38, views_per_example=2)
    run = running_run(started, unfreeze=2, epochs=1)
    said = texts(open_page(app, "train", run=run.id))
    assert ("**Training on:** CPU · 2,675,364 of 3,376,132 parameters learn · 1,200 examples for training (seen as "
            "they are and mirrored), 400 for checking · 1 epoch") in said


def test_an_unknown_run_in_the_url_gives_a_sentence(app, home):
    at = open_page(app, "train", run="20990101-000000-beef")
    assert not at.exception
    assert any("There is no run called" in e.value for e in at.error)


def test_a_finished_run_reconnects_from_the_url(trained_app, trained_home):
    import tl_core

    at = open_page(trained_app, "train", run=trained_home["run"])
    assert not at.exception
    ending, status = tl_core.get_run(trained_home["run"]).events()[-1], tl_core.get_run(trained_home["run"]).status()
    waited, elapsed = ending["time"] - status["created"], ending["elapsed_s"]  # from Start; in training
    assert (f"Training finished in {tl_core.duration(waited)} ({tl_core.duration(elapsed)} of it training)."
            if waited - elapsed >= 2 else f"Training finished in {tl_core.duration(elapsed)}.") in texts(at)
    assert "You can leave this page" not in texts(at)  # said while it trains; it stayed after the run had ended
    assert "Epochs finished: 1 of 1" in texts(at)
    metrics = tl_core.get_run(trained_home["run"]).metrics()  # 20 validation photos: how sure, beside the accuracy
    assert tl_core.how_sure(metrics["accuracy"], 20) in texts(at) and "add more examples" in texts(at)
    assert at.button(key=f"to_results_{trained_home['run']}")
    at.button(key=f"to_results_{trained_home['run']}").click().run()
    assert at.title[0].value == "Results"
    assert json.loads(json.dumps(at.query_params["run"])) == trained_home["run"]


def test_start_failure_is_a_sentence(ready, monkeypatch):
    import tl_core.runs as runs
    from tl_core.data import DataError

    def refuse(config):
        raise DataError("The folder of photos has gone; add your data again.")

    monkeypatch.setattr(runs, "start_run", refuse)
    at, _ = ready
    at.button(key="start_training").click().run()
    assert not at.exception
    assert any("The folder of photos has gone" in e.value for e in at.error)


def test_start_is_refused_while_the_data_has_problems(app, home):
    from apphelpers import HYMENOPTERA

    project = make_project(home)
    add_photos(home, project, per_class=6)
    lonely = home / "projects" / project["id"] / "photos" / "wasps"
    lonely.mkdir()
    (lonely / "one.jpg").symlink_to(sorted((HYMENOPTERA / "train" / "bees").glob("*.jpg"))[-1])
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    assert "Class 'wasps' has only 1 example" in texts(at)
    assert "start_training" not in [b.key for b in at.button]


def test_the_page_asks_the_warm_worker_to_prepare_the_data_once(app, home, monkeypatch):
    """The features are computed while the person reads the page, so Start only trains the head."""
    from tl_core.config import RunConfig
    from tl_core.standby import standby_dir

    monkeypatch.setenv("TRANSFERLAB_STANDBY", "1")  # app.py then finds the ready "worker" below and starts none
    (standby_dir() / f"{os.getpid()}.ready").touch()  # this test process plays the ready worker
    request = standby_dir() / f"{os.getpid()}.prepare"
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    asked = RunConfig.from_dict(json.loads(request.read_text()))
    assert asked.data.endswith("photos") and (asked.augment, asked.seed) == ("light", 0)
    request.unlink()
    at.select_slider(key="unfreeze").set_value(2).run()  # same data and views: nothing new to prepare
    assert not request.exists()
    at.number_input(key="seed").set_value(4).run()  # another split: prepared again
    assert RunConfig.from_dict(json.loads(request.read_text())).seed == 4


@pytest.mark.parametrize("kind", ["image", "text"])
def test_the_first_visit_draws_the_network_without_building_it(app, home, kind):
    """Building the network to draw it (torch imported into the server, the model made) made the first visit
    take 11-25 s on a busy 2-core CPU; the catalogue's layout draws the same in well under a second."""
    from apphelpers import YELP

    project = make_project(home, kind, **({} if kind == "image" else {"table_file": "yelp.txt"}))
    if kind == "image":
        add_photos(home, project, per_class=6)
    else:
        (home / "projects" / project["id"] / "table").mkdir()
        (home / "projects" / project["id"] / "table" / "yelp.txt").symlink_to(YELP)
    tests_app = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", FIRST_VISIT, project["id"]], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": tests_app})  # a fresh server process
    assert done.returncode == 0, done.stderr[-3000:]
    page = json.loads(done.stdout.strip().splitlines()[-1])
    assert page["imported"] == []
    blocks, shown = (8, "trainable: 2,562 of 3.4 M parameters") if kind == "image" else \
        (7, "trainable: 770 of 22.7 M parameters")
    assert shown in page["text"]
    assert page["drawing"].count('data-state="frozen"') == blocks and 'data-state="head"' in page["drawing"]


def test_the_page_counts_the_parameters_its_run_reports(app, home, trained):
    """The counts drawn come from the catalogue, the run's from the built model: they are the same numbers."""
    from pages.common import engine
    from tl_core.freeze import Plan

    lines = (trained["home"] / "runs" / trained["run"] / "events.jsonl").read_text().splitlines()
    started = next(e for e in map(json.loads, lines) if e["event"] == "started")  # the embedded model, 2 classes
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "train", project=project["id"])
    layout, _ = engine.layout(project["model"], "image", 2)
    plan, _ = engine.plan(layout, 0, False)
    assert (plan.trainable, plan.total) == (started["trainable_params"], started["total_params"])
    shown = Plan(0, 8, started["trainable_params"], started["total_params"], False).describe()
    assert shown in texts(at)



def test_a_run_that_trained_in_a_second_says_how_long_the_person_waited(app, home, trained):
    """Features prepared ahead, a head-only run trains in under a second; after 6 s from Start, 'Training finished in
    under a second' read as wrong."""
    import json as stored

    import tl_core

    shown = copy_run(trained, home, "20990101-000000-0001")
    ending = tl_core.get_run(shown).events()[-1]
    folder = home / "runs" / shown
    lines = (folder / "events.jsonl").read_text().splitlines()  # the finished event last: 0.4 s of training
    (folder / "events.jsonl").write_text("\n".join(lines[:-1] + [stored.dumps({**ending, "elapsed_s": 0.4})]) + "\n")
    status = stored.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(stored.dumps({**status, "created": ending["time"] - 6.4}))  # Start: 6.4 s
    at = open_page(app, "train", run=shown)
    assert not at.exception
    assert "Training finished in 6 s (under a second of it training)." in texts(at)


def test_the_form_says_when_the_run_below_was_made_with_other_settings(app, home, trained):
    """The form above a run shown on the Train step holds the settings of the next run: with other ones, it read as
    that run's ("only the new head" above a run of the last 2 blocks)."""
    project = make_project(home, "image")
    add_photos(home, project, per_class=6)
    shown = copy_run(trained, home, "20990101-000000-0001", project=project)  # 1 epoch, only the new head
    at = open_page(app, "train", project=project["id"], run=shown)
    assert not at.exception
    said = "The settings above are for your next run: this one was made with a different"
    assert f"{said} number of epochs (its own are in its label and summary below)." in texts(at)
    at.number_input(key="epochs").set_value(1).run()  # the run's own: nothing to say
    assert not at.exception and said not in texts(at)
    at.selectbox(key="lr").set_value(0.01).run()
    assert f"{said} learning rate (its own" in texts(at)


def test_a_run_with_automatic_epochs_is_compared_by_the_number_it_trained(app, home, trained):
    """A run left to automatic epochs trained a number of them (its `started` event says which): 1 in the form is
    the 1 it trained, and the caption said "made with a different number of epochs" all the same."""
    import json as stored

    project = make_project(home, "image")
    add_photos(home, project, per_class=6)
    shown = copy_run(trained, home, "20990101-000000-0001", project=project)
    config = home / "runs" / shown / "config.json"
    config.write_text(stored.dumps({**stored.loads(config.read_text()), "epochs": 0}))
    said = "The settings above are for your next run: this one was made with a different number of epochs"
    at = open_page(app, "train", project=project["id"], run=shown)
    assert not at.exception and said not in texts(at)  # automatic in both
    at.number_input(key="epochs").set_value(1).run()  # the number the run came to
    assert not at.exception and said not in texts(at)
    at.number_input(key="epochs").set_value(3).run()
    assert not at.exception and said in texts(at)


def test_a_continued_run_is_not_said_to_differ_in_what_was_chosen_for_it(app, home, trained):
    """A continued run names its model and blocks (the choice made for its first run); a form left to TransferLab
    said "made with a different model, choice of what learns and number of epochs" where only the epochs differed."""
    import json as stored

    project = make_project(home, "image", model="auto", settings={})
    add_photos(home, project, per_class=6)
    shown = copy_run(trained, home, "20990101-000000-0001", project=project)
    config = home / "runs" / shown / "config.json"
    config.write_text(stored.dumps({**stored.loads(config.read_text()), "model": "efficientnet_lite0", "unfreeze": 2,
                                    "epochs": 5, "resume_from": "20990101-000000-0000"}))
    at = open_page(app, "train", project=project["id"], run=shown)
    assert not at.exception
    assert ("The settings above are for your next run: this one was made with a different number of epochs (its "
            "own are in its label and summary below).") in texts(at)
