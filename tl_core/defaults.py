"""What "automatic" means: the epochs, learning rate, batch size and early stop a run gets where its config says 0.

Tuned per kind of data and per what trains; every path builder and the tests read them here. Measured for the
fine-tuning recipe (Lite0, 2 blocks on cached prefix activations drawn from a pool of 4 views, 2-core CPU, bf16):
- early stop after 2 epochs without gain when pretrained blocks train: the best epoch is kept anyway; the best
  came at epoch 2 of 6 on chest_xray_nih (75.0 %, nothing better after) and on plant_tomato (91.0 %, stopped
  after epoch 4), so later epochs were wasted time;
- no label smoothing: 0.1 on plant_tomato gave 88.7 % at epoch 3 of 4 against 90.8 % without it (and a training
  loss that cannot fall below ~0.4, which reads as a fault next to the probe's 0.04 on the loss chart);
- layer-wise learning-rate decay and a stronger weight decay on unfrozen blocks were not measured: the body's
  single 10x lower rate (BODY_LR_RATIO) stays.
"""
from __future__ import annotations

from typing import NamedTuple

from .config import NEVER, RunConfig
from .freeze import Plan

BODY_LR_RATIO = 0.1                # pretrained blocks learn 10x slower than the new head


POOL_VIEWS = 4                     # cached views of each training picture the prefix path draws from


class Settings(NamedTuple):
    epochs: int
    lr: float          # the new head's learning rate
    batch_size: int
    early_stop: int = 0             # epochs without a better val accuracy before stopping; 0 = never
                                    # (a config's 0 means this default; its NEVER means 0 here)


# Fine-tuning MiniLM in batches of 16 rather than 32 gained 0.5-2.5 points on yelp over three seeds.
DEFAULTS = {
    ("image", "head"): Settings(20, 1e-3, 32), ("image", "blocks"): Settings(6, 1e-3, 32, early_stop=2),
    ("image", "scratch"): Settings(10, 1e-3, 32),
    ("text", "head"): Settings(30, 3e-3, 32), ("text", "blocks"): Settings(3, 5e-4, 16),
    ("text", "scratch"): Settings(6, 5e-4, 16),
}


def settings_for(config: RunConfig, kind: str, plan: Plan) -> Settings:
    """The config's own choices, with the tuned default wherever it left one at 0."""
    mode = "scratch" if plan.from_scratch else ("head" if plan.head_only else "blocks")
    tuned = DEFAULTS[(kind, mode)]
    return tuned._replace(epochs=config.epochs or tuned.epochs, lr=config.lr or tuned.lr,
                          batch_size=config.batch_size or tuned.batch_size,
                          early_stop=0 if config.early_stop == NEVER else config.early_stop or tuned.early_stop)
