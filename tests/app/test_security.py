"""Script injection and exposure: user text is shown as text everywhere, and the server is local with upload limits.

A class name, file name, table cell or run name like `<script>alert(1)</script>` must never reach the
browser as markup. Streamlit renders markdown (and widget labels) itself, so every such string the
app sends is checked to carry the payload only in escaped form; Plotly labels must carry it as HTML
entities. tests/e2e/test_sessions.py checks the same in a real browser (no dialog, literal text visible).
"""
from __future__ import annotations

import json
import re
import tomllib

import pytest
from apphelpers import HYMENOPTERA, REPO, answer, jpeg_bytes, make_project, open_page, texts, zip_bytes

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"
# A payload that got through unescaped: a raw tag, or a markdown link to a javascript: address.
RAW = re.compile(r"(?<!\\)<\s*(script|img)|\]\(javascript|javascript:", re.IGNORECASE)
MARKDOWN_FIELDS = {"body", "label", "help", "placeholder"}  # rendered as markdown by Streamlit
PLAIN_ELEMENTS = {"Text", "Code", "Json", "Html", "PlotlyChart", "Arrow"}  # shown as plain text, or checked apart


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def elements(at):
    return [n for n in _nodes(at._tree) if getattr(n, "proto", None) is not None]


def assert_inert(at) -> None:
    """No element the page sent carries a payload that a browser would run or follow."""
    assert not at.exception, at.exception
    for node in elements(at):
        proto = node.proto
        kind = type(proto).__name__
        if kind == "Html":  # our own drawing: user text never goes in
            assert not any(p in proto.body for p in (SCRIPT, IMG, "onerror", "javascript:")), proto.body
        elif kind == "PlotlyChart":  # labels as HTML entities, which Plotly shows as text
            strings = json.dumps(json.loads(proto.spec), ensure_ascii=False)
            assert not re.search(r"<\s*(script|img)", strings, re.IGNORECASE), strings
        if kind in PLAIN_ELEMENTS:
            continue
        for field, value in proto.ListFields():
            if field.name in MARKDOWN_FIELDS and isinstance(value, str):
                assert not RAW.search(value), f"{kind}.{field.name} carries raw user markup: {value!r}"


