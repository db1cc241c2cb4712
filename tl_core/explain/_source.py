"""Whatever the caller holds (a Predictor, a trained model, a Backbone, a run or export) as one Backbone.

The explain views only need the engine's model contract: the model itself, its pooled features,
its preprocessing and its class names. Wrapping a trained model with the engine's `models.wrap` (the wrapping
`models.build` ends with) gives exactly that, so nothing here re-derives how features are pooled.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import torch

from ..checkpoint import Trained
from ..models import wrap
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
        return Subject(wrap(source.model, source.kind, source.arch, source.preprocess, source.tokenizer),
                       list(source.classes))
    raise TypeError("Expected a Predictor, a trained model, a Backbone or a run/export path, "
                    f"not {type(source).__name__}.")
