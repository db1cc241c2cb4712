"""Image backbones: the embedded weights are really ImageNet's, and every architecture meets the Backbone contract."""
from __future__ import annotations

import pytest
import timm
import torch

from tl_core.models import load_model
from tl_core.models.image import wrap_timm

from ..conftest import IMAGENET_ANT, IMAGENET_BEE


def test_embedded_lite0_keeps_the_imagenet_head(lite0_imagenet):
    assert lite0_imagenet.arch == "efficientnet_lite0"
    assert lite0_imagenet.head.out_features == 1000
    assert lite0_imagenet.preprocess.input_size == (3, 224, 224)


def test_embedded_lite0_recognises_ants_and_bees(imagenet_logits, val_photos):
    """Measured: 'ant' on 55 % of the first 20 val ants, 'bee' on 80 % of the first 20 val bees. Random
    weights would hit one class in a thousand; wrongly mapped pretrained weights also land near 0."""
    labels = val_photos[1]
    top1 = imagenet_logits.argmax(1).tolist()
    ants = [t for t, label in zip(top1, labels) if label == "ants"]
    bees = [t for t, label in zip(top1, labels) if label == "bees"]
    assert len(ants) == len(bees) == 20
    assert sum(t == IMAGENET_ANT for t in ants) / 20 >= 0.40
    assert sum(t == IMAGENET_BEE for t in bees) / 20 >= 0.60


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
