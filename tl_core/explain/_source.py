"""Whatever the caller holds (a Predictor, a trained model, a Backbone, a run or export) as one Backbone.

The explain views only need the engine's model contract: the model itself, its pooled features,
its preprocessing and its class names. Wrapping a trained model with the engine's own
`wrap_timm` / `wrap_encoder` gives exactly that, so nothing here re-derives how features are pooled.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import torch

from ..checkpoint import Trained
from ..models.backbone import Backbone
from ..predictor import Predictor

Source = Union[Predictor, Trained, Backbone, str, Path]


@dataclass
class Subject:
    backbone: Backbone
    classes: list[str]   # class names in logit order

    @property
    def kind(self) -> str:
        return self.backbone.kind

    @property
    def device(self) -> torch.device:
        return next(self.backbone.model.parameters()).device

    def class_index(self, target: int | str | None, default: int) -> int:
        """A class given by index or by name; None means `default` (the prediction)."""
        if target is None:
            return default
        if isinstance(target, str):
            if target not in self.classes:
                raise ValueError(f"'{target}' is not one of this model's classes: {', '.join(self.classes[:20])}.")
            return self.classes.index(target)
        if not 0 <= int(target) < len(self.classes):
            raise ValueError(f"Class {target} does not exist; this model has classes 0 to {len(self.classes) - 1}.")
        return int(target)

    def image_batch(self, images: list | torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) as the model saw its training pictures; tensors already in that form pass through."""
        if isinstance(images, torch.Tensor):
            return images if images.dim() == 4 else images.unsqueeze(0)
        b = self.backbone
        return Predictor(Trained(b.kind, b.arch, b.model, self.classes, b.preprocess)).image_batch(list(images))


def subject(source: Source) -> Subject:
    """Resolve any model handle the app or a user has into a Backbone plus class names."""
    if isinstance(source, (str, Path)):
        source = Predictor.load(source)
    if isinstance(source, Predictor):
        source = source.trained
    if isinstance(source, Backbone):
        out = source.head.out_features if hasattr(source.head, "out_features") else None
        classes = [str(i) for i in range(out)] if out else []
        return Subject(source, classes)
    if isinstance(source, Trained):
        return Subject(_wrap(source), list(source.classes))
    raise TypeError("Expected a Predictor, a trained model, a Backbone or a run/export path, "
                    f"not {type(source).__name__}.")


_RECENT: "OrderedDict[int, Backbone]" = OrderedDict()  # the last few wraps: wrapping runs a check forward
_KEEP = 4


def _wrap(trained: Trained) -> Backbone:
    """The engine's Backbone around a loaded model, reused while the same model is explained again."""
    backbone = _RECENT.get(id(trained.model))
    if backbone is None or backbone.model is not trained.model:
        backbone = _RECENT[id(trained.model)] = _wrap_new(trained)
        while len(_RECENT) > _KEEP:
            _RECENT.popitem(last=False)
    _RECENT.move_to_end(id(trained.model))
    return backbone


def _wrap_new(trained: Trained) -> Backbone:
    if trained.kind == "image":
        from ..models.image import wrap_timm

        backbone = wrap_timm(trained.model, trained.arch)
        backbone.preprocess = trained.preprocess  # the preprocessing the run trained with, not timm's guess
        return backbone
    from ..models.text import wrap_encoder

    backbone = wrap_encoder(trained.model, trained.tokenizer, trained.arch)
    backbone.preprocess = trained.preprocess
    return backbone
