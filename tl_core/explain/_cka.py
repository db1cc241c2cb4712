"""How much each block changed while fine-tuning: 1 - linear CKA between its outputs before and after.

Linear CKA (centred kernel alignment, Kornblith et al. 2019) compares two representations of the same
examples: 1 when one is a rotation and scaling of the other, near 0 when they share no structure. Each block's
output is average-pooled (the per-block features `select.block_features` also scores) on the run's validation
examples, for the network the run started from (pretrained, or its random start from scratch) and for the
run's own model. A block whose weights, and every earlier block's, are exactly the ones it started with
computes exactly the same outputs, so its change is 0 by construction, not a rounded CKA.
"""
from __future__ import annotations

import numpy as np
import torch

from ..models.layout import plain_names
from ..rundata import open_run_data
from ..select import Sample, block_features
from ._blocks import pretrained_backbone, trained_backbone


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations of the same n examples, (n, p) and (n, q): a number in [0, 1]."""
    if len(x) != len(y):
        raise ValueError(f"CKA compares the same examples twice, but got {len(x)} and {len(y)} rows.")
    x = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, dtype=np.float64) - np.mean(y, axis=0)
    cross = np.linalg.norm(y.T @ x) ** 2
    norms = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norms) if norms > 0 else 0.0


def block_changes(run) -> dict:
    """Per block of a finished run: titles, names (`plain_names`), change (1 - CKA, 0 for untouched blocks),
    trained (whether the block was fine-tuned), examples (validation examples compared), and kept_fitted_head
    (blocks were set to fine-tune, but every epoch scored below the head fitted first, so the run kept that head)."""
    from ..runs import Run
    from ._feature_map import resolve

    config, folder = resolve(run)
    data = open_run_data(config)
    dataset = data.dataset
    before = pretrained_backbone(config, len(dataset.classes), dataset.kind)
    after = trained_backbone(folder)
    sample = Sample(dataset.kind, list(dataset.classes), data.val_examples)
    same = _unchanged_prefix(before, after)
    first_changed = next((b for b, kept in enumerate(same) if not kept), len(same))
    outputs = (block_features(before, sample), block_features(after, sample)) if first_changed < len(same) else None
    changes = [0.0 if kept else max(0.0, 1.0 - linear_cka(outputs[0][b], outputs[1][b]))
               for b, kept in enumerate(same)]
    titles = [b.title for b in before.blocks]
    return {"titles": titles, "names": plain_names(titles, dataset.kind), "change": changes,
            "trained": [b >= first_changed for b in range(len(titles))], "examples": len(data.val_examples),
            "from_scratch": config.from_scratch,
            "kept_fitted_head": config.unfreeze != 0 and (Run(folder).metrics() or {}).get("best_epoch") == 0}


def _unchanged_prefix(before, after) -> list[bool]:
    """Per block: True while this block and every one before it hold exactly the starting weights and
    statistics (BatchNorm's running averages included), so its output cannot have changed."""
    start, end = before.model.state_dict(), after.model.state_dict()
    kept, so_far = [], True
    for block in before.blocks:
        modules = {name.rsplit(".", 1)[0] for name in block.param_names}
        keys = [k for k in start if k.rsplit(".", 1)[0] in modules]
        so_far = so_far and all(k in end and torch.equal(start[k], end[k]) for k in keys)
        kept.append(so_far)
    return kept