def shown(markdown: str) -> str:
    """A markdown string as the person reads it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def charts(at) -> list[str]:
    return [json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart")]


# ---------------------------------------------------------------- step 3: names typed and uploaded

def test_hostile_class_and_file_names_on_the_data_page(app, home):
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    at.text_input(key="name_aaaa0001").set_value(SCRIPT).run()
    at.text_input(key="name_aaaa0002").set_value(IMG).run()
    assert_inert(at)
    assert [shown(u.label) for u in at.file_uploader] == [f"Add photos of {SCRIPT}", f"Add photos of {IMG}"]
    for index, label in enumerate(("ants", "bees")):
        at.file_uploader[index].set_value([(f"{IMG}{i}.jpg", jpeg_bytes(label, i), "image/jpeg") for i in range(3)]
                                          + [(f"{SCRIPT}.jpg", b"<html><script>alert(1)</script>", "image/jpeg")]
                                          ).run()
    assert_inert(at)
    said = texts(at)
    assert f"Saved and trained as '{SCRIPT.replace('/', '_')}'" in said  # a folder name cannot hold "/"
    assert "Your data is ready for training." in said
    assert any("&lt;img" in c for c in charts(at))  # the counts chart, labels as entities
    table = next(d.value for d in at.dataframe if "why it was left out" in d.value.columns)
    # The uploaded name's "/" reads as a folder, so the file is saved as "script>.jpg"; shown as a plain cell.
    assert sorted(table["name"]) == sorted(f"{folder}/script>.jpg" for folder in (IMG, SCRIPT.replace("/", "_")))


def test_hostile_names_in_a_zip_and_in_table_cells(app, home):
    project = make_project(home, source="zip")
    at = open_page(app, "data", project=project["id"])
    files = {f"{name}/{i}.jpg": jpeg_bytes(label, i) for name, label in ((IMG, "ants"), (LINK, "bees"))
             for i in range(3)}
    at.file_uploader(key="zip_up").set_value((f"{IMG}.zip", zip_bytes(files), "application/zip")).run()
    assert_inert(at)
    said = texts(at)
    assert f"Using {IMG}.zip." in said and f"**{IMG}** · 3 pictures" in said and f"**{LINK}** · 3 pictures" in said

    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    rows = [(f"I loved it {IMG}", SCRIPT), ("great", SCRIPT), ("superb", SCRIPT),
            (f"awful {SCRIPT}", IMG), ("bad", IMG), ("cold", IMG)]
    table = "text,label\n" + "".join(f'"{t}","{label}"\n' for t, label in rows)
    at.file_uploader(key="table_up").set_value((f"{IMG}.csv", table.encode(), "text/csv")).run()
    assert_inert(at)
    said = texts(at)
    assert f"**{SCRIPT}** · 3 texts" in said and f"**{IMG}** · 3 texts" in said
    assert f"Class '{SCRIPT}' has only 3 examples" in said
    examples = [t for d in at.dataframe if "example" in d.value.columns for t in d.value["example"]]
    assert f"I loved it {IMG}" in examples  # the cell as it was, shown as plain text
    assert any("&lt;script&gt;" in c for c in charts(at))


# ---------------------------------------------------------------- steps 4 to 7 on a run with hostile names

@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """A real head-only run whose classes and name are payloads; batch 128 on 8 training photos."""
    base = tmp_path_factory.mktemp("hostile")
    for split in ("train", "val"):
        for name, label in ((IMG, "ants"), (LINK, "bees")):
            folder = base / "data" / split / name
            folder.mkdir(parents=True)
            for path in sorted((HYMENOPTERA / split / label).glob("*.jpg"))[:4]:
                (folder / path.name).symlink_to(path)
    with pytest.MonkeyPatch.context() as patch:  # trained in this process, which has paid the imports already
        patch.setenv("TRANSFERLAB_HOME", str(base / "home"))
        from tl_core.config import RunConfig
        from tl_core.runs import create_run
        from tl_core.worker import run_worker

        run = create_run(RunConfig(data=str(base / "data"), epochs=1, batch_size=128, name=SCRIPT))
        assert run_worker(run.dir) == 0, (run.dir / "events.jsonl").read_text()  # a batch larger than the data
    return {"home": base / "home", "run": run.id, "data": base / "data"}


@pytest.fixture
def hostile_app(hostile, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRANSFERLAB_HOME", str(hostile["home"]))
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120)


def test_results_page_and_mistakes_gallery(hostile_app, hostile):
    from tl_core.runs import get_run

    at = open_page(hostile_app, "results", run=hostile["run"])
    assert_inert(at)
    assert at.selectbox[0].options[0].startswith(f"{SCRIPT} · EfficientNet-Lite0, only the new head")  # plain text
    assert list(at.dataframe[0].value["class"]) == [IMG, LINK]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in c for c in charts(at))  # confusion matrix labels
    mistakes = get_run(hostile["run"]).metrics()["mistakes"]
    assert mistakes, "a one-epoch model on 8 photos should get some wrong"
    captions = [t.value for t in at.text]  # st.text: never markdown
    assert captions and all(c.startswith(("true: " + IMG, "true: " + LINK)) for c in captions)
    at.selectbox(key="mistake_filter").select_index(1).run()
    assert_inert(at)


def test_try_page_prediction_and_bar_chart(hostile_app, hostile):
    at = open_page(hostile_app, "try", run=hostile["run"])
    assert_inert(at)
    assert f"It knows these classes: {IMG}, {LINK}" in texts(at)
    at.file_uploader(key="try_upload").set_value((f"{SCRIPT}.jpg", jpeg_bytes("bees", 5), "image/jpeg")).run()
    assert_inert(at)
    assert shown(answer(at) or "") in (IMG, LINK)
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    assert sorted(bars) == ["&lt;img src=x onerror=alert(1)&gt;", LINK]


def test_runs_and_train_pages(hostile_app, hostile):
    at = open_page(hostile_app, "runs")
    assert_inert(at)
    table = at.dataframe[0].value
    assert list(table["name"]) == [SCRIPT] and list(table["status"]) == ["finished"]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in c for c in charts(at))  # the comparison's legend

    at = open_page(hostile_app, "train", run=hostile["run"])
    assert_inert(at)
    assert f"{SCRIPT} · EfficientNet-Lite0, only the new head" in texts(at)
    assert "Training finished in" in texts(at)


def test_a_hostile_run_id_in_the_url_is_refused_as_text(app, home):
    at = open_page(app, "train", run=f"{IMG}{SCRIPT}")
    assert_inert(at)
    assert any(f"There is no run called {IMG}{SCRIPT}" in shown(e.value) for e in at.error)
    at = open_page(app, "results", run=f"../../{SCRIPT}")
    assert_inert(at)


# ---------------------------------------------------------------- the server

def test_the_server_is_local_only_hides_errors_and_limits_uploads():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    server, client = config["server"], config["client"]
    assert server["address"] == "127.0.0.1"  # unset, Streamlit listens on every interface
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert isinstance(server["maxUploadSize"], int) and 0 < server["maxUploadSize"] <= 1000
    assert client["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


def test_every_uploader_states_the_upload_limit(app, home):
    import streamlit as st

    limit = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    assert st.get_option("server.maxUploadSize") == limit  # the pages state what the server enforces
    stated = f"Up to {limit} MB"
    project = make_project(home)
    at = open_page(app, "data", project=project["id"])
    assert at.file_uploader and all(stated in u.help for u in at.file_uploader)
    assert stated in texts(at)
    for source in ("zip",):
        at.segmented_control(key="source_choice").set_value(source).run()
        assert stated in at.file_uploader(key="zip_up").help and stated in texts(at)
    project = make_project(home, "text")
    at = open_page(app, "data", project=project["id"])
    assert stated in at.file_uploader(key="table_up").help and stated in texts(at)
