"""The `Task`: what the training loop trains and on which tensors, whichever training path built it."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .defaults import BODY_LR_RATIO
from .device import Runtime
from .freeze import Plan


class TrainingPath(enum.StrEnum):
    """How a run trains, fastest first; the value is what the `started` event and the pages show."""

    CACHED_FEATURES = "cached features"  # only the new head trains, on the frozen network's features
    CACHED_PREFIX = "cached prefix"      # the last blocks train, on the frozen prefix's activations
    FULL_NETWORK = "full network"        # the whole forward runs every step, on augmented inputs


@dataclass
class Task:
    module: nn.Module                               # holds every trainable parameter
    forward: Callable[[tuple, bool], torch.Tensor]  # (inputs, training) -> logits
    train_inputs: tuple[torch.Tensor, ...]
    train_labels: torch.Tensor
    val_inputs: tuple[torch.Tensor, ...]
    val_labels: torch.Tensor
    val_names: list[str]
    classes: list[str]
    head: nn.Module
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    frozen_batchnorm: bool
    save: Callable[[Path], None]
    plan: Plan
    path: TrainingPath
    early_stop: int = 0                             # epochs without a better val accuracy before stopping; 0 never
    pool: int = 1                                   # training rows hold `pool` views of each example (view-major)
    lengths: torch.Tensor | None = None             # text: tokens per example, for length-sorted batches
    lightweight: bool = False                       # only a linear head on cached features trains
    head_alone: Task | None = None                  # a copy of the head to train alone, scored as epoch 0 too
    info: dict = field(default_factory=dict)
    _epochs_drawn: int = 0

    @property
    def train_size(self) -> int:
        """Rows one epoch goes through: every training row, or each example once when it has a pool of views."""
        return len(self.train_labels) // self.pool

    def describe(self) -> dict:
        """For the `started` event; `info` may say how many distinct examples the training views came from."""
        return {"trainable_params": self.plan.trainable, "total_params": self.plan.total,
                "unfreeze": self.plan.unfreeze, "from_scratch": self.plan.from_scratch, "path": self.path.value,
                "train_examples": self.train_size, "val_examples": len(self.val_labels), "classes": self.classes,
                **self.info}

    def param_groups(self) -> list[dict]:
        head_ids = {id(p) for p in self.head.parameters()}
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        body = [p for p in trainable if id(p) not in head_ids]
        body_lr = self.lr if self.plan.from_scratch else self.lr * BODY_LR_RATIO
        groups = [{"params": [p for p in trainable if id(p) in head_ids], "lr": self.lr}]
        return groups + ([{"params": body, "lr": body_lr}] if body else [])

    def train_batches(self, batch_size: int, generator: torch.Generator):
        order = torch.randperm(self.train_size, generator=generator)
        if self.lengths is not None:  # similar lengths together, so batches carry little padding
            chunks = order.split(batch_size * 20)
            order = torch.cat([c[self.lengths[c].argsort()] for c in chunks])
        if self.pool > 1:
            order = order + self._views()[order] * self.train_size
        batches = list(order.split(batch_size))
        for i in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[i]

    def _views(self) -> torch.Tensor:
        """Which view of each example this epoch shows: a rotation (example i shows view (i + epoch) mod pool),
        so no example repeats a view before it has shown all of them, and each view is one pool-th of an epoch."""
        self._epochs_drawn += 1
        return (torch.arange(self.train_size) + self._epochs_drawn - 1) % self.pool

    def to_device(self, index: torch.Tensor, device: torch.device) -> tuple[tuple, torch.Tensor]:
        return tuple(t[index].to(device) for t in self.train_inputs), self.train_labels[index].to(device)

    @torch.no_grad()
    def validate(self, runtime: Runtime, batch_size: int = 128) -> tuple[float, float, torch.Tensor]:
        self.module.eval()
        logits = []
        for start in range(0, len(self.val_labels), batch_size):
            inputs = tuple(t[start:start + batch_size].to(runtime.device) for t in self.val_inputs)
            with runtime.autocast():
                logits.append(self.forward(inputs, False).float().cpu())
        logits = torch.cat(logits)
        loss = F.cross_entropy(logits, self.val_labels).item()
        probs = logits.softmax(1)
        return loss, float((probs.argmax(1) == self.val_labels).float().mean()), probs
