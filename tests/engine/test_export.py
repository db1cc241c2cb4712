"""export_run: a self-contained zip (no pickle) whose ONNX copy computes what torch computes."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from tl_core.checkpoint import load_trained
from tl_core.export import export_run
from tl_core.inputs import normalize

from .conftest import photos

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")


def _members(archive) -> dict[str, str]:
    """{name inside the export folder: full member name}"""
    with zipfile.ZipFile(archive) as zf:
        return {"/".join(m.split("/")[1:]): m for m in zf.namelist()}


def test_an_image_export_is_one_zip_with_everything_needed(image_export, image_run):
    assert image_export.suffix == ".zip" and image_export.is_file()
    assert not image_export.with_suffix("").exists()  # the staging folder is gone
    members = _members(image_export)
    assert {"model.safetensors", "model.json", "labels.json", "README.md", "model.onnx", "config.json",
            "metrics.json"} <= set(members)
    assert {m.split("/")[0] for m in members.values()} == {image_export.stem}  # one top folder
    assert not [m for m in members if m.endswith(PICKLE_SUFFIXES)]
    with zipfile.ZipFile(image_export) as zf:
        assert zf.read(members["labels.json"]).decode().split() == ["[", '"ants",', '"bees"', "]"]
        card = zf.read(members["README.md"]).decode()
    accuracy = image_run.metrics()["accuracy"]
    assert card.startswith(f"# ants or bees ({image_run.id})")
    assert f"accuracy: {accuracy:.1%} on 30 examples" in card and "`ants`, `bees`" in card
    assert "what trained: only the new head" in card and "model.onnx" in card  # the words of the Train slider


def test_onnx_logits_match_torch(image_export, tmp_path):
    import onnxruntime as ort

    with zipfile.ZipFile(image_export) as zf:
        zf.extractall(tmp_path)
    folder = tmp_path / image_export.stem
    trained = load_trained(folder)
    from tl_core import Predictor

    images = Predictor(trained).image_batch(photos("val", "ants", 3) + photos("val", "bees", 3))
    x = normalize(images, trained.preprocess).contiguous()
    with torch.no_grad():
        expected = trained.model(x).numpy()
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"image": x.numpy()})[0]
    assert got.shape == (6, 2)
    assert np.abs(got - expected).max() < 1e-3
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_a_text_export_carries_its_tokenizer_and_no_onnx(text_run, warm_home, tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSFERLAB_HOME", str(warm_home))
        folder = export_run(text_run, tmp_path / "reviews", as_zip=False)
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"model.safetensors", "model.json", "labels.json", "README.md", "encoder/config.json"} <= names
    assert any(n.startswith("tokenizer/") for n in names)
    assert "model.onnx" not in names
    assert not [n for n in names if n.endswith(PICKLE_SUFFIXES)]


def test_a_run_without_a_model_cannot_be_exported(workspace):
    from tl_core.config import RunConfig
    from tl_core.runs import create_run

    run = create_run(RunConfig(data="nowhere"))
    with pytest.raises(ValueError, match="has no trained model to export yet"):
        export_run(run)
