"""A model's blocks and parameter counts: what the Train page draws and what `freeze.plan_for` counts.

A layout needs no torch. The catalogue ships one for each model it can build offline (`catalog.shipped_layout`):
building the network only to draw it (torch and timm imported into the app's process, the model made, its
stages checked by a forward pass) made the first visit to the Train page take 11-25 s on a busy 2-core CPU
(3-4 s when idle); drawn from the shipped layout it takes under 0.5 s (measured with AppTest).
`layout_of` reads the same layout off a built model: training counts from that one, and a test checks
that the catalogue's equals it for every model that can be built here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backbone import Backbone


@dataclass(frozen=True)
class Layout:
    blocks: tuple[tuple[str, int], ...]  # (title, parameters) of each block, input side first
    head: int                            # parameters outside the blocks: the new head, for this many classes

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def total(self) -> int:
        return sum(count for _, count in self.blocks) + self.head


def layout_of(backbone: Backbone) -> Layout:
    """The layout of a built model (its parameters are read, not changed)."""
    blocks = tuple((block.title, block.count(backbone.model)) for block in backbone.blocks)
    params = dict(backbone.model.named_parameters())
    return Layout(blocks, sum(params[name].numel() for name in backbone.head_names()))
