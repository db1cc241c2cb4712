"""The frozen forward through ONNX Runtime gives the features torch float32 gives, and falls back to torch."""
from __future__ import annotations

import pytest
import torch

from tl_core import runtime as runtime_module
from tl_core.device import Runtime
from tl_core.inputs import Normalized
from tl_core.runtime import run_frozen
from tl_core.features import FeatureExtractor

FLOAT32_CPU = Runtime(torch.device("cpu"), None)


@pytest.fixture
def features_of(lite0_imagenet):
    module = Normalized(FeatureExtractor(lite0_imagenet), lite0_imagenet.preprocess)
    return lambda images, key: run_frozen(module, images, FLOAT32_CPU, key=key)


def test_onnx_runtime_matches_torch_float32(features_of, val_photos, workspace, monkeypatch):
    images = val_photos[0]
    fast = features_of(images, "lite0-features")
    assert (workspace / "cache" / "onnx" / "lite0-features.onnx").is_file()
    plain = features_of(images, None)
    assert fast.shape == plain.shape == (40, 1280) and fast.dtype == torch.float32
    assert (fast - plain).abs().max() < 1e-3  # measured ~1e-5 on features up to ~5

    def no_export(*args):
        raise AssertionError("the cached ONNX graph should have been reused")

    monkeypatch.setattr(runtime_module, "export_onnx", no_export)
    assert torch.equal(features_of(images, "lite0-features"), fast)


def test_a_model_the_exporter_cannot_trace_still_runs_through_torch(features_of, val_photos, workspace,
                                                                     monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(torch.onnx, "export", fail)
    images = val_photos[0][:16]
    with caplog.at_level("WARNING", logger="tl_core.runtime"):
        got = features_of(images, "untraceable")
    assert not list((workspace / "cache" / "onnx").glob("untraceable*"))
    assert "RuntimeError: unsupported operator" in caplog.text  # the reason is logged, not swallowed
    torch.testing.assert_close(got, features_of(images, None))


def test_a_handful_of_inputs_skips_the_export(features_of, val_photos, workspace):
    features_of(val_photos[0][:4], "few")
    assert not (workspace / "cache" / "onnx" / "few.onnx").exists()


def test_a_cpu_pass_runs_in_small_batches_through_either_runtime(lite0_imagenet, val_photos, workspace):
    """A cold ONNX session pays for every page its arena grows to, and torch's activations fall out of cache: small
    batches (runtime.CPU_BATCH) made the ranking's first ONNX pass over 199 pictures 2.7x faster and its torch pass
    of the random-weight twin 1.2-1.4x (torch ran the caller's 64 before)."""
    module = Normalized(FeatureExtractor(lite0_imagenet), lite0_imagenet.preprocess)
    images = val_photos[0]
    for key in ("lite0-batches", None):
        done = []
        run_frozen(module, images, FLOAT32_CPU, key=key, on_batch=lambda n, total: done.append(n))
        assert done == [16, 32, 40], key


def test_two_exports_of_the_same_graph_at_once_both_finish_with_one_whole_graph(tmp_path, monkeypatch):
    """A ranking job and a training run that ranks for itself can export the same graph at the same moment. Here
    the second export runs between the first's writing and its rename: with one shared temporary name it moved
    the first's file away and the first failed; each export now writes a file of its own."""
    import numpy as np
    import onnxruntime as ort

    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    sample, path = torch.randn(1, 3, 8, 8), tmp_path / "graph.onnx"
    real, second = torch.onnx.export, []

    def export_then_another_exports(*args, **kwargs):
        real(*args, **kwargs)
        if not second:
            second.append("started")
            second.append(runtime_module.export_onnx(module, sample, path))

    monkeypatch.setattr(torch.onnx, "export", export_then_another_exports)
    assert runtime_module.export_onnx(module, sample, path) and second == ["started", True]
    assert [p.name for p in tmp_path.iterdir()] == ["graph.onnx"]  # no temporary file left behind
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = module(sample).numpy()
    np.testing.assert_allclose(session.run(None, {"x": sample.numpy()})[0], expected, atol=1e-5)
