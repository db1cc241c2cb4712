"""A trained model on disk and back: safetensors weights plus the JSON that rebuilds the architecture.

The same files make a run's checkpoint and an export, so an exported model predicts exactly what
the run did. Nothing here unpickles anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .calibration import fold
from .config import RunConfig
from .data import DataError
from .freeze import Plan, resolve_unfreeze
from .models import build
from .models.backbone import Backbone
from .models.preprocessing import Preprocessing
from .run_files import DESCRIPTION, ENCODER, METRICS, TOKENIZER, WEIGHTS  # a run folder and an export: the same files
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


def load_earlier_weights(backbone: Backbone, folder: Path, classes: list[str], plan: Plan) -> None:
    """Start a continuation (`resume.py`) from the model the run in `folder` kept, loaded into `backbone` as training
    built it, with the same plan.

    Loaded into the pretrained build rather than through `build(weights=...)`: the blocks the plan keeps frozen
    were frozen in the earlier run too (BatchNorm statistics included), so they still are the pretrained weights
    the frozen-output caches are named by (`features.model_key`), and a head-only or cached-prefix continuation
    reads those caches as they are. Refused when the data's classes, the model or what trains differ from the
    earlier run's: the weights would not fit, or the caches would no longer describe the frozen part.
    """
    info = read_json(Path(folder) / DESCRIPTION)
    run = Path(folder).name
    if info["classes"] != classes:
        raise DataError(f"The data now holds the classes {', '.join(classes)}, but the model of run {run} learned "
                        f"{', '.join(info['classes'])}. Start a new run on this data instead.")
    if info["arch"] != backbone.arch or info.get("unfreeze") not in (None, plan.unfreeze) \
            or info.get("from_scratch", False) != plan.from_scratch:
        raise DataError(f"A continuation of run {run} must train the same model and the same blocks as it did "
                        f"({info['arch']}, {info.get('unfreeze')} blocks). Start a new run to change them.")
    backbone.model.load_state_dict(load_tensors(Path(folder) / WEIGHTS))
    # the head was calibrated when that run ended (`calibration`): training goes on from the weights it trained
    fold(backbone.head, 1 / (read_json(Path(folder) / METRICS) or {}).get("temperature", 1.0))
