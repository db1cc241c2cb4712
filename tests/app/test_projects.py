"""Projects: each keeps its own Train settings, has a name, and is listed on Welcome to reopen."""
import json

from apphelpers import PAGES, REPO, YELP, add_photos, make_project, open_page, texts
from streamlit.testing.v1 import AppTest


def test_a_new_project_starts_from_its_own_settings_and_an_old_one_gets_its_back(app, home):
    pictures = make_project(home, "image")
    add_photos(home, pictures)
    at = open_page(app, "train", project=pictures["id"])
    at.select_slider(key="unfreeze").set_value(2).run()
    at.number_input(key="epochs").set_value(7).run()

    at.switch_page(PAGES["welcome"]).run()
    at.button(key="start_text").click().run()
    at.switch_page(PAGES["model"]).run()
    at.button(key="pick_all-MiniLM-L6-v2").click().run()  # a model of its own: no ranking to wait for
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="table_up").set_value(("yelp.txt", YELP.read_bytes(), "text/plain")).run()
    at.switch_page(PAGES["train"]).run()
    assert not at.exception
    assert at.segmented_control(key="blocks").value == "auto"  # a new project's default, not the other's slider
    assert "unfreeze" not in [s.key for s in at.select_slider]
    assert at.number_input(key="epochs").value == 0

    at.switch_page(PAGES["welcome"]).run()
    at.button(key=f"reopen_{pictures['id']}").click().run()
    assert at.query_params["project"] == pictures["id"]
    assert at.segmented_control(key="blocks").value == "mine"
    assert at.select_slider(key="unfreeze").value == 2 and at.number_input(key="epochs").value == 7


def test_settings_are_kept_in_the_project_for_another_browser(app, home):
    project = make_project(home, "image")
    add_photos(home, project)
    at = open_page(app, "train", project=project["id"])
    at.select_slider(key="unfreeze").set_value(3).run()
    saved = json.loads((home / "projects" / project["id"] / "project.json").read_text())
    assert saved["settings"]["unfreeze"] == 3

    fresh = open_page(AppTest.from_file(str(REPO / "app.py"), default_timeout=60), "train", project=project["id"])
    assert fresh.select_slider(key="unfreeze").value == 3


def test_a_new_project_has_a_readable_name_that_can_be_changed(app, home):
    at = app.run()
    at.button(key="start_image").click().run()
    project_id = at.query_params["project"]
    saved = json.loads((home / "projects" / project_id / "project.json").read_text())
    assert saved["name"].startswith("Pictures project of ")

    at.switch_page(PAGES["welcome"]).run()
    at.text_input(key=f"project_name_{project_id}").input("Tomato leaves").run()
    assert not at.exception
    assert json.loads((home / "projects" / project_id / "project.json").read_text())["name"] == "Tomato leaves"
    assert "Tomato leaves" in texts(at)


def test_welcome_lists_earlier_projects_newest_first_with_what_they_hold(app, home):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    older = make_project(home, "image", name="Ants and bees", created=1000.0)
    add_photos(home, older, per_class=3)
    newer = make_project(home, "text", name="Reviews", created=2000.0)
    own = [create_run(RunConfig(data=str(home), extra={"project": older["id"], "kind": "image"})) for _ in range(2)]
    for arm in ("pretrained", "scratch", "head"):  # one comparison: three runs, counted as what they are
        create_run(RunConfig(data=str(home), extra={"project": older["id"], "kind": "image", "experiment": "x1",
                                                    "arm": arm}))
    at = app.run()
    assert not at.exception
    listed = [m.value.replace("\\", "") for m in at.markdown if m.value.startswith("**")]
    assert listed[-2:] == ["**Reviews**  \nTexts · MiniLM-L6 (sentence encoder) · no table yet · 0 runs",
                           "**Ants and bees**  \nPictures · EfficientNet-Lite0 · 6 photos in 2 classes · 2 runs · "
                           "1 comparison"]
    at.button(key=f"reopen_{newer['id']}").click().run()
    assert at.query_params["project"] == newer["id"]
    assert at.title[0].value == "Add your data"  # no data yet: reopened where it needs some
    at.switch_page(PAGES["welcome"]).run()
    at.button(key=f"reopen_{older['id']}").click().run()  # reopened at Train on its newest run, not the form alone
    assert at.title[0].value == "Train" and at.query_params["run"] == max(run.id for run in own)
