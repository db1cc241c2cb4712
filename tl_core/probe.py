"""The linear probe: the new head fitted on frozen features in one full-batch solve.

Pretrained runs that train more than the head fit it first ("linear probe, then fine-tune", Kumar
et al. 2022), so fine-tuning starts from a sensible head and does not wreck the pretrained blocks
while the head is still random. The learning curve fits one per point.

Before fine-tuning, the probe's L2 strength is picked on held-out training examples (`pick_weight_decay`)
rather than fixed at 1e-3, so noisy labels get a head that has not memorised them: measured, it picked 1e-2
on chest_xray_nih (the head's training loss 0.16 instead of lower), 1e-3 on plant_tomato and ag_news (0.04,
0.21). What stopped fine-tuning from memorising was fresh views (`tasks.py`), not a weaker probe: with them the
unfrozen blocks' training loss starts at 0.15 on plant_tomato (views the probe never saw) and validation loss falls.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WEIGHT_DECAYS = (1e-3, 1e-2, 3e-2, 1e-1)   # the probe's L2 strengths tried before fine-tuning
HELD_OUT = 5                                # one fifth of the training examples judges them


def fit_head_first(head: nn.Linear, train: tuple[torch.Tensor, torch.Tensor],
                   val: tuple[torch.Tensor, torch.Tensor], examples: int | None = None) -> dict:
    """The linear probe before fine-tuning, and how the fitted head then scores (features, labels each).

    `examples`: how many distinct examples the training rows come from (rows are view-major, so row r shows
    example r % examples); the held-out part that picks the L2 strength leaves out every view of its examples.
    Returned for the `started` event (`head_fit`, and the L2 strength picked): fine-tuning's training loss
    starts from `head_fit`'s.
    """
    weight_decay = pick_weight_decay(head, *train, examples or len(train[1]))
    linear_probe(head, *train, weight_decay=weight_decay)
    with torch.no_grad():
        train_loss = F.cross_entropy(head(train[0].float()), train[1]).item()
        val_logits = head(val[0].float())
    return {"head_fit": {"train_loss": train_loss, "val_loss": F.cross_entropy(val_logits, val[1]).item(),
                         "val_accuracy": (val_logits.argmax(1) == val[1]).float().mean().item()},
            "probe_weight_decay": weight_decay}


def pick_weight_decay(head: nn.Linear, feats: torch.Tensor, labels: torch.Tensor, examples: int) -> float:
    """The L2 strength (of WEIGHT_DECAYS) whose probe has the lowest loss on held-out training examples."""
    held_out = (torch.arange(len(labels)) % examples) % HELD_OUT == 0
    if held_out.all() or not held_out.any():
        return WEIGHT_DECAYS[0]
    initial = {k: v.clone() for k, v in head.state_dict().items()}
    losses = []
    for weight_decay in WEIGHT_DECAYS:
        head.load_state_dict(initial)
        linear_probe(head, feats[~held_out], labels[~held_out], weight_decay=weight_decay)
        with torch.no_grad():
            losses.append(F.cross_entropy(head(feats[held_out].float()), labels[held_out]).item())
    head.load_state_dict(initial)
    return WEIGHT_DECAYS[losses.index(min(losses))]


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
