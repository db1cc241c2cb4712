"""The network a layer view looks at, block by block: pretrained (before any run) or a run's own model.

Both come as a Backbone whose `stages` chain reproduces the network's features, so a view can stop after
each block (`block_outputs`). A run's Backbone is named by its weights file (`models.catalog.weights_identity`
turns that into the file's size and time), so the engine's feature caches keep its outputs apart from the
pretrained network's of the same architecture.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch

from .. import run_files
from ..config import RunConfig
from ..inputs import normalize
from ..models import PRETRAINED, build
from ..models.backbone import Backbone


def pretrained_backbone(config: RunConfig, num_classes: int, kind: str) -> Backbone:
    """The network a run with these settings starts from (random weights, seeded as training seeds them,
    from scratch); a random start is named apart from the pretrained weights, so caches never mix them."""
    if config.from_scratch:
        torch.manual_seed(config.seed)
        backbone = build(config.model, kind, num_classes, None)
        backbone.name = f"{backbone.name} random weights, seed {config.seed}"
        return backbone
    return build(config.model, kind, num_classes, PRETRAINED)


def trained_backbone(folder: Path) -> Backbone:
    """A run's own model, its blocks chained like the pretrained one's (for an image model)."""
    from ..checkpoint import load_trained
    from ..models import wrap

    trained = load_trained(folder)
    if trained.kind == "image":
        from ..models.image import wrap_timm

        backbone = wrap_timm(trained.model, trained.arch, chain=True)
        backbone.preprocess = trained.preprocess
    else:
        backbone = wrap(trained.model, trained.kind, trained.arch, trained.preprocess, trained.tokenizer)
    backbone.name = str(Path(folder) / run_files.WEIGHTS)
    return backbone


def block_outputs(backbone: Backbone, images: torch.Tensor) -> Iterator[torch.Tensor]:
    """(B, C, h, w) after each block, input side first, for uint8 pictures (B, 3, H, W); no gradient kept."""
    x, stages = normalize(images, backbone.preprocess), chained(backbone)
    with torch.inference_mode():
        for i, (block, module) in enumerate(stages):
            x = module(x)
            if i + 1 == len(stages) or stages[i + 1][0] != block:
                yield x.float()


def chained(backbone: Backbone) -> list:
    if not backbone.stages:
        raise ValueError(f"{backbone.arch} does not run as a chain of blocks, so what each block sees cannot be "
                         "shown for it; EfficientNet, MobileNet, ResNet and ConvNeXt models can be.")
    return backbone.stages
