"""Image backbones: the embedded weights are really ImageNet's, and every architecture meets the Backbone contract."""
from __future__ import annotations

import pytest
import timm
import torch

from tl_core.data import Example
from tl_core.inputs import decode_images, normalize
from tl_core.models import load_model
from tl_core.models.image import wrap_timm

from ..conftest import IMAGENET_ANT, IMAGENET_BEE, photos


# name: (timm architecture, input side, mean): the Lites are TensorFlow ports, in timm's tf_ variants
EMBEDDED = {"efficientnet_lite0": ("tf_efficientnet_lite0", 224, 0.5),
            "efficientnet_lite1": ("tf_efficientnet_lite1", 240, 0.5),
            "efficientnet_lite2": ("tf_efficientnet_lite2", 260, 0.5)}


@pytest.fixture(scope="module", params=list(EMBEDDED))
def embedded_imagenet(request, warm_home):
    """(the embedded model with its ImageNet classifier, top-1 ImageNet class of each val photo, its label):
    Lite0 on the session's first 20 + 20 val photos, Lite1 and Lite2 on the first 10 + 10."""
    if request.param == "efficientnet_lite0":
        logits, (_, labels) = request.getfixturevalue("imagenet_logits"), request.getfixturevalue("val_photos")
        return request.getfixturevalue("lite0_imagenet"), logits.argmax(1).tolist(), labels
    backbone = load_model(request.param, "image", None)
    files = photos("val", "ants", 10) + photos("val", "bees", 10)
    decoded = decode_images([Example(label=f.parent.name, name=f.name, path=f) for f in files], backbone.preprocess,
                            use_cache=False)
    with torch.no_grad():
        logits = backbone.model(normalize(decoded.images, backbone.preprocess))
    return backbone, logits.argmax(1).tolist(), [f.parent.name for f in files]


def test_embedded_lites_keep_the_imagenet_head_and_their_preprocessing(embedded_imagenet):
    backbone, _, _ = embedded_imagenet
    arch, side, mean = EMBEDDED[backbone.name]
    assert backbone.arch == arch
    assert backbone.head.out_features == 1000
    assert backbone.preprocess.input_size == (3, side, side) and backbone.preprocess.mean[0] == mean


def test_embedded_lites_recognise_ants_and_bees(embedded_imagenet):
    """Measured on Lite0's 20 + 20: 'ant' top for 55 %, 'bee' for 80 %; on the first 10 + 10 Lite1 9 and 9,
    Lite2 8 and 8 of 10. Random weights would hit one class in a thousand; wrongly mapped pretrained weights
    also land near 0."""
    _, top1, labels = embedded_imagenet
    ants = [t for t, label in zip(top1, labels) if label == "ants"]
    bees = [t for t, label in zip(top1, labels) if label == "bees"]
    assert len(ants) == len(bees) >= 10
    assert sum(t == IMAGENET_ANT for t in ants) / len(ants) >= 0.40
    assert sum(t == IMAGENET_BEE for t in bees) / len(bees) >= 0.60


def test_a_new_head_keeps_the_pretrained_body(lite0_imagenet):
    fresh = load_model("", "image", 2)
    assert fresh.head.out_features == 2
    theirs = lite0_imagenet.model.state_dict()
    for name, tensor in fresh.model.state_dict().items():
        if not name.startswith("classifier."):
            assert torch.equal(tensor, theirs[name]), name
    scratch = load_model("", "image", 2, pretrained=False)
    assert not torch.equal(scratch.model.conv_stem.weight, fresh.model.conv_stem.weight)


# Real catalogue architectures, plus timm's tiny test_* models (milliseconds to build) for layouts the
# catalogue lacks: a ViT with registers, an NFNet whose head follows a final conv.
ARCHS = ["efficientnet_lite0", "resnet18", "mobilenetv3_large_100", "convnext_tiny", "vit_small_patch16_224",
         "test_resnet", "test_efficientnet", "test_convnext", "test_vit", "test_vit2", "test_nfnet"]
# Plain chains of modules: the cached-prefix training path must be offered for these.
CHAINS = {"efficientnet_lite0", "resnet18", "convnext_tiny", "test_resnet", "test_efficientnet", "test_convnext"}


@pytest.fixture(scope="module", params=ARCHS)
def wrapped(request):
    torch.manual_seed(0)
    model = timm.create_model(request.param, pretrained=False, num_classes=2)
    backbone = wrap_timm(model, request.param)
    x = torch.randn(1, *backbone.preprocess.input_size)
    return request.param, backbone, x


def _names_of(model: torch.nn.Module, module: torch.nn.Module) -> set[str]:
    """Parameter names of `module` inside `model`, found by identity rather than by name prefix."""
    ids = {id(p) for p in module.parameters()}
    return {n for n, p in model.named_parameters() if id(p) in ids}


