"""Steps 5 to 7 on a real finished run: results, predictions, the list of runs and the download."""
from apphelpers import jpeg_bytes, open_page, texts


def test_results_show_accuracy_table_confusion_and_mistakes(trained_app, trained_home):
    at = open_page(trained_app, "results", run=trained_home["run"])
    assert not at.exception
    accuracy = at.metric[0]
    assert accuracy.label == "Accuracy" and accuracy.value.endswith("%")
    assert at.metric[1].value == "20"  # 10 validation photos per class
    table = at.dataframe[0].value
    assert list(table["class"]) == ["ants", "bees"] and list(table["examples"]) == [10, 10]
    assert len(at.get("plotly_chart")) == 2  # confusion matrix and training curves
    assert "Examples the model got wrong" in texts(at)
    assert at.selectbox[0].options[0].startswith("tiny run · only the new head · ")


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
    said = [m.value for m in at.markdown if m.value.startswith("### The model says:")]
    assert said and said[0].split(":")[-1].strip() in ("ants", "bees")
    assert at.get("plotly_chart")


def test_try_it_with_a_broken_picture_gives_a_sentence(trained_app, trained_home):
    at = open_page(trained_app, "try", run=trained_home["run"])
    at.file_uploader(key="try_upload").set_value(("bee.jpg", b"not a picture at all", "image/jpeg")).run()
    assert not at.exception
    assert at.error and "The model says" not in texts(at)


def test_try_it_with_the_webcam(trained_app, trained_home):
    at = open_page(trained_app, "try", run=trained_home["run"])
    at.segmented_control(key="try_source").set_value("webcam").run()
    at.camera_input(key="try_camera").set_value(("shot.jpg", jpeg_bytes("ants", 2), "image/jpeg")).run()
    assert not at.exception
    assert "The model says:" in texts(at)


def test_runs_page_lists_compares_and_offers_the_download(trained_app, trained_home):
    at = open_page(trained_app, "runs")
    assert not at.exception
    table = at.dataframe[0].value
    assert trained_home["run"] in list(table["run"])
    assert list(table["fine-tuned"]) == ["only the new head"] and list(table["status"]) == ["finished"]
    assert at.multiselect(key="compare_runs").value == [trained_home["run"]]
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
