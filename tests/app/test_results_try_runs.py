"""Steps 5 to 7 on a real finished run: results, predictions, the list of runs and the download."""
import json
import logging
import re
import shutil

import pytest
import tl_core
from apphelpers import PAGES, REPO, YELP, answer, copy_run, jpeg_bytes, make_project, open_page, texts
from streamlit.testing.v1 import AppTest


def test_results_show_accuracy_table_confusion_and_mistakes(trained_app, trained_home):
    at = open_page(trained_app, "results", run=trained_home["run"])
    assert not at.exception
    accuracy = at.metric[0]
    assert accuracy.label == "Accuracy" and accuracy.value.endswith("%")
    assert at.metric[1].value == "20"  # 10 validation photos per class
    low, high = tl_core.interval(float(accuracy.value.rstrip("%")) / 100, 20)
    cautions = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]  # few to check with: a caution
    assert len(cautions) == 1 and "add more examples" in cautions[0]
    assert (f"Measured on 20 validation examples: on new examples like these, expect between {low:.0%} and "
            f"{high:.0%}") in cautions[0]
    table = at.dataframe[0].value
    assert list(table["class"]) == ["ants", "bees"] and list(table["examples"]) == [10, 10]
    assert len(at.get("plotly_chart")) == 2  # confusion matrix and training curves
    assert "Examples the model got wrong" in texts(at)
    assert at.selectbox[0].options[0].startswith("tiny run · EfficientNet-Lite0, only the new head · ")


def test_results_warn_when_the_model_answers_one_class_for_everything(app, home, trained):
    """A model that put every validation example in one class read 50 % (or 85 %) like any other accuracy."""
    project = make_project(home, "image")
    shown = copy_run(trained, home, "20990101-000000-0001", project=project)
    stored = home / "runs" / shown / "metrics.json"
    metrics = json.loads(stored.read_text())
    stored.write_text(json.dumps({**metrics, "accuracy": 0.5, "confusion": [[10, 0], [10, 0]]}))
    at = open_page(app, "results", run=shown)
    assert not at.exception
    warned = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any(w.startswith('It answered "ants" for all 20 validation examples, so its 50% is only the share of '
                            "ants among them") for w in warned)


def test_presenter_mode_gives_the_per_class_table_the_page_width(trained_app, trained_home):
    """Side by side with the confusion matrix, the table's larger text pushed its examples column out of sight."""
    at = open_page(trained_app, "results", run=trained_home["run"])
    assert any(column.dataframe for column in at.columns)
    fresh = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)  # a new session reads ?present=1
    at = open_page(fresh, "results", run=trained_home["run"], present="1")
    assert not at.exception and at.dataframe and not any(column.dataframe for column in at.columns)


def test_presenter_mode_wraps_the_runs_table(trained_home):
    """Presenter mode's larger text cut every cell of All runs ("Run of 04 Dec 18:07:2"): three lines a row wrap."""
    heights = {}
    for present in ("0", "1"):
        at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "runs", present=present)
        assert not at.exception
        heights[present] = at.dataframe[0].proto.row_height
    assert heights == {"0": 0, "1": 90}


def test_results_gallery_filters_by_confusion_cell(trained_app, trained_home):
    from tl_core.runs import get_run

    mistakes = get_run(trained_home["run"]).metrics()["mistakes"]
    at = open_page(trained_app, "results", run=trained_home["run"])
    if not mistakes:
        assert "None: the model got every validation example right." in texts(at)
        return
    first = mistakes[0]
    assert f"true: {first['true']}" in "\n".join(t.value for t in at.text)
    shown = at.selectbox(key="mistake_filter")
    assert shown.options[0] == f"all mistakes ({len(mistakes)})"
    shown.select_index(1).run()
    true, predicted = shown.options[1].split(" (")[0].split(" taken for ")
    captions = [t.value for t in at.text]
    assert captions and all(c.startswith(f"true: {true}\npredicted: {predicted} (") for c in captions)


def test_try_it_predicts_an_uploaded_picture(trained_app, trained_home):
    at = open_page(trained_app, "try", run=trained_home["run"])
    assert not at.exception
    assert "It knows these classes: ants, bees" in texts(at)
    at.file_uploader(key="try_upload").set_value(("bee.jpg", jpeg_bytes("bees", 3), "image/jpeg")).run()
    assert not at.exception
    assert answer(at) in ("ants", "bees")
    assert at.get("plotly_chart")