def test_blocks_cover_every_body_parameter_exactly_once(wrapped):
    arch, backbone, _ = wrapped
    model = backbone.model
    in_blocks = [n for b in backbone.blocks for n in b.param_names]
    assert len(in_blocks) == len(set(in_blocks)), "a parameter sits in two blocks"
    head = _names_of(model, model.get_classifier())
    assert set(in_blocks) == {n for n, _ in model.named_parameters()} - head
    assert all(b.param_names for b in backbone.blocks)
    assert [b.title for b in backbone.blocks] == ["Stem"] + [f"Block {i}" for i in range(1, backbone.num_blocks)]
    order = {n: i for i, (n, _) in enumerate(model.named_parameters())}
    firsts = [min(order[n] for n in b.param_names) for b in backbone.blocks]
    assert firsts == sorted(firsts), "blocks must run from the input side to the output side"


def test_head_is_the_classifier(wrapped):
    _, backbone, _ = wrapped
    model = backbone.model
    assert backbone.head is model.get_classifier()
    assert backbone.head.out_features == 2
    assert set(backbone.head_names()) == _names_of(model, backbone.head)


def test_features_then_head_is_the_model(wrapped):
    _, backbone, x = wrapped
    with torch.no_grad():
        feats = backbone.features(x)
        assert feats.shape == (1, backbone.head.in_features)
        torch.testing.assert_close(backbone.head(feats), backbone.model(x), atol=1e-5, rtol=1e-4)


def test_stages_chain_to_forward_features(wrapped):
    arch, backbone, x = wrapped
    if arch in CHAINS:
        assert backbone.stages is not None, f"{arch} should get the cached-prefix path"
    if backbone.stages is None:
        return
    model = backbone.model
    indices = [b for b, _ in backbone.stages]
    assert indices == sorted(indices) and 0 <= indices[0] and indices[-1] < backbone.num_blocks
    block_of = {n: i for i, b in enumerate(backbone.blocks) for n in b.param_names}
    for b, module in backbone.stages:  # a frozen prefix must never hold a parameter of a trainable block
        assert {block_of[n] for n in _names_of(model, module)} <= {b}
    with torch.no_grad():
        chained = x
        for _, module in backbone.stages:
            chained = module(chained)
        torch.testing.assert_close(chained, model.forward_features(x), atol=1e-5, rtol=1e-4)


def test_wrap_keeps_the_preprocessing_it_trained_with_and_skips_the_chain_check():
    """What explain does with a model a caller loaded: the same contract, without the prefix cache's forward pass."""
    from tl_core.models import wrap
    from tl_core.models.preprocessing import Preprocessing

    model = timm.create_model("test_resnet", pretrained=False, num_classes=2)
    trained_with = Preprocessing(input_size=(3, 96, 96), interpolation="bilinear", mean=(0.5,) * 3, std=(0.5,) * 3,
                                 crop_pct=1.0, crop_mode="center")
    backbone = wrap(model, "image", "test_resnet", trained_with)
    assert backbone.model is model and backbone.preprocess == trained_with and backbone.stages is None
    assert [b.param_names for b in backbone.blocks] == [b.param_names for b in wrap_timm(model, "test_resnet").blocks]


def test_an_embedded_lite_trains_through_the_onnx_runtime_and_exports(workspace, tmp_path, train_run):
    """Lite1, head-only on 10 + 10 pictures: its frozen pass runs through ONNX Runtime (TensorFlow's "same"
    padding exports), and the exported model.onnx computes what the reloaded torch model computes."""
    import json
    import zipfile

    import onnxruntime as ort

    from tl_core.checkpoint import load_trained
    from tl_core.config import RunConfig
    from tl_core.export import export_run

    from ..conftest import link_photos

    data = link_photos(tmp_path / "data", {"train": {"ants": 10, "bees": 10}, "val": {"ants": 2, "bees": 2}})
    run = train_run(workspace, RunConfig(data=str(data), model="efficientnet_lite1", epochs=1, augment="none"))
    assert list((workspace / "cache" / "onnx").glob("*.onnx")), "the frozen pass should have run through ONNX"
    assert json.loads((run.dir / "model.json").read_text())["preprocess"]["input_size"] == [3, 240, 240]
    with zipfile.ZipFile(export_run(run, tmp_path / "lite1.zip")) as zf:
        zf.extractall(tmp_path / "export")
    folder = next((tmp_path / "export").iterdir())
    trained = load_trained(folder)
    x = normalize(decode_images([Example("ants", f.name, path=f) for f in photos("val", "ants", 2)],
                                trained.preprocess, use_cache=False).images, trained.preprocess)
    with torch.no_grad():
        expected = trained.model(x).numpy()
    got = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        ["logits"], {"image": x.numpy()})[0]
    assert abs(got - expected).max() < 1e-3
