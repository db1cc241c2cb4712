"""The model zoo: catalogue entries, and the one builder that turns a name into a Backbone."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from .catalog import (CATALOG, ModelInfo, ModelUnavailable, catalog, default_model, find_model, hub_reachable,
                      is_local_weights)

if TYPE_CHECKING:  # torch stays out of the app's process until a model is built
    from torch import nn

    from .backbone import Backbone

PRETRAINED = "pretrained"  # `weights=PRETRAINED`: the weights the name points at (embedded, hub cache, local file)
Weights = Union[str, Path, None]  # PRETRAINED, None (random: from scratch), or the safetensors file a run saved


def build(name: str, kind: str, num_classes: int | None, weights: Weights = PRETRAINED,
          tokenizer: Path | None = None) -> Backbone:
    """The one way a model is made: create the architecture, load its weights, adapt the head, wrap it.

    Training, the Train page's layout, checkpoints (so predict, export and explain) all come through here,
    so a reloaded run is the very network the run trained. `name` is a catalogue name, a hub id, 'arch:path'
    to local weights or "" for the embedded default; with saved weights it is the timm architecture (image)
    or the folder of the encoder's config (text), and `tokenizer` the saved tokenizer's folder.
    `num_classes=None` keeps the pretrained ImageNet classifier (used to check the weights are right).
    """
    saved = weights not in (PRETRAINED, None)
    info = None if saved else _entry(name, kind)
    name = name or info.name
    if kind == "image":
        from .image import build_image

        return build_image(info, name, num_classes, weights)
    from .text import build_text

    return build_text(info, name, num_classes, weights, tokenizer)


def load_model(name: str, kind: str, num_classes: int | None, pretrained: bool = True) -> Backbone:
    """A catalogue model with its pretrained weights, or random ones from scratch: `build` as training asks."""
    return build(name, kind, num_classes, PRETRAINED if pretrained else None)


def wrap(model: nn.Module, kind: str, name: str, preprocess: dict, tokenizer=None) -> Backbone:
    """The Backbone around a model already made (one a caller loaded), keeping the preprocessing it trained with."""
    if kind == "image":
        from .image import wrap_timm

        backbone = wrap_timm(model, name, chain=False)
    else:
        from .text import wrap_encoder

        backbone = wrap_encoder(model, tokenizer, name)
    backbone.preprocess = preprocess
    return backbone


def _entry(name: str, kind: str) -> ModelInfo | None:
    """The catalogue entry for a name (None for local weights), or why it cannot be built here."""
    info = find_model(name) if name else default_model(kind)
    if info is None and not is_local_weights(name):
        known = ", ".join(m.name for m in catalog(kind))
        raise ModelUnavailable(f"Unknown model '{name}'. Pick one of: {known}; or give a path to local weights.")
    if info is not None and info.kind != kind:
        raise ModelUnavailable(f"{info.title} is a model for {info.kind}s, but this data holds {kind}s.")
    if info is not None and info.source == "hub" and not info.available and not hub_reachable():
        raise ModelUnavailable(info.offline_message())
    return info


__all__ = ["CATALOG", "PRETRAINED", "ModelInfo", "ModelUnavailable", "build", "catalog", "default_model",
           "find_model", "load_model", "wrap"]
