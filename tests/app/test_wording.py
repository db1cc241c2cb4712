"""The same thing is said the same way everywhere: step names, counts, the fine-tuning choice, photo counts."""
import json
import re
import subprocess
import time

from apphelpers import HYMENOPTERA, add_photos, make_project, open_page, texts

from pages.common.frame import STEPS


def test_each_steps_title_is_its_name_in_the_step_indicator(app, home):
    project = make_project(home)
    at = app.run()
    for number, step in enumerate(STEPS, start=1):
        at.query_params["project"] = project["id"]
        at.switch_page(step.path).run()
        assert not at.exception, step.slug
        assert at.title[0].value == step.title, step.slug
        current = [link.label for link in at.page_link if link.label.startswith("**")]
        assert current == [f"**{number} · {step.title}**"], step.slug
        assert at.get("progress")[0].proto.text == f"Step {number} of {len(STEPS)}: {step.title}"


def test_a_live_run_says_one_example_per_second_and_one_epoch(app, home):
    """'1 examples per second', '1 epochs': counts of one read as a person would write them."""
    from tl_core.config import RunConfig
    from tl_core.runs import create_run
    from tl_core.workspace import write_json

    run = create_run(RunConfig(data="/nowhere"))
    worker = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        write_json(run.dir / "status.json", {"state": "running", "pid": worker.pid, "heartbeat": time.time(),
                                             "created": time.time(), "started": time.time()})
        now = time.time()
        events = [{"event": "started", "time": now, "device": "cpu", "trainable_params": 2562,
                   "total_params": 3_373_634, "train_examples": 1, "val_examples": 1, "epochs": 1, "classes": ["a", "b"]},
                  {"event": "progress", "time": now, "step": 1, "steps": 4, "epoch": 1, "loss": 0.7,
                   "samples_per_s": 1.2, "eta_s": 3}]
        (run.dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        at = open_page(app, "train", run=run.id)
        assert not at.exception
        said = texts(at) + "\n".join(p.proto.text for p in at.get("progress"))
        assert "1 example per second" in said and "1 example for training" in said and "· 1 epoch" in said
        assert "examples per second" not in said and "1 epochs" not in said
    finally:
        worker.kill()
        worker.wait()


def test_the_network_drawing_says_one_class_for_one_class():
    from pages.common.charts import network_html

    assert "one of 1 class<" in network_html([("Block 1", 10)], 1, 5, "image", 1)
    assert "one of 2 classes<" in network_html([("Block 1", 10)], 1, 5, "image", 2)


def test_all_blocks_is_said_the_same_on_the_slider_in_run_labels_and_on_the_model_card(app, home, monkeypatch):
    import tl_core.runs as runs
    from pages.common import runview
    from tl_core.config import ALL
    from tl_core.export import model_card

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker process: the run stays queued
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "train", project=project["id"])
    at.select_slider(key="unfreeze").set_value(8).run()  # the default model's last position
    assert at.select_slider(key="unfreeze").options[-1] == "8: all blocks"
    at.button(key="start_training").click().run()
    run = runs.get_run(at.query_params["run"])
    assert run.config.unfreeze == ALL
    assert " · EfficientNet-Lite0, all blocks" in runview.run_label(run)  # the model, then what trained
    description = {"kind": "image", "base_model": "efficientnet_lite0", "arch": "efficientnet_lite0",
                   "classes": ["ants", "bees"], "preprocess": {"input_size": [3, 224, 224], "mean": [0.5] * 3,
                                                               "std": [0.5] * 3}}
    assert "- what trained: all blocks" in model_card(run, description)


def test_the_sidebar_counts_a_table_as_it_counts_photos(app, home):
    """A table is counted as training reads it, like photos beside it; it was only named ("table news.tsv")."""
    from apphelpers import YELP

    project = make_project(home, "text", table_file="reviews.txt")
    (home / "projects" / project["id"] / "table").mkdir()
    (home / "projects" / project["id"] / "table" / "reviews.txt").symlink_to(YELP)
    at = open_page(app, "data", project=project["id"])
    assert not at.exception
    assert "**Data:** 1,000 examples in 2 classes from reviews.txt" in texts(at)


def test_the_sidebar_counts_photos_as_the_class_card_does(app, home):
    """A file that is not a picture and a cut-off JPEG count in neither: both say what training will read."""
    project = make_project(home)
    add_photos(home, project, per_class=6)
    ants = home / "projects" / project["id"] / "photos" / "ants"
    (ants / "notes.txt").write_text("not a picture")
    first = sorted((HYMENOPTERA / "train" / "ants").glob("*.jpg"))[0].read_bytes()
    (ants / "broken.jpg").write_bytes(first[:10])
    at = open_page(app, "data", project=project["id"])
    assert not at.exception
    said = texts(at)
    assert "**Data:** 12 photos in 2 classes" in said
    assert "**6 photos** in this class. 2 files were left out" in said


def test_how_to_read_the_views_names_no_particular_subject():
    """The person's pictures may be X-rays or tomato leaves: "Look inside a block" spoke of "leaves, insects,
    flowers" beside chest X-rays."""
    from tl_core.explain import HOW_TO_READ

    subjects = re.compile(r"\b(leaf|leaves|insects?|flowers?|ants?|bees?|cats?|dogs?|tomato(es)?|x-rays?)\b", re.I)
    assert {view: subjects.findall(words) for view, words in HOW_TO_READ.items() if subjects.search(words)} == {}