def test_try_it_heads_an_answer_it_is_unsure_of_as_a_best_guess(app, home, trained):
    """A model 45 % sure was headed "The model says: early blight" like one 99 % sure. The session's real run with
    its logits divided by 100 (as a temperature would) answers near 50 % for each class."""
    from safetensors.torch import load_file, save_file

    shown = copy_run(trained, home, "20990101-000000-0002")
    stored = home / "runs" / shown / "model.safetensors"
    weights = load_file(stored)
    last = [key for key in weights if key.endswith(".weight") and weights[key].ndim == 2][-1]  # the head's Linear
    for key in (last, last.removesuffix("weight") + "bias"):
        weights[key] = weights[key] / 100
    save_file(weights, stored)
    at = open_page(app, "try", run=shown)
    at.file_uploader(key="try_upload").set_value(("bee.jpg", jpeg_bytes("bees", 3), "image/jpeg")).run()
    assert not at.exception
    headings = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert len(headings) == 1 and headings[0].startswith("### The model's best guess: ")
    assert any(c.value.startswith("It is not sure: only 5") and ", then " in c.value for c in at.caption)


def test_presenter_mode_gives_try_its_picture_half_the_page(trained_home):
    """In a third of the page, presenter mode's larger text cut the heat map's switch to "Show where the mode…"."""
    widths = {}
    for present in ("0", "1"):
        at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "try", run=trained_home["run"],
                       present=present)
        at.file_uploader(key="try_upload").set_value(("bee.jpg", jpeg_bytes("bees", 3), "image/jpeg")).run()
        assert not at.exception
        widths[present] = [column.weight for column in at.columns][:2]
    assert widths == {"0": [1 / 3, 2 / 3], "1": [0.5, 0.5]}


def test_try_it_with_a_broken_picture_gives_a_sentence(trained_app, trained_home):
    at = open_page(trained_app, "try", run=trained_home["run"])
    at.file_uploader(key="try_upload").set_value(("bee.jpg", b"not a picture at all", "image/jpeg")).run()
    assert not at.exception
    assert at.error and answer(at) is None


def test_try_it_with_the_webcam(trained_app, trained_home):
    at = open_page(trained_app, "try", run=trained_home["run"])
    at.segmented_control(key="try_source").set_value("webcam").run()
    at.camera_input(key="try_camera").set_value(("shot.jpg", jpeg_bytes("ants", 2), "image/jpeg")).run()
    assert not at.exception
    assert answer(at) in ("ants", "bees")


def test_runs_page_lists_compares_and_offers_the_download(trained_app, trained_home):
    at = open_page(trained_app, "runs")
    assert not at.exception
    table = at.dataframe[0].value
    assert trained_home["run"] in list(table["run"])
    assert list(table["fine-tuned"]) == ["only the new head"] and list(table["status"]) == ["finished"]
    assert at.multiselect(key="compare_runs_image").value == [trained_home["run"]]
    assert at.get("plotly_chart")
    assert at.get("download_button")


def test_export_zip_is_made_once_and_reused(trained_home):
    import io
    import zipfile

    from pages.common import engine
    from tl_core.runs import get_run

    run = get_run(trained_home["run"])
    first = engine.export_zip(run)
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert any(n.endswith("model.safetensors") for n in names) and any(n.endswith("README.md") for n in names)
    assert engine.export_zip(run) == first


# ---------------------------------------------------------------- All runs with several runs and projects

@pytest.fixture
def arrow_log():
    """What Streamlit logs when a table cannot go to the browser as it is (it then converts columns to text)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger("streamlit.dataframe_util")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_runs_table_goes_to_the_browser_as_it_is_and_says_auto(app, home, trained, arrow_log):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    copy_run(trained, home, trained["run"])
    waiting = create_run(RunConfig(data=str(trained["data"]), batch_size=16))  # epochs automatic; never started
    at = open_page(app, "runs")
    assert not at.exception
    assert [r.getMessage() for r in arrow_log] == []
    table = at.dataframe[0].value.set_index("run")
    assert table.loc[trained["run"], "epochs"] == "1" and table.loc[waiting.id, "epochs"] == "auto"
    assert table.loc[trained["run"], "batch size"].startswith("auto (") and table.loc[waiting.id, "batch size"] == "16"
    assert "0" not in list(table["batch size"])


def test_runs_say_their_project_and_data_and_overlay_the_current_projects(app, home, trained):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    pictures = make_project(home, "image", name="Ants and bees")
    reviews = make_project(home, "text", name="Reviews")
    ours = copy_run(trained, home, "20990101-000000-0001", project=pictures)
    other = copy_run(trained, home, "20990101-000000-0002")
    text_run = create_run(RunConfig(data=str(YELP), extra={"project": reviews["id"], "kind": "text"}))
    at = open_page(app, "runs", project=pictures["id"])
    assert not at.exception
    table = at.dataframe[0].value.set_index("run")
    assert sorted(table.index) == sorted([ours, other])  # the text run is not among the pictures
    assert table.loc[ours, "project"] == "Ants and bees" and table.loc[other, "project"] == "none (command line)"
    assert "data" not in table  # the same for both: said once under the table, not cut off in every row
    assert "Every run here: trained on data: 40 examples, 2 classes" in texts(at)
    assert at.segmented_control(key="runs_kind_image").value == "image"
    overlay = at.multiselect(key="compare_runs_image")
    assert overlay.value == [ours] and len(overlay.options) == 2
    assert sorted(label.split(" · ")[-1] for label in overlay.options) == ["Ants and bees", "data"]

    at.segmented_control(key="runs_kind_image").set_value("text").run()
    assert list(at.dataframe[0].value["run"]) == [text_run.id]
    assert not at.multiselect and "Runs appear here once they have finished at least one epoch." in texts(at)

    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "runs", project=reviews["id"])
    assert at.segmented_control(key="runs_kind_text").value == "text"


@pytest.mark.parametrize("page", ["results", "try", "understand"])
def test_a_project_shows_its_own_runs(app, home, trained, page):
    """A project's Results, Try and Why it works pick among its own runs. Before, a reopened project showed the
    newest run of any project: a sentence model's results and classes under a picture project."""
    pictures = make_project(home, "image", name="Ants and bees")
    other = make_project(home, "image", name="Other photos")
    ours = copy_run(trained, home, "20990101-000000-0001", project=pictures)
    theirs = copy_run(trained, home, "20990101-000000-0002", project=other)  # the newest run
    at = open_page(app, page, project=pictures["id"])
    assert not at.exception
    assert at.selectbox[0].value == ours and len(at.selectbox[0].options) == 1
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), page,
                   project=make_project(home, "image", name="Nothing trained yet")["id"])
    assert not at.selectbox and "No trained model yet" in texts(at)
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), page, project=pictures["id"],
                   run=theirs)  # a link to another project's run still opens it
    assert at.selectbox[0].value == theirs


