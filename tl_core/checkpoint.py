"""A trained model on disk and back: safetensors weights plus the JSON that rebuilds the architecture.

The same files make a run's checkpoint and an export, so an exported model predicts exactly what
the run did. Nothing here unpickles anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .config import RunConfig
from .freeze import resolve_unfreeze
from .models import build
from .models.backbone import Backbone
from .models.preprocessing import Preprocessing
from .run_files import DESCRIPTION, ENCODER, TOKENIZER, WEIGHTS  # a run folder and an export hold the same files
from .workspace import load_tensors, read_json, save_tensors, write_json


@dataclass
class Trained:
    kind: str
    arch: str
    model: nn.Module
    classes: list[str]
    preprocess: Preprocessing
    tokenizer: Any = None


def save_model(backbone: Backbone, classes: list[str], folder: Path, config: RunConfig | None = None) -> None:
    """Weights, and the JSON that rebuilds them; `unfreeze` is stored resolved: the blocks that actually trained."""
    folder = Path(folder)
    state = {k: v.detach().cpu() for k, v in backbone.model.state_dict().items()}
    save_tensors(folder / WEIGHTS, state)
    if backbone.kind == "text":
        backbone.tokenizer.save_pretrained(folder / TOKENIZER)
        backbone.model.encoder.config.save_pretrained(folder / ENCODER)
    write_json(folder / DESCRIPTION, {
        "kind": backbone.kind, "arch": backbone.arch, "base_model": backbone.name, "classes": classes,
        "preprocess": backbone.preprocess.to_dict(), "from_scratch": bool(config and config.from_scratch),
        "unfreeze": resolve_unfreeze(config.unfreeze, backbone.num_blocks, config.from_scratch) if config else None,
    })


def is_trained_model(folder: Path) -> bool:
    return (Path(folder) / WEIGHTS).is_file() and (Path(folder) / DESCRIPTION).is_file()


def load_trained(folder: Path) -> Trained:
    """The model a run saved, rebuilt by `models.build` (the builder training used) with the run's weights.

    model.json files written before `unfreeze` was stored resolved load the same: nothing here reads it.
    """
    folder = Path(folder)
    if not is_trained_model(folder):
        raise FileNotFoundError(f"{folder} holds no trained model (expected {WEIGHTS} and {DESCRIPTION}).")
    info = read_json(folder / DESCRIPTION)
    kind, classes = info["kind"], info["classes"]
    text = kind == "text"
    backbone = build(str(folder / ENCODER) if text else info["arch"], kind, len(classes), weights=folder / WEIGHTS,
                     tokenizer=folder / TOKENIZER if text else None)
    preprocess = Preprocessing.from_dict(info["preprocess"])
    return Trained(kind, info["arch"], backbone.model, classes, preprocess, backbone.tokenizer)
