"""TransferLab's engine: everything the app does, as a Python API. Nothing here knows about Streamlit.

    from tl_core import RunConfig, train, predict, export_run
    result = train(RunConfig(data="photos/"), on_event=print)

Names are imported on first use, so `import tl_core` (and the CLI) starts without loading torch.
"""
from __future__ import annotations

import importlib

_API = {
    "RunConfig": "config", "ALL": "config", "AUTO": "config", "AUTO_MODEL": "config", "NEVER": "config", "what_trains": "config",
    "AUGMENTATIONS": "config", "field_help": "config", "field_choices": "config",
    "catalog": "models.catalog", "default_model": "models.catalog", "find_model": "models.catalog",
    "ModelInfo": "models.catalog", "ModelUnavailable": "models.catalog", "shipped_layout": "models.catalog",
    "load_model": "models", "build": "models", "layout_of": "models.layout",
    "plain_names": "models.layout",
    "load_dataset": "data", "make_report": "data", "split": "data", "DataError": "data", "Dataset": "data",
    "images_from_uploads": "data", "texts_from_lists": "data", "save_uploads": "data", "save_texts": "data",
    "load_image_zip": "data", "table_columns": "data", "guess_columns": "data", "undecodable_pictures": "data",
    "safe_component": "data", "plural": "data", "seen_ways": "data", "duration": "data", "things": "data", "rename_labels": "data", "read_image": "data",
    "open_run_data": "rundata", "RunData": "rundata",
    "apply_plan": "freeze", "plan_for": "freeze", "Plan": "freeze",
    "train": "trainer", "prepare": "trainer", "TrainResult": "trainer", "TrainingFailed": "trainer",
    "Predictor": "predictor", "predict": "predictor",
    "export_run": "export",
    "Run": "runs", "start_run": "runs", "list_runs": "runs", "get_run": "runs", "active_runs": "runs",
    "keep_warm": "runs", "prepare_ahead": "runs", "prepare_key": "standby",
    "kept_epoch": "events", "scored_epochs_in": "events", "why_it_ended": "events",
    "continue_run": "resume", "earlier_epochs": "resume", "scored_epochs": "resume",
    "sample_data": "select", "rank_models": "select", "recommend": "select", "relatedness": "select",
    "layer_scores": "select", "Sample": "select", "ModelScore": "select", "Recommendation": "select",
    "logme": "transferability", "probe_accuracy": "transferability",
    "start_ranking": "ranking", "ranking_status": "ranking", "Ranking": "ranking", "choose": "auto", "Choice": "auto",
    "blocks_proposal": "auto", "few_examples": "auto", "smallest_class": "auto", "scratch_model": "auto",
    "CLOSE_SCORES": "auto",
    "how_sure": "certainty", "one_answer": "certainty", "few_to_check": "certainty", "interval": "certainty",
    "home": "workspace",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'tl_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
