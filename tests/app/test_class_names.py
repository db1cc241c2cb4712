"""A table's labels renamed on the Data step ("0" -> "negative") reach the run's config: the model learns the names."""
import json

from apphelpers import YELP, make_project, open_page, texts


def saved(home, project) -> dict:
    return json.loads((home / "projects" / project["id"] / "project.json").read_text())


def table_project(home, **fields) -> dict:
    """A text project whose table is the real yelp file (sentence<TAB>0 or 1), as the uploader saves it."""
    project = make_project(home, "text", table_file="yelp.txt", text_column="column 1", label_column="column 2",
                           **fields)
    folder = home / "projects" / project["id"] / "table"
    folder.mkdir()
    (folder / "yelp.txt").write_bytes(YELP.read_bytes())
    return project


def test_the_data_step_names_a_tables_labels_and_refuses_one_name_twice(app, home):
    project = table_project(home)
    at = open_page(app, "data", project=project["id"])
    assert not at.exception
    assert [w.label for w in at.text_input] == ["Name for the label '0'", "Name for the label '1'"]
    at.text_input(key="label_name_0").set_value("negative").run()
    at.text_input(key="label_name_1").set_value(" positive ").run()
    assert not at.exception
    assert saved(home, project)["label_names"] == {"0": "negative", "1": "positive"}
    assert "**negative** · 500 texts" in texts(at) and "**positive** · 500 texts" in texts(at)
    assert [w.value for w in at.text_input] == ["negative", "positive"]

    at.text_input(key="label_name_1").set_value("Negative").run()
    assert "Another class is already called 'Negative'" in texts(at)
    assert saved(home, project)["label_names"] == {"0": "negative", "1": "positive"}
    assert [w.value for w in at.text_input] == ["negative", "positive"]

    at.text_input(key="label_name_0").set_value("").run()  # an empty name keeps the label as it is
    assert saved(home, project)["label_names"] == {"1": "positive"}
    assert [w.value for w in at.text_input] == ["0", "positive"]


def test_other_label_columns_drop_the_names_given_to_the_old_labels(app, home):
    project = table_project(home, label_names={"0": "negative", "1": "positive"})
    at = open_page(app, "data", project=project["id"])
    at.selectbox(key="label_column_pick").set_value("column 1").run()
    assert not at.exception
    assert saved(home, project)["label_names"] == {}
    assert not at.text_input  # a thousand sentences as "classes": nothing to name one by one


def test_the_train_step_passes_the_names_in_the_runs_config(app, home, monkeypatch):
    import tl_core.runs as runs

    monkeypatch.setattr(runs, "start_run", runs.create_run)  # no worker process: the run stays queued
    project = table_project(home, label_names={"0": "negative", "1": "positive"})
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    at.button(key="start_training").click().run()
    config = runs.get_run(at.query_params["run"]).config
    assert config.label_names == {"0": "negative", "1": "positive"}
    assert (config.text_column, config.label_column) == ("column 1", "column 2")
