"""What a model expects of its inputs, as one typed record: the same one training, prediction and export read.

An image model's record is timm's data config (resolved from the model's `pretrained_cfg`); a text
model's is how many tokens it reads. It is saved in model.json, so a reloaded or exported model
prepares its inputs exactly as training did.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Preprocessing:
    # images: timm's data config, in timm's key order (model.json keeps that order)
    input_size: tuple[int, int, int] | None = None    # (channels, height, width)
    interpolation: str | None = None                  # "bicubic", "bilinear"
    mean: tuple[float, float, float] | None = None    # per channel, on a 0..1 scale
    std: tuple[float, float, float] | None = None
    crop_pct: float | None = None                     # the centre crop's share of the resized picture
    crop_mode: str | None = None
    # texts
    max_length: int | None = None                     # tokens per text; longer texts are cut

    @classmethod
    def of_timm_model(cls, model: Any) -> Preprocessing:
        """What timm says this model's weights expect (its `pretrained_cfg`, with timm's defaults filled in)."""
        from timm.data import resolve_model_data_config

        return cls.from_dict(resolve_model_data_config(model))

    @classmethod
    def from_dict(cls, values: dict) -> Preprocessing:
        """The record as model.json (or timm) spells it; JSON lists become tuples again."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown preprocessing setting(s) {', '.join(unknown)}: this model.json was written "
                             "by a newer TransferLab; update TransferLab to load it.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def to_dict(self) -> dict:
        """The settings this model has (image or text), as model.json stores them and timm's transforms take them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @property
    def draft_size(self) -> int:
        """The picture's longer side before the centre crop: JPEG draft mode decodes no larger than this."""
        return int(max(self.input_size[1:]) / (self.crop_pct or 1.0))
