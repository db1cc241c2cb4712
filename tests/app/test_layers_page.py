"""The layer views in the app: the Train page's block picker under the network's drawing, and the Understand
step's "What each layer learned" section, on real pictures and a real run."""
from __future__ import annotations

import pytest
from apphelpers import add_photos, make_project, open_page, texts

UNDERSTAND = "pages/8_understand.py"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the views run in the test process (conftest.py)


def test_the_train_page_names_the_blocks_and_shows_what_one_sees(app, home):
    project = make_project(home)
    add_photos(home, project, per_class=6)
    at = open_page(app, "train", project=project["id"])
    assert not at.exception
    drawing = "\n".join(h.proto.body for h in at.html)
    assert "Block 1 · edges and colours" in drawing and "Block 7 · objects and their parts" in drawing
    picker = at.selectbox(key="train_layer_block")
    assert picker.value is None and not at.image                                  # nothing computed until picked
    picker.set_value(1).run()
    assert not at.exception
    assert "Block 1 · edges and colours** sees 7×7 pixels" in texts(at)
    assert len(at.image) >= 1 and "switch it on most" in texts(at)


def test_understand_shows_how_far_each_block_moved_and_what_it_sees(trained_app, trained_home):
    at = trained_app
    at.query_params["run"] = trained_home["run"]
    at.run()
    at.switch_page(UNDERSTAND)
    at.run()
    assert "What each layer learned" in [h.value for h in at.header]
    at.button(key=f"show_layers_{trained_home['run']}").click()
    at.run()
    assert not at.exception
    assert not at.get("plotly_chart")  # no bar to draw: an empty chart on an axis stretched to 0.0005 said nothing
    assert ("Only the new head trained in this run, so no block changed: every block's output is the same as before "
            "training.") in texts(at)
    at.selectbox(key=f"understand_layer_block_{trained_home['run']}").set_value(7).run()
    assert not at.exception and "Block 7 · objects and their parts** sees" in texts(at)
