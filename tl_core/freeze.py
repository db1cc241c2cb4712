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
    """What actually trains for a RunConfig's `unfreeze` and `from_scratch` on one model: the resolved count.

    The raw value has several spellings (0, N, N above the block count, ALL = -1, from scratch); everything
    after the form (the `started` event, model.json, the Train page's counts) reads this record instead.
    """

    unfreeze: int          # blocks that train, 0..num_blocks (num_blocks from scratch or for ALL)
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


def resolve_unfreeze(unfreeze: int, num_blocks: int, from_scratch: bool = False) -> int:
    """How many blocks train: from scratch all of them (there is nothing worth keeping); -1 (ALL) or anything
    above the block count means all too (the user asked for everything)."""
    if from_scratch or unfreeze == ALL or unfreeze >= num_blocks:
        return num_blocks
    if unfreeze < 0:
        raise ValueError(f"'unfreeze' must be 0 or more (or -1 for all), not {unfreeze}.")
    return unfreeze


def apply_plan(backbone: Backbone, unfreeze: int, from_scratch: bool = False) -> Plan:
    """Set requires_grad for the plan: the last `plan.unfreeze` blocks and the new head train."""
    plan = plan_for(backbone, unfreeze, from_scratch)
    trainable_names = ({name for b in backbone.blocks[plan.first_trainable:] for name in b.param_names}
                       | set(backbone.head_names()))
    for name, param in backbone.model.named_parameters():
        param.requires_grad_(name in trainable_names)
    return plan


def plan_for(model: Layout | Backbone, unfreeze: int, from_scratch: bool = False) -> Plan:
    """The counts a UI shows for a slider position, from the model's layout (a built model's is read off it).

    Training counts through here too (`apply_plan`), so the Train page and the run's `started` event agree.
    """
    layout = model if isinstance(model, Layout) else layout_of(model)
    n = resolve_unfreeze(unfreeze, layout.num_blocks, from_scratch)
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
