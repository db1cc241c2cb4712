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
from .models.backbone import Backbone
from .workspace import load_tensors, read_json, save_tensors, write_json

WEIGHTS = "model.safetensors"
DESCRIPTION = "model.json"


@dataclass
class Trained:
    kind: str
    arch: str
    model: nn.Module
    classes: list[str]
    preprocess: dict
    tokenizer: Any = None
    description: dict | None = None


def save_model(backbone: Backbone, classes: list[str], folder: Path, config: RunConfig | None = None) -> None:
    folder = Path(folder)
    state = {k: v.detach().cpu() for k, v in backbone.model.state_dict().items()}
    save_tensors(folder / WEIGHTS, state)
    if backbone.kind == "text":
        backbone.tokenizer.save_pretrained(folder / "tokenizer")
        backbone.model.encoder.config.save_pretrained(folder / "encoder")
    write_json(folder / DESCRIPTION, {
        "kind": backbone.kind, "arch": backbone.arch, "base_model": backbone.name, "classes": classes,
        "preprocess": backbone.preprocess, "from_scratch": bool(config and config.from_scratch),
        "unfreeze": config.unfreeze if config else None,
    })


def is_trained_model(folder: Path) -> bool:
    return (Path(folder) / WEIGHTS).is_file() and (Path(folder) / DESCRIPTION).is_file()


def load_trained(folder: Path) -> Trained:
    folder = Path(folder)
    if not is_trained_model(folder):
        raise FileNotFoundError(f"{folder} holds no trained model (expected {WEIGHTS} and {DESCRIPTION}).")
    info = read_json(folder / DESCRIPTION)
    classes = info["classes"]
    tokenizer = None
    if info["kind"] == "image":
        import timm

        model = timm.create_model(info["arch"], pretrained=False, num_classes=len(classes))
    else:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from .models.text import TextClassifier

        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder / "encoder"))
        model = TextClassifier(encoder, len(classes))
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
    model.load_state_dict(load_tensors(folder / WEIGHTS))
    preprocess = info["preprocess"]
    if "input_size" in preprocess:
        preprocess["input_size"] = tuple(preprocess["input_size"])
    return Trained(info["kind"], info["arch"], model.eval(), classes, preprocess, tokenizer, info)
