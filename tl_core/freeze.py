"""The central knob: `unfreeze = N` trains the last N blocks and the new head; the rest stays frozen."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import ALL
from .models.layout import Layout, layout_of

if TYPE_CHECKING:  # torch stays out of the app's process: the Train page imports this module to count
    from torch import nn

    from .models.backbone import Backbone


@dataclass(frozen=True)
class Plan:
    unfreeze: int          # blocks that train, 0..num_blocks
    first_trainable: int   # index of the first trainable block (num_blocks when only the head trains)
    trainable: int         # parameters that train
    total: int             # parameters in the model
    from_scratch: bool

    @property
    def head_only(self) -> bool:
        return self.unfreeze == 0 and not self.from_scratch

    def describe(self) -> str:
        share = self.trainable / self.total if self.total else 0
        percent = "less than 1%" if 0 < share < 0.01 else f"{share:.0%}"
        return f"trainable: {_millions(self.trainable)} of {_millions(self.total)} parameters ({percent})"


def resolve_unfreeze(unfreeze: int, num_blocks: int) -> int:
    """-1 means all; anything above the block count is all too (the user asked for everything)."""
    if unfreeze == ALL or unfreeze >= num_blocks:
        return num_blocks
    if unfreeze < 0:
        raise ValueError(f"'unfreeze' must be 0 or more (or -1 for all), not {unfreeze}.")
    return unfreeze


def apply_plan(backbone: Backbone, unfreeze: int, from_scratch: bool = False) -> Plan:
    """Set requires_grad for the plan. From scratch, everything trains: there is nothing worth keeping."""
    n = backbone.num_blocks if from_scratch else resolve_unfreeze(unfreeze, backbone.num_blocks)
    first = backbone.num_blocks - n
    trainable_names = {name for b in backbone.blocks[first:] for name in b.param_names} | set(backbone.head_names())
    for name, param in backbone.model.named_parameters():
        param.requires_grad_(name in trainable_names)
    return plan_for(backbone, n, from_scratch)


def plan_for(model: Layout | Backbone, unfreeze: int, from_scratch: bool = False) -> Plan:
    """The counts a UI shows for a slider position, from the model's layout (a built model's is read off it).

    Training counts through here too (`apply_plan`), so the Train page and the run's `started` event agree.
    """
    layout = model if isinstance(model, Layout) else layout_of(model)
    n = layout.num_blocks if from_scratch else resolve_unfreeze(unfreeze, layout.num_blocks)
    first = layout.num_blocks - n
    trainable = sum(count for _, count in layout.blocks[first:]) + layout.head
    return Plan(n, first, trainable, layout.total, from_scratch)


def keep_batchnorm_frozen(model: nn.Module) -> None:
    """Pretrained BatchNorm statistics stay as they are while fine-tuning (call after `model.train()`).

    Small datasets give noisy batch statistics; keeping the pretrained ones is what makes
    fine-tuning the last blocks beat head-only here instead of losing to it.
    """
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 100_000 else f"{n:,}"