@pytest.mark.parametrize("page", ["results", "try", "runs"])
def test_a_reopened_project_opens_on_the_persons_own_run(app, home, trained, page):
    """The Understand step's comparison trains three short runs of the project after the person's own: Results, Try
    it and All runs' download opened on the newest of them (a 33 % from-scratch arm), the person's run fourth."""
    pictures = make_project(home, "image", name="Ants and bees")
    ours = copy_run(trained, home, "20990101-000000-0001", project=pictures)
    arm = copy_run(trained, home, "20990101-000000-0002", project=pictures)  # newer: a comparison's arm
    stored = json.loads((home / "runs" / arm / "config.json").read_text())
    stored["extra"] = {**stored["extra"], "experiment": "x1", "arm": "scratch"}
    (home / "runs" / arm / "config.json").write_text(json.dumps(stored))
    at = open_page(app, page, project=pictures["id"])
    assert not at.exception
    picker = at.selectbox(key="download_pick_image") if page == "runs" else at.selectbox[0]
    assert picker.value == ours and len(picker.options) == 2  # the arm is still there to choose


def test_the_sidebar_names_no_run(app, home, trained):
    """Drawn before the page's run picker, the sidebar's "Current run: <id>" named the run picked before (Try it
    showed one run beside another's id); each page's picker names its own run, in words."""
    shown = copy_run(trained, home, "20990101-000000-0001")
    at = open_page(app, "try", run=shown)
    assert not at.exception and at.selectbox[0].value == shown
    assert not [m.value for m in at.sidebar.markdown if shown in m.value or "Current run" in m.value]


def test_a_half_percent_reads_the_same_in_tables_and_sentences(app, home, trained):
    """62.5 % read "62% correct" in a run's name and 63 % in the runs table beside it (the browser rounds halves
    up, Python to even); the per-class table's 37.5 % likewise."""
    run = copy_run(trained, home, "20990101-000000-0004")
    metrics = json.loads((home / "runs" / run / "metrics.json").read_text())
    first = next(iter(metrics["per_class"]))
    metrics["accuracy"], metrics["per_class"][first]["recall"] = 0.625, 0.625
    (home / "runs" / run / "metrics.json").write_text(json.dumps(metrics))
    at = open_page(app, "runs")
    assert " · 62% correct · " in at.selectbox(key="download_pick_image").options[0]
    assert at.dataframe[0].value["accuracy"].tolist() == [62]
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "results", run=run)
    per_class = next(d.value for d in at.dataframe if "recall" in d.value.columns).set_index("class")
    assert per_class.loc[first, "recall"] == 62


def test_a_stopped_run_is_marked_stopped_in_pickers(app, home, trained):
    stopped = copy_run(trained, home, "20990101-000000-0003", state="cancelled")
    at = open_page(app, "results", run=stopped)
    assert " · stopped · " in at.selectbox[0].options[0]
    at.switch_page(PAGES["runs"]).run()
    assert at.dataframe[0].value["status"].tolist() == ["stopped"]
    assert " · stopped · " in at.selectbox(key="download_pick_image").options[0]


