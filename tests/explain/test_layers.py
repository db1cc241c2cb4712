"""The layer views: what each block sees (top patches), how far each block moved (1 - linear CKA), what each
layer of a text model attends to, the blocks' plain names and `transferlab layers`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tl_core.config import RunConfig
from tl_core.explain import block_changes, block_patches, layer_attention, linear_cka
from tl_core.explain._patches import TILE
from tl_core.inputs import decode_images
from tl_core.models.layout import plain_names
from tl_core.rundata import open_run_data

PER_CLASS = 8


@pytest.fixture(scope="module")
def tiny(hymenoptera, tmp_path_factory) -> Path:
    """8 ants and 8 bees for training, as many for validation, linked from the real set."""
    root = tmp_path_factory.mktemp("tiny")
    for split in ("train", "val"):
        for label in ("ants", "bees"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for path in sorted((hymenoptera / split / label).glob("*.jpg"))[:PER_CLASS]:
                (folder / path.name).symlink_to(path)
    return root


@pytest.fixture(scope="module")
def last_block_run(transferlab_home, tiny, train_run):
    """A short run that fine-tunes only the last block, gently: its linear probe already scores 100 % on these 16
    pictures and the run keeps the probe when every epoch scores below it (then the block would not change)."""
    run = train_run(transferlab_home, RunConfig(data=str(tiny), unfreeze=1, epochs=1, lr=1e-4, name="last block"))
    assert run.metrics()["best_epoch"] == 1
    return run


def test_top_patches_are_cut_from_the_pictures_they_name(tiny):
    config = RunConfig(data=str(tiny))
    index = block_patches(config)
    dataset = open_run_data(config).dataset
    by_name = {e.name: i for i, e in enumerate(dataset.examples)}
    decoded = decode_images(dataset.examples, _preprocess(index))
    side = index["input_size"][-1]
    assert [b["title"] for b in index["blocks"]] == ["Stem"] + [f"Block {i}" for i in range(1, 8)]
    assert index["blocks"][1]["name"] == "Block 1 · edges and colours"
    fields = [b["field"] for b in index["blocks"]]
    assert fields == sorted(fields) and fields[0] < 10 and fields[-1] > 100       # measured: 3 px to ~200 px
    assert all(b["field"] <= b["theoretical"] <= side for b in index["blocks"])
    for block in index["blocks"]:
        assert 1 <= len(block["channels"]) <= 4
        for channel in block["channels"]:
            for patch in channel["patches"]:
                x0, y0, x1, y1 = patch["box"]
                assert 0 <= x0 < x1 <= side and 0 <= y0 < y1 <= side and x1 - x0 == block["field"]
                example = dataset.examples[by_name[patch["example"]]]
                assert example.label == patch["label"] and f"/{patch['label']}/" in f"/{patch['example']}"
                tile = Image.open(Path(index["folder"]) / patch["file"])
                assert tile.size == (TILE, TILE)
                crop = decoded.images[by_name[patch["example"]], :, y0:y1, x0:x1].permute(1, 2, 0).numpy()
                again = Image.fromarray(crop).resize((TILE, TILE), Image.Resampling.NEAREST if x1 - x0 < TILE
                                                     else Image.Resampling.LANCZOS)
                assert np.array_equal(np.asarray(tile), np.asarray(again))
    assert block_patches(config)["seconds"] == index["seconds"]                      # read back, not made again


def test_the_first_block_picks_out_stripes(tmp_path):
    """Sharp vertical stripes against soft round blobs, both black on white: the Stem's edge detectors fire on
    the stripes, so Block 1's top patches come from them and change left to right far more than top to bottom.
    (The Stem's 3-pixel field also finds them, but one of its channels picks the blobs' dark centres.)"""
    rng = np.random.default_rng(0)
    for label in ("stripes", "dots"):
        (tmp_path / label).mkdir()
        for k in range(12):
            Image.fromarray(_stripes(rng) if label == "stripes" else _dots(rng)).save(tmp_path / label / f"{k}.png")
    index = block_patches(RunConfig(data=str(tmp_path)))
    first = [p for c in index["blocks"][1]["channels"] for p in c["patches"]]
    from_stripes = sum(p["label"] == "stripes" for p in first) / len(first)
    tiles = [np.asarray(Image.open(Path(index["folder"]) / p["file"]), dtype=float) for p in first]
    across = np.mean([np.abs(np.diff(t, axis=1)).mean() for t in tiles])
    down = np.mean([np.abs(np.diff(t, axis=0)).mean() for t in tiles])
    assert from_stripes >= 0.75 and across > 2 * down, (from_stripes, across, down)


def test_frozen_blocks_do_not_change_and_the_fine_tuned_one_does(last_block_run):
    changes = block_changes(last_block_run)
    assert changes["trained"] == [False] * 7 + [True] and not changes["kept_fitted_head"]
    assert changes["change"][:7] == [0.0] * 7                                        # exactly: same weights
    assert changes["change"][7] > 0
    assert changes["examples"] == 2 * PER_CLASS
    assert changes["names"][0] == "Stem · edges and colours"


def test_a_run_shows_what_its_own_blocks_see_and_the_cli_reports_it(last_block_run, capsys):
    from tl_core.cli import main

    index = block_patches(last_block_run)
    assert Path(index["folder"]) == last_block_run.dir / "layers"
    assert (last_block_run.dir / "layers" / "index.json").is_file()
    assert main(["layers", last_block_run.id, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["run"] == last_block_run.id and report["kind"] == "image"
    assert report["changes"]["change"][:7] == [0.0] * 7 and len(report["knowledge"]["scores"]) == 8
    assert main(["layers", last_block_run.id]) == 0
    said = capsys.readouterr().out
    assert "Block 7 · objects and their parts" in said and "(fine-tuned)" in said


def test_linear_cka():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 20))
    rotation, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3 * x @ rotation + 5) == pytest.approx(1.0)                # rotation, scale, shift
    assert linear_cka(x, rng.normal(size=(60, 30))) < 0.5
    with pytest.raises(ValueError, match="same examples"):
        linear_cka(x, x[:10])


def test_text_layers_attend_to_words_of_the_sentence(yelp_run):
    found = layer_attention(yelp_run)
    assert found["titles"] == [f"Layer {i}" for i in range(1, 7)] and not found["pretrained"]
    assert len(found["sentences"]) == 3 and {s["label"] for s in found["sentences"]} == {"0", "1"}
    for sentence in found["sentences"]:
        assert len(sentence["layers"]) == 6
        for layer in sentence["layers"]:
            assert all(word in sentence["text"] for word, _ in layer)
            assert max(w for _, w in layer) == pytest.approx(1.0) and min(w for _, w in layer) >= 0
    changes = block_changes(yelp_run)                                               # only the head trained
    assert changes["change"] == [0.0] * 7 and not any(changes["trained"]) and not changes["kept_fitted_head"]


def test_plain_names_follow_relative_depth():
    assert plain_names(["Stem", "Block 1", "Block 2", "Block 3", "Block 4"], "image") == [
        "Stem · edges and colours", "Block 1 · lines and textures", "Block 2 · patterns and parts",
        "Block 3 · objects and their parts", "Block 4 · objects and their parts"]
    assert plain_names(["Embeddings", "Layer 1"], "text") == ["Embeddings · single words",
                                                             "Layer 1 · the sentence's meaning"]


def _preprocess(index: dict):
    from tl_core.models import load_model

    return load_model("", "image", 2).preprocess


def _stripes(rng) -> np.ndarray:
    """Sharp black and white vertical stripes, 6 to 13 pixels wide."""
    columns = np.arange(224) // int(rng.integers(6, 14)) % 2
    return np.broadcast_to((255 * columns).astype(np.uint8)[None, :, None], (224, 224, 3)).copy()


def _dots(rng) -> np.ndarray:
    """Soft black blobs on white: the same two colours as the stripes, without a sharp edge."""
    ys, xs = np.mgrid[:224, :224]
    weight = np.zeros((224, 224))
    for _ in range(6):
        cy, cx = rng.integers(20, 204, size=2)
        weight = np.maximum(weight, np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * 14.0 ** 2)))
    return np.repeat((255 * (1 - weight))[..., None], 3, axis=2).astype(np.uint8)
