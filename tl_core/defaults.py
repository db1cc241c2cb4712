"""What "automatic" means: the epochs, learning rate and batch size a run gets where its config says 0.

Tuned per kind of data and per what trains; every path builder and the tests read them here.
"""
from __future__ import annotations

from typing import NamedTuple

from .config import RunConfig
from .freeze import Plan

BODY_LR_RATIO = 0.1                # pretrained blocks learn 10x slower than the new head


class Settings(NamedTuple):
    epochs: int
    lr: float          # the new head's learning rate
    batch_size: int


# Fine-tuning MiniLM in batches of 16 rather than 32 gained 0.5-2.5 points on yelp over three seeds.
DEFAULTS = {
    ("image", "head"): Settings(20, 1e-3, 32), ("image", "blocks"): Settings(6, 1e-3, 32),
    ("image", "scratch"): Settings(10, 1e-3, 32),
    ("text", "head"): Settings(30, 3e-3, 32), ("text", "blocks"): Settings(3, 5e-4, 16),
    ("text", "scratch"): Settings(6, 5e-4, 16),
}


def settings_for(config: RunConfig, kind: str, plan: Plan) -> Settings:
    """The config's own choices, with the tuned default wherever it left one at 0."""
    mode = "scratch" if plan.from_scratch else ("head" if plan.head_only else "blocks")
    epochs, lr, batch_size = DEFAULTS[(kind, mode)]
    return Settings(config.epochs or epochs, config.lr or lr, config.batch_size or batch_size)
