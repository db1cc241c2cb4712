"""Step 3: classes, uploads, zips, tables and typed texts, and the report shown before training."""
from apphelpers import YELP, add_photos, jpeg_bytes, make_project, open_page, texts, zip_bytes


def folder(home, project, *parts):
    return home.joinpath("projects", project["id"], *parts)


def test_uploaded_photos_are_saved_per_class_and_the_uploader_is_emptied(app, home):
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    uploader = at.file_uploader[0]
    assert uploader.label == "Add photos of ants"
    uploader.set_value([(f"ant{i}.jpg", jpeg_bytes("ants", i), "image/jpeg") for i in range(3)]).run()
    assert not at.exception
    assert sorted(p.name for p in folder(home, project, "photos", "ants").iterdir()) == ["ant0.jpg", "ant1.jpg",
                                                                                        "ant2.jpg"]
    assert "3 photos** in this class" in texts(at)
    assert at.file_uploader[0].proto.id != uploader.proto.id  # a fresh, empty uploader for the next photos


def test_report_blocks_training_until_each_class_has_enough_examples(app, home):
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    at.file_uploader[0].set_value([("a.jpg", jpeg_bytes("ants"), "image/jpeg")]).run()
    assert "Class 'ants' has only 1 example" in texts(at)
    assert at.button(key="next_train").disabled


def test_ready_report_shows_counts_and_enables_next(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "data", project=project["id"])
    assert not at.exception
    assert "Your data is ready for training." in texts(at)
    assert [m.value for m in at.metric][:1] == ["2"]
    assert not at.button(key="next_train").disabled
    assert len(at.get("plotly_chart")) == 1  # counts per class
    assert len(at.get("image")) >= 2  # thumbnails in each class card


def test_a_file_that_is_not_a_picture_is_listed_with_its_reason(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "data", project=project["id"])
    at.file_uploader[0].set_value([("notes.txt", b"just some text", "text/plain")]).run()
    assert not at.exception
    assert "1 file was skipped" in texts(at)
    skipped = at.dataframe[0].value
    assert list(skipped["name"]) == ["ants/notes.txt"] or list(skipped["name"]) == ["notes.txt"]
    assert "not a supported picture type" in skipped["why it was left out"].iloc[0]


def test_renaming_a_class_moves_its_photos_and_duplicates_are_refused(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=3)
    at = open_page(app, "data", project=project["id"])
    at.text_input(key="name_aaaa0001").set_value("fourmis").run()
    assert folder(home, project, "photos", "fourmis").is_dir()
    assert not folder(home, project, "photos", "ants").exists()
    at.text_input(key="name_aaaa0002").set_value("FOURMIS").run()
    assert not at.exception
    assert "There is already a class called" in texts(at)
    assert at.text_input(key="name_aaaa0002").value == "bees"


def test_add_and_remove_a_class(app, home):
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    at.button(key="add_class").click().run()
    assert [w.value for w in at.text_input] == ["ants", "bees", "Class 3"]
    at.button(key="remove_aaaa0001").click().run()
    assert [w.value for w in at.text_input] == ["bees", "Class 3"]


def test_zip_of_class_folders_is_unpacked_and_reported(app, home):
    project = make_project(home, source="zip")
    files = {f"photos/{label}/{i}.jpg": jpeg_bytes(label, i) for label in ("ants", "bees") for i in range(3)}
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="zip_up").set_value(("photos.zip", zip_bytes(files), "application/zip")).run()
    assert not at.exception
    assert "Using photos.zip." in texts(at)
    assert "Your data is ready for training." in texts(at)
    assert "A look at each class" in texts(at)


def test_a_broken_zip_gives_a_sentence_not_an_exception(app, home):
    project = make_project(home, source="zip")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="zip_up").set_value(("photos.zip", b"PK\x03\x04 this is not really a zip",
                                              "application/zip")).run()
    assert not at.exception
    assert any("not a readable zip archive" in e.value for e in at.error)


def test_table_columns_are_guessed_and_can_be_changed(app, home):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("yelp.txt", YELP.read_bytes(), "text/plain")).run()
    assert not at.exception
    assert at.selectbox(key="text_column_pick").value == "column 1"
    assert at.selectbox(key="label_column_pick").value == "column 2"
    assert "Your data is ready for training." in texts(at)
    assert "1,000 lines read, 1,000 examples." in texts(at)  # every line accounted for, on the page
    at.selectbox(key="text_column_pick").set_value("column 2").run()
    at.selectbox(key="label_column_pick").set_value("column 1").run()
    assert not at.exception
    assert "ready for training" not in texts(at)  # a thousand "classes" of one sentence each


def test_a_binary_file_named_csv_gives_a_sentence(app, home):
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("data.csv", b"\x00\x01\x02binary\x00", "text/csv")).run()
    assert not at.exception
    assert any("binary data, not a text table" in e.value for e in at.error)


def test_typed_examples_are_saved_as_a_table(app, home):
    project = make_project(home, "text", source="typed",
                           classes=[{"uid": "t1", "name": "happy"}, {"uid": "t2", "name": "sad"}])
    at = open_page(app, "data", project=project["id"])
    at.text_area(key="typed_t1").set_value("I love it\nWhat a great day\nWonderful\n").run()
    at.text_area(key="typed_t2").set_value("I hate it\nWhat a bad day\nTerrible").run()
    assert not at.exception
    saved = folder(home, project, "typed.tsv").read_text().splitlines()
    assert saved[0] == "text\tlabel" and "I love it\thappy" in saved and len(saved) == 7
    assert "3 examples." in texts(at)
    assert "Class 'happy' has only 3 examples" in texts(at)  # a warning; training is still allowed
    assert not at.button(key="next_train").disabled


def test_switching_the_source(app, home):
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    at.segmented_control(key="source_choice").set_value("zip").run()
    assert at.file_uploader(key="zip_up")
    assert "Upload a .zip file" in texts(at)


def test_a_wide_table_starts_from_the_engines_own_columns(app, home):
    """Any number of columns: the pickers start where load_dataset would read without being told."""
    project = make_project(home, "text")
    header = "id,date,user,stars,review,label,source\n"
    rows = "".join(f"{i},2024-01-0{i},u{i},{i},{'Great food' if i % 2 else 'Cold soup'} number {i},"
                   f"{'pos' if i % 2 else 'neg'},web\n" for i in range(1, 9))
    at = open_page(app, "data", project=project["id"])
    at.file_uploader(key="table_up").set_value(("wide.csv", (header + rows).encode(), "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key="text_column_pick").value == "review"
    assert at.selectbox(key="label_column_pick").value == "label"
