"""Continual-learning metrics: accuracy, ACC/BWT of a score matrix (Eqs. 10-11), and the
mean and spread of a metric over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import torch
from torch import Tensor


class Accuracy:
    """Running top-1 accuracy over batches (``update`` / ``result`` / ``reset``)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    @torch.no_grad()
    def update(self, logits: Tensor, target: Tensor) -> None:
        """logits: float (B, C); target: int64 (B,)."""
        self.correct += int((logits.argmax(dim=1) == target).sum())
        self.total += target.numel()

    def result(self) -> float:
        """Fraction correct in [0, 1] (0 before any update)."""
        return self.correct / self.total if self.total else 0.0


def acc_bwt(scores: Sequence[Sequence[float | None]]) -> tuple[float, float]:
    """ACC and BWT of a T x T score matrix, in the units of ``scores``.

    ``scores[i][j]`` is the score on task j after learning tasks 0..i; only j <= i is read
    (entries above the diagonal may be None).
    ACC = (1/T) sum_j A[T-1][j] (Eq. 10); BWT = (1/(T-1)) sum_{j<T-1} (A[T-1][j] - A[j][j])
    (Eq. 11, over T-1 as the paper writes, not T as the authors' code divides); BWT = 0 for T = 1.
    """
    t = len(scores)
    if t == 0:
        raise ValueError("empty score matrix")
    if any(len(row) < i + 1 for i, row in enumerate(scores)):
        raise ValueError("score matrix must hold A[i][j] for every j <= i")
    final = [float(scores[-1][j]) for j in range(t)]
    acc = sum(final) / t
    if t == 1:
        return acc, 0.0
    bwt = sum(final[j] - float(scores[j][j]) for j in range(t - 1)) / (t - 1)
    return acc, bwt


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 in the denominator; 0 for one value) of a
    metric over runs: the one spread every table, summary and figure of blip-rl reports."""
    if not values:
        raise ValueError("no values to average")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0
