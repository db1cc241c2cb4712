"""TransferLab's engine: everything the app does, as a Python API. Nothing here knows about Streamlit.

    from tl_core import RunConfig, train, predict, export_run
    result = train(RunConfig(data="photos/"), on_event=print)

Names are imported on first use, so `import tl_core` (and the CLI) starts without loading torch.
"""
from __future__ import annotations

import importlib
import sys
import types

_API = {
    "RunConfig": "config", "ALL": "config",
    "catalog": "models.catalog", "default_model": "models.catalog", "find_model": "models.catalog",
    "ModelInfo": "models.catalog", "ModelUnavailable": "models.catalog",
    "load_model": "models",
    "load_dataset": "data", "make_report": "data", "split": "data", "DataError": "data", "Dataset": "data",
    "images_from_uploads": "data", "texts_from_lists": "data", "save_uploads": "data", "save_texts": "data",
    "apply_plan": "freeze", "plan_for": "freeze", "Plan": "freeze",
    "train": "train", "TrainResult": "train", "TrainingFailed": "train",
    "Predictor": "predict", "predict": "predict",
    "export_run": "export",
    "Run": "runs", "start_run": "runs", "list_runs": "runs", "get_run": "runs",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'tl_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package under its own name; for `train` and `predict` that
    would hide the functions of the same name (`from tl_core import train` gave the module), so skip it."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _API.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
