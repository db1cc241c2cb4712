"""The automatic choices on the Train step: the model the ranking recommends drawn, the blocks TransferLab proposes
with the reason, Start leaving both to training, and a page that neither waits for the ranking nor imports torch."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from apphelpers import FIRST_VISIT, REPO, add_photos, make_project, open_page, texts


def drawing(at) -> str:
    return at.html[0].proto.body


def test_the_automatic_choices_are_the_default_and_say_why(app, ranked_home, monkeypatch):
    """Model and blocks left to TransferLab: the page draws the model the ranking recommends, proposes its blocks
    with the reason, and Start leaves both to the engine; choosing oneself starts the slider at the proposal."""
    import tl_core
    import tl_core.runs as runs
    from pages.common.frame import esc

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker process: the run stays queued
    recommended = ranked_home["ranking"].recommended
    at = open_page(app, "train", project=ranked_home["project"]["id"])
    assert not at.exception
    assert at.segmented_control(key="blocks").value == "auto"
    assert "unfreeze" not in [s.key for s in at.select_slider]
    said = texts(at)
    title = tl_core.find_model(recommended.model).title
    assert f"**Model:** {recommended.why_model}" in said and title in recommended.why_model
    # 20 pictures a class: only the new head, as training's own choice will say, whatever the per-block scores
    assert f"**TransferLab proposes: only the new head** — {tl_core.few_examples(20)}" in said
    assert any(esc(tl_core.few_examples(20)) in c.value for c in at.caption)  # the per-block chart agrees with it
    layout = tl_core.shipped_layout(recommended.model, "image", 2)  # the recommended model is the one drawn
    blocks = 0
    assert tl_core.plan_for(layout, blocks, False).describe().replace("(0%)", "(less than 1%)") in said
    assert drawing(at).count('data-state="trainable"') == blocks
    at.button(key="start_training").click().run()
    queued = runs.get_run(at.query_params["run"])
    assert (queued.config.model, queued.config.unfreeze) == (tl_core.AUTO_MODEL, tl_core.AUTO)
    at.segmented_control(key="blocks").set_value("mine").run()
    assert at.select_slider(key="unfreeze").value == blocks
    at.segmented_control(key="blocks").set_value("auto").run()  # the shared project as it was
    shutil.rmtree(queued.dir)  # and its queue: a run queued without a worker held the next test's run 25 s (STALE_S)


def test_start_need_not_wait_for_the_ranking(app, home, monkeypatch):
    """While the models are still being compared, the page says so and Start leaves the choice to training."""
    import tl_core
    import tl_core.runs as runs
    from pages.common import ranking
    from tl_core.ranking import ranking_file
    from tl_core.workspace import write_json

    monkeypatch.setattr(runs, "start_run", runs.create_run)
    project = make_project(home, model="auto", settings={})
    add_photos(home, project, per_class=6)
    scored = {"model": "efficientnet_lite0", "title": "EfficientNet-Lite0", "score": -0.2, "seconds": 3.0}
    write_json(ranking_file(ranking.config(project)),  # a ranking job in progress: this process plays it
               {"state": "running", "pid": os.getpid(), "started": time.time(), "scores": [scored]})
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    assert "TransferLab is choosing the model that fits your data best (1 model compared so far)" in texts(at)
    assert not at.html and "blocks" not in [s.key for s in at.segmented_control]  # no network drawn yet
    at.button(key="start_training").click().run()
    config = runs.get_run(at.query_params["run"]).config
    assert (config.model, config.unfreeze) == (tl_core.AUTO_MODEL, tl_core.AUTO)


def test_the_first_visit_with_automatic_choices_imports_no_torch(ranked_home):
    """The automatic model is drawn from the ranking's record (the catalogue's layout of the recommended model):
    the page process still never imports torch."""
    import tl_core

    tests_app = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", FIRST_VISIT, ranked_home["project"]["id"]], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": tests_app})
    assert done.returncode == 0, done.stderr[-3000:]
    page = json.loads(done.stdout.strip().splitlines()[-1])
    assert page["imported"] == []
    title = tl_core.find_model(ranked_home["ranking"].recommended.model).title
    assert f"**Model:** {title} " in page["text"] and 'data-state="head"' in page["drawing"]


def test_ready_data_starts_ranking_for_the_automatic_model(app, home):
    """Step 3 starts ranking the models as soon as the data is ready, so step 4 usually finds the model chosen. The
    job is ended once its process runs: that a job `ranking.current` started ranks to the end is the `ranked`
    fixture's wait (conftest.py), on the same call from step 2; waiting for it here too took 12 of this test's 14 s."""
    import signal

    import tl_core
    from pages.common import ranking
    from tl_core.ranking import ranking_file
    from tl_core.standby import pid_alive
    from tl_core.workspace import read_json

    project = make_project(home, model="auto", settings={})
    add_photos(home, project, per_class=6)
    at = open_page(app, "data", project=project["id"])
    assert not at.exception and "Your data is ready for training." in texts(at)
    config = ranking.config(project)
    found = tl_core.ranking_status(config)
    assert found is not None and found.state == "running", found and found.message
    deadline = time.time() + 60
    while not (pid := read_json(ranking_file(config)).get("pid")):  # the job's process says its pid once it runs
        assert time.time() < deadline and tl_core.ranking_status(config).state == "running"
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        assert time.time() < deadline, "the ranking job did not end"
        time.sleep(0.1)


def test_an_automatic_run_is_explained_and_exported_with_the_model_it_chose(ranked_home, train_run,
                                                                           one_torch_thread, tmp_path):
    """config.json keeps "auto"; the feature map, the layer views, the model card and the page read what it chose.
    Trained on the ranked project's data as the Train page starts it, so training reads the finished ranking's
    choice instead of ranking 6 + 6 pictures again (this test took 22 s with it); test_auto.py covers training
    that ranks."""
    import dataclasses

    from streamlit.testing.v1 import AppTest

    import tl_core
    from pages.common import ranking
    from tl_core.explain import block_changes, feature_maps_for_run
    from tl_core.export import export_run

    config = dataclasses.replace(ranking.config(ranked_home["project"]), epochs=1)
    run = train_run(ranked_home["home"], config)
    chosen = run.chosen
    assert run.config.model == tl_core.AUTO_MODEL and chosen["model"] == ranked_home["ranking"].recommended.model
    val_examples = next(e["val_examples"] for e in run.events() if e["event"] == "started")
    maps = feature_maps_for_run(run)
    assert maps["after"] is None and len(maps["before"]["x"]) == val_examples == 8  # the choice, head only
    assert len(block_changes(run)["titles"]) == len(tl_core.shipped_layout(chosen["model"], "image", 2).blocks)
    card = (export_run(run, tmp_path / "export", as_zip=False, onnx=False) / "README.md").read_text()
    assert f"- what trained: {tl_core.what_trains(chosen['unfreeze'])}\n" in card and chosen["reason"] in card
    at = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=120), "understand", run=run.id)
    at.button(key=f"show_features_{run.id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def test_from_scratch_draws_the_model_training_will_use(app, home, monkeypatch):
    """A ranked model is chosen by how well its pretrained features fit; from scratch none are kept, so the engine
    trains its own from-scratch model, and the page draws and names that one, not the ranking's."""
    import tl_core
    import tl_core.runs as runs
    from pages.common import ranking
    from tl_core.ranking import ranking_file
    from tl_core.workspace import write_json

    monkeypatch.setattr(runs, "start_run", runs.create_run)
    project = make_project(home, model="auto", settings={})
    add_photos(home, project, per_class=6)
    title = tl_core.find_model("efficientnet_lite1").title
    write_json(ranking_file(ranking.config(project)), {  # a finished ranking that chose Lite1
        "state": "done", "scores": [{"model": "efficientnet_lite1", "title": title, "score": 0.1, "seconds": 1.0}],
        "recommended": {"model": "efficientnet_lite1", "unfreeze": 0, "gap": 0.5, "relatedness": "...",
                        "reason": "...", "why_model": f"{title} fits your data best.", "why_blocks": "...",
                        "on_cpu": True}})
    at = open_page(app, "train", project=project["id"])
    assert not at.exception and f"**Model:** {title} fits your data best." in texts(at)  # its name once
    at.toggle(key="from_scratch").set_value(True).run()
    model, why = tl_core.scratch_model("image")
    assert not at.exception and f"**Model:** {why}" in texts(at) and tl_core.find_model(model).title in why
    layout = tl_core.shipped_layout(model, "image", 2)
    assert drawing(at).count('data-state="trainable"') == layout.num_blocks  # from scratch every block trains
    at.button(key="start_training").click().run()
    config = runs.get_run(at.query_params["run"]).config
    assert (config.model, config.from_scratch) == (tl_core.AUTO_MODEL, True)
    assert tl_core.choose(config, on_cpu=True).model == model  # what training will use: the model drawn
    at.toggle(key="from_scratch").set_value(False).run()  # the session's settings as they were
