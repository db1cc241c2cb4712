"""The frame: the app starts, shows the step indicator, starts projects and finds them again from the URL."""
import json

from apphelpers import PAGES, REPO, make_project, open_page, texts
from streamlit.testing.v1 import AppTest


def test_app_starts_on_welcome_with_step_indicator(app):
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "Welcome" and "Teach a computer to sort" in texts(at)
    assert [b.label for b in at.button] == ["Start a picture project", "Start a text project"]
    links = [link.label for link in at.page_link]
    assert len(links) == 8 and links[0] == "**1 · Welcome**" and links[3] == "4 · Train"
    assert "Step 1 of 8" in at.get("progress")[0].proto.text
    assert "No project yet" in texts(at)


def test_start_picture_project_goes_to_model_step_and_saves_project(app, home):
    at = app.run()
    at.button(key="start_image").click().run()
    assert not at.exception
    assert at.title[0].value == "Choose a model"
    project_id = at.query_params["project"]
    saved = json.loads((home / "projects" / project_id / "project.json").read_text())
    assert saved["kind"] == "image" and saved["model"] == "auto"  # TransferLab chooses
    assert [c["name"] for c in saved["classes"]] == ["Class 1", "Class 2"]


def test_start_text_project(app, home):
    at = app.run()
    at.button(key="start_text").click().run()
    saved = json.loads((home / "projects" / at.query_params["project"] / "project.json").read_text())
    assert saved["kind"] == "text" and saved["model"] == "auto" and saved["source"] == "table"


def test_project_in_url_is_found_again_after_a_refresh(app, home):
    project = make_project(home, "image")
    at = open_page(app, "data", project=project["id"])
    assert not at.exception
    assert [w.value for w in at.text_input] == ["ants", "bees"]
    assert "Pictures" in texts(at)


def test_unknown_or_malformed_project_in_url_is_ignored(app, home):
    at = open_page(app, "data", project="../../etc")
    assert not at.exception
    assert "Start a project on the Welcome step first" in texts(at)


def test_every_page_runs_on_its_own_without_the_frame(home):
    """A deep link right after the server starts may run a page file directly; each must still work."""
    for path in PAGES.values():
        at = AppTest.from_file(str(REPO / path), default_timeout=60).run()
        assert not at.exception, path
        assert at.get("progress"), path  # the step indicator is there


def test_every_step_has_an_empty_state_without_a_project(app):
    at = app.run()
    for step, expected in [("model", "First tell TransferLab what you want to sort"),
                           ("data", "Start a project on the Welcome step first"),
                           ("train", "Start a project first"),
                           ("results", "No trained model yet"),
                           ("try", "No trained model yet"),
                           ("runs", "No runs yet")]:
        at.switch_page(PAGES[step]).run()
        assert not at.exception, step
        assert expected in texts(at), step


def test_runs_empty_state_button_leads_to_the_first_step(app):
    at = open_page(app, "runs")
    at.button(key="empty_start").click().run()
    assert at.title[0].value == "Welcome"


def test_user_text_is_escaped_in_markdown():
    from pages.common.frame import esc, plot_text

    assert esc("**bold** [link](http://x) <b>") == r"\*\*bold\*\* \[link\]\(http\://x\) \<b\>"
    assert plot_text("<a href='x'>ants</a>") == "&lt;a href=&#x27;x&#x27;&gt;ants&lt;/a&gt;"
