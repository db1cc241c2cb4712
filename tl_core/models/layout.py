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


# What blocks at each quarter of a network's depth respond to, in words. Chosen by looking at the top patches
# (`tl_core.explain.block_patches`) of EfficientNet-Lite0 on ants/bees and on tomato leaves (200 pictures
# each): the Stem and Block 1 light up on flat colours and single light-dark edges a few pixels wide; Blocks 2-3
# on thin lines (stems, leaf rims) and speckled textures; Blocks 4-5 on patterns and parts (an insect's eye or
# fur, leaf spots, flower heads); Blocks 6-7 on whole flowers with their insects and whole leaves. For text, the
# same quarters of MiniLM's layers, read off which words each layer attends to (`layer_attention`) on Yelp
# reviews: the first layers spread their attention over every word alike, the last ones gather it on the
# words that carry the meaning ("loved", "fresh", "tip"). A model's blocks are placed by relative depth, so every
# model gets the words without a list per model.
_SEES = {"image": ("edges and colours", "lines and textures", "patterns and parts", "objects and their parts"),
         "text": ("single words", "words in context", "phrases", "the sentence's meaning")}


def plain_names(titles: list[str], kind: str) -> list[str]:
    """Each block's title with what blocks at its depth respond to: "Block 1 · edges and colours"."""
    words = _SEES["text" if kind == "text" else "image"]
    last = max(len(titles) - 1, 1)
    return [f"{title} · {words[min(len(words) * i // last, len(words) - 1)]}" for i, title in enumerate(titles)]
