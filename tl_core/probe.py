"""The linear probe: the new head fitted on frozen features in one full-batch solve.

Pretrained runs that train more than the head fit it first ("linear probe, then fine-tune", Kumar
et al. 2022), so fine-tuning starts from a sensible head and does not wreck the pretrained blocks
while the head is still random. The learning curve fits one per point.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def fit_head_first(head: nn.Linear, train: tuple[torch.Tensor, torch.Tensor],
                   val: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """The linear probe before fine-tuning, and how the fitted head then scores (features, labels each).

    Returned as the `started` event's `head_fit`: fine-tuning's training loss starts from this one, which
    is near zero once the head has memorised the frozen features (0.015 against a validation loss of
    1.07 with 2 blocks unfrozen), so the loss chart marks this phase rather than leave the flat start unexplained.
    """
    linear_probe(head, *train)
    with torch.no_grad():
        train_loss = F.cross_entropy(head(train[0].float()), train[1]).item()
        val_logits = head(val[0].float())
    return {"head_fit": {"train_loss": train_loss, "val_loss": F.cross_entropy(val_logits, val[1]).item(),
                         "val_accuracy": (val_logits.argmax(1) == val[1]).float().mean().item()}}


def linear_probe(head: nn.Linear, feats: torch.Tensor, labels: torch.Tensor, weight_decay: float = 1e-3) -> None:
    """Fit the new head on frozen features (L2-regularised logistic regression, L-BFGS, full batch)."""
    feats, labels = feats.float(), labels.to(feats.device)
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(head(feats), labels) + weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    head.train()
    optimizer.step(closure)
