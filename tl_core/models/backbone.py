"""The one contract every model in the zoo meets, image or text: ordered blocks, a new head, features."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .preprocessing import Preprocessing


@dataclass
class Block:
    """One unit of the "layers to fine-tune" knob, as a UI draws it."""

    title: str                 # "Stem", "Block 3", "Embeddings", "Layer 2"
    detail: str                # the modules inside, e.g. "blocks.2"
    param_names: list[str]

    def count(self, model: nn.Module) -> int:
        params = dict(model.named_parameters())
        return sum(params[n].numel() for n in self.param_names)


@dataclass
class Backbone:
    kind: str                              # "image" | "text"
    name: str                              # catalogue name or local path it came from
    arch: str                              # timm architecture, or the transformers model folder's model_type
    model: nn.Module                       # inputs -> logits, the thing that is trained and exported
    blocks: list[Block]                    # input side first; the new head is not one of them
    head: nn.Module                        # the new classifier (always trains)
    features: Callable[..., torch.Tensor]  # inputs -> pooled features, the head's input
    preprocess: Preprocessing              # image: timm's data config; text: max_length
    tokenizer: Any = None                  # text models only
    stages: list[tuple[int, nn.Module]] | None = None  # image: (block index, module) whose chain == forward_features

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def head_names(self) -> list[str]:
        in_blocks = {n for b in self.blocks for n in b.param_names}
        return [n for n, _ in self.model.named_parameters() if n not in in_blocks]

    def param_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())
