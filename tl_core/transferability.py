"""How well frozen features already separate a person's classes: LogME, and a k-fold probe to check it.

LogME (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning")
is the evidence of a Bayesian linear model from features to one-vs-rest labels, with its prior and noise
precisions (alpha, beta) set by a fixed-point iteration over one SVD; the mean over classes, divided by
the number of examples. Written after the reference implementation, thuml/LogME `LogME._fit_fixed_point`
(the arXiv 2110.10545 version of the iteration).
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

MAX_DIMS = 64  # features are reduced to at most this many principal directions (and at most N / 4) first


def reduce_dims(features: np.ndarray, examples: int | None = None, max_dims: int = MAX_DIMS) -> np.ndarray:
    """The features centred and projected on their first principal directions, at most `max_dims` and at most
    a quarter of the examples.

    With fewer examples than dimensions the evidence stops being scale-invariant (the prior's D/2 log alpha is
    no longer balanced by D singular values) and comes out large and positive for random weights too: 4.02
    pretrained vs 2.69 random on 160 ant/bee pictures with 320 channels (docs in /work/shared/STYLE.md). A common
    number of directions also lets models and layers of different widths be compared.
    """
    x = np.asarray(features, dtype=np.float64)
    x = x - x.mean(0, keepdims=True)
    k = min(x.shape[1], max_dims, max(1, (examples or len(x)) // 4))
    with one_blas_thread():
        _, s, vh = np.linalg.svd(x, full_matrices=False)
    return x @ vh[:k].T / max(s[0], 1e-12) * np.sqrt(len(x))  # one scale for all: LogME is invariant to it


def one_blas_thread():
    """numpy's SVD on one thread. On 2 cores shared with other work (load 10), OpenBLAS's threads waiting on each
    other made the SVD of 500 x 1280 features take 9-16 s; on one thread it took 0.3 s. threadpoolctl comes with
    the embedded text model's sentence-transformers (through scikit-learn); without it nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME of (N, D) features for integer labels: higher means a linear head will fit these classes better.

    Usually between -1 and 1 per example for classification; only differences on the same examples mean anything.
    """
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    n, d = f.shape
    with one_blas_thread():
        u, s, _ = np.linalg.svd(f, full_matrices=False)      # u (N, k), s (k,), k = min(N, D)
    sigma = s ** 2
    evidences = []
    for c in np.unique(y):
        target = (y == c).astype(np.float64)
        target -= target.mean()                               # an intercept: reduce_dims centres the features
        x2 = (u.T @ target) ** 2                              # the target's energy along each singular direction
        rest = (target ** 2).sum() - x2.sum()                 # and outside the features' span
        evidences.append(_evidence(sigma, x2, rest, n, d))
    return float(np.mean(evidences))


def _evidence(sigma: np.ndarray, x2: np.ndarray, rest: float, n: int, d: int) -> float:
    """Maximise the evidence over alpha, beta by the fixed-point iteration (converges in a few steps)."""
    alpha, beta = 1.0, 1.0
    for _ in range(11):
        t = alpha / beta
        gamma = (sigma / (sigma + t)).sum()                   # effective number of parameters
        m2 = (sigma * x2 / (t + sigma) ** 2).sum()            # |m|^2, the posterior mean's norm
        res2 = (x2 / (1 + sigma / t) ** 2).sum() + rest       # |y - F m|^2, the residual
        alpha, beta = gamma / (m2 + 1e-5), (n - gamma) / (res2 + 1e-5)
        if abs(alpha / beta - t) / t <= 1e-3:
            break
    evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * sigma))
                - beta / 2 * res2 - alpha / 2 * m2 - n / 2 * np.log(2 * np.pi))
    return evidence / n


def probe_accuracy(features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Mean held-out accuracy of the engine's linear probe (`probe.linear_probe`) over stratified k folds."""
    from .probe import linear_probe

    x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp(min=1e-6)
    y = torch.as_tensor(np.unique(np.asarray(labels), return_inverse=True)[1].reshape(-1), dtype=torch.long)
    fold = stratified_folds(y.numpy(), folds, seed)
    correct = 0
    for k in range(folds):
        train, test = torch.as_tensor(fold != k), torch.as_tensor(fold == k)
        torch.manual_seed(seed)
        head = nn.Linear(x.shape[1], int(y.max()) + 1)
        linear_probe(head, x[train], y[train])
        with torch.no_grad():
            correct += int((head(x[test]).argmax(1) == y[test]).sum())
    return correct / len(y)


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Each example's fold, every class dealt round the folds in a shuffled order."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        fold[members] = np.arange(len(members)) % folds
    return fold


def stratified_sample(labels: list, at_most: int, seed: int = 0) -> list[int]:
    """Indices of at most `at_most` examples, each class keeping its share (at least one each), in input order."""
    if len(labels) <= at_most:
        return list(range(len(labels)))
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    chosen = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        take = max(1, at_most * len(members) // len(y))
        chosen.extend(rng.choice(members, size=min(take, len(members)), replace=False).tolist())
    return sorted(chosen)