# ---------------------------------------------------------------- a run trained on a .zip

@pytest.fixture(scope="module")
def zip_run(tmp_path_factory, train_run) -> dict:
    """A real one-epoch run whose data is a .zip of class folders (as `transferlab train photos.zip` trains it),
    with three of its validation pictures listed as mistakes, so the gallery has pictures to find."""
    import zipfile

    import tl_core
    from apphelpers import HYMENOPTERA

    base = tmp_path_factory.mktemp("zip_run")
    data = base / "photos.zip"
    with zipfile.ZipFile(data, "w") as archive:
        for split in ("train", "val"):
            for label in ("ants", "bees"):
                for path in sorted((HYMENOPTERA / split / label).glob("*.jpg"))[:6]:
                    archive.write(path, f"photos/{split}/{label}/{path.name}")
    home = base / "home"
    run = train_run(home, tl_core.RunConfig(data=str(data), epochs=1))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRANSFERLAB_HOME", str(home))
        val = tl_core.open_run_data(run.config).val_examples[:3]
    metrics = run.metrics()
    metrics["mistakes"] = [{"name": e.name, "true": e.label, "predicted": "bees" if e.label == "ants" else "ants",
                            "confidence": 0.9} for e in val]
    (run.dir / "metrics.json").write_text(json.dumps(metrics))
    return {"home": home, "run": run.id}


def test_the_mistakes_of_a_zip_run_show_their_pictures(zip_run, monkeypatch):
    monkeypatch.setenv("TRANSFERLAB_HOME", str(zip_run["home"]))
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=120), "results", run=zip_run["run"])
    assert not at.exception
    captions = [t.value for t in at.text]
    assert sum(c.startswith("true: ") for c in captions) == 3
    assert "(picture no longer available)" not in captions
    assert len(at.get("image")) == 3


# ---------------------------------------------------------------- a run that left its choices to TransferLab

REASON = ("EfficientNet-Lite2 fits your data best of 3 available models (LogME 0.01). So: EfficientNet-Lite2, "
          "only the new head (unfreeze 0).")


def test_a_run_with_automatic_choices_says_what_was_chosen_and_why(app, home):
    """The `started` event's choice (`Run.chosen`) in the live panel, the run's label and the All runs table."""
    import os
    import time

    import tl_core
    from tl_core.runs import create_run
    from tl_core.workspace import write_json

    project = make_project(home, "image", model="auto", settings={})
    run = create_run(tl_core.RunConfig(data=str(home), model=tl_core.AUTO_MODEL, unfreeze=tl_core.AUTO,
                                       extra={"project": project["id"], "kind": "image"}))
    started = {"event": "started", "device": "cpu", "trainable_params": 3842, "total_params": 3842, "epochs": 3,
               "train_examples": 32, "val_examples": 8, "classes": ["ants", "bees"], "steps": 6,
               "chosen_model": "efficientnet_lite2", "chosen_unfreeze": 0, "reason": REASON}
    (run.dir / "events.jsonl").write_text(json.dumps(started) + "\n")
    write_json(run.dir / "status.json", {"state": "running", "pid": os.getpid(), "heartbeat": time.time(),
                                         "created": time.time(), "started": time.time()})
    at = open_page(app, "train", run=run.id)  # this test process plays the worker
    assert not at.exception
    said = texts(at)
    assert f"**Chosen for you:** EfficientNet-Lite2, only the new head — {REASON}" in said
    assert " · EfficientNet-Lite2, only the new head (chosen for you) · training · " in said  # the run's label
    at.switch_page(PAGES["runs"]).run()
    assert at.dataframe[0].value.set_index("run").loc[run.id, "fine-tuned"] == "only the new head (chosen for you)"
    assert "model EfficientNet-Lite2 (chosen for you)" in texts(at)  # one run: its model in the caption


def test_a_run_that_kept_its_fitted_head_says_so(trained_app, trained_home, tmp_path, monkeypatch):
    """Best epoch 0: every fine-tuning epoch scored below the head fitted on frozen features, so it was kept. The page
    says so in words rather than showing a bare 0 (the run is the trained one, copied and its metrics edited)."""
    from tl_core.run_files import METRICS
    from tl_core.runs import get_run
    from tl_core.workspace import read_json, write_json

    run = get_run(trained_home["run"])
    monkeypatch.setenv("TRANSFERLAB_HOME", str(tmp_path))
    copy = tmp_path / "runs" / run.id
    shutil.copytree(run.dir, copy)
    write_json(copy / METRICS, {**read_json(copy / METRICS), "best_epoch": 0})
    at = open_page(trained_app, "results", run=run.id)
    assert not at.exception and at.metric[2].value == "0"
    assert ("Kept: epoch 0: the new head fitted before any block trained, as every fine-tuning epoch scored below "
            "it.") in texts(at)
