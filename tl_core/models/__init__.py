"""The model zoo: catalogue entries and loaders that turn them into a Backbone."""
from __future__ import annotations

from .catalog import (CATALOG, ModelInfo, ModelUnavailable, catalog, default_model, find_model, hub_reachable,
                      is_local_weights)


def load_model(name: str, kind: str, num_classes: int | None, pretrained: bool = True):
    """A Backbone for a catalogue name, a hub id, or local weights; `name=""` is the embedded default."""
    info = find_model(name) if name else default_model(kind)
    if info is None and not is_local_weights(name):
        known = ", ".join(m.name for m in catalog(kind))
        raise ModelUnavailable(f"Unknown model '{name}'. Pick one of: {known}; or give a path to local weights.")
    if info is not None and info.kind != kind:
        raise ModelUnavailable(f"{info.title} is a model for {info.kind}s, but this data holds {kind}s.")
    if info is not None and info.source == "hub" and not info.available and not hub_reachable():
        raise ModelUnavailable(info.offline_message())
    if kind == "image":
        from .image import load_image_model

        return load_image_model(info, name or info.name, num_classes, pretrained)
    from .text import load_text_model

    return load_text_model(info, name or info.name, num_classes, pretrained)


__all__ = ["CATALOG", "ModelInfo", "ModelUnavailable", "catalog", "default_model", "find_model", "load_model"]
