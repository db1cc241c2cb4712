"""How sure a trained model says it is, made to match how often it is right: temperature scaling (Guo et al., ICML
2017, "On Calibration of Modern Neural Networks") fitted on the validation examples and folded into the head.

    temperature, probs = calibrate(head, val_probs, val_labels)   # head's last linear layer now divides by it
    fold(head, 1 / temperature)                                   # undone: the weights as training left them

One number T divides the logits: below 1 the model grows surer, above 1 less sure; which class wins never changes,
so accuracy does not either. Folded into the last linear layer's weights and bias, the saved model, Try it, the CLI
and every export give the calibrated probabilities with no code of their own.

Why: a walk on 300 yelp reviews (85 % correct on 60 validation texts) said "positive, 58 % sure" of "The waiter was
friendly and the pasta was absolutely delicious", and a cats/dogs model right on all 16 validation pictures was
"61 % sure" of a dog: a regularised head on few examples spreads its bets, and people read that as a weak model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# T is searched between these (log-spaced), with a prior on log T pulling towards 1: on a handful of validation
# examples, all right, the likelihood alone would sharpen without end (T -> 0, "100 % sure" of anything).
LOWEST, HIGHEST, STEPS = 0.2, 5.0, 81
PRIOR_SD = 0.5  # of log T: on 16 validation examples all right with logit margins near 1, T comes out near 0.4


def fit_temperature(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The T that best explains the validation labels from the model's probabilities (MAP: summed negative log
    likelihood plus the prior on log T)."""
    if len(labels) == 0:
        return 1.0
    logp = probs.float().clamp_min(1e-12).log()
    grid = torch.linspace(math.log(LOWEST), math.log(HIGHEST), STEPS)
    cost = [F.cross_entropy(logp / math.exp(g), labels, reduction="sum") + g * g / (2 * PRIOR_SD ** 2)
            for g in grid.tolist()]
    return math.exp(grid[int(torch.stack(cost).argmin())].item())


def calibrate(head: nn.Module, probs: torch.Tensor, labels: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Fit T on the validation probabilities and fold it into `head`'s last linear layer; (T, the validation
    probabilities as the calibrated model gives them)."""
    temperature = fit_temperature(probs, labels)
    fold(head, temperature)
    return temperature, (probs.float().clamp_min(1e-12).log() / temperature).softmax(1)


def fold(head: nn.Module, temperature: float) -> None:
    """Divide the logits of `head` by `temperature`, in its last linear layer (`1 / temperature` undoes it: a
    continued run trains on from the weights training left, `checkpoint.load_earlier_weights`)."""
    linear = last_linear(head)
    with torch.no_grad():
        linear.weight.div_(temperature)
        if linear.bias is not None:
            linear.bias.div_(temperature)


def last_linear(head: nn.Module) -> nn.Linear:
    """The layer whose outputs are the logits: the head itself, or the last linear layer inside it."""
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"The model's head ({type(head).__name__}) has no linear layer to calibrate.")
    return linears[-1]
