"""Continual-learning metrics: accuracy, ACC/BWT (Eqs. 10-11) and LA of a score matrix, and the
mean and spread of a metric over seeds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats
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


def tasks_of(scores: Sequence[Sequence[float | None]]) -> int:
    """T of a score matrix that holds A[i][j] for every j <= i (else ValueError)."""
    if not scores:
        raise ValueError("empty score matrix")
    if any(len(row) < i + 1 for i, row in enumerate(scores)):
        raise ValueError("score matrix must hold A[i][j] for every j <= i")
    return len(scores)


def acc_bwt(scores: Sequence[Sequence[float | None]]) -> tuple[float, float]:
    """ACC and BWT of a T x T score matrix, in the units of ``scores``.

    ``scores[i][j]`` is the score on task j after learning tasks 0..i; only j <= i is read
    (entries above the diagonal may be None).
    ACC = (1/T) sum_j A[T-1][j] (Eq. 10); BWT = (1/(T-1)) sum_{j<T-1} (A[T-1][j] - A[j][j])
    (Eq. 11, over T-1 as the paper writes, not T as the authors' code divides); BWT = 0 for T = 1.
    """
    t = tasks_of(scores)
    final = [float(scores[-1][j]) for j in range(t)]
    acc = sum(final) / t
    if t == 1:
        return acc, 0.0
    bwt = sum(final[j] - float(scores[j][j]) for j in range(t - 1)) / (t - 1)
    return acc, bwt


def learning_accuracy(scores: Sequence[Sequence[float | None]]) -> float:
    """LA of a T x T score matrix (Riemer et al., ICLR 2019), in the units of ``scores``: the
    mean score of each task right after it was learned, (1/T) sum_j A[j][j]. How well new
    tasks are learned, whatever is kept of them; ACC = LA + BWT (T-1)/T, so a difference in
    ACC splits into one in learning (LA) and one in keeping (BWT)."""
    t = tasks_of(scores)
    return sum(float(scores[j][j]) for j in range(t)) / t


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 in the denominator; 0 for one value) of a
    metric over runs: the one spread every table, summary and figure of blip-rl reports."""
    if not values:
        raise ValueError("no values to average")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


BOOTSTRAP_RESAMPLES = 10_000
"""Resamples of every bootstrap CI (the CI's own error is then well under its width)."""


@dataclass(frozen=True)
class Estimate:
    """A mean over runs (seeds) with its standard error and 95% bootstrap CI.

    Attributes:
        n: the number of runs.
        mean: their mean.
        se: the standard error of the mean, sample std / sqrt(n) (0 for one run).
        low, high: the 95% percentile-bootstrap confidence interval of the mean (resampling
            the runs with replacement; [mean, mean] for one run).
    """

    n: int
    mean: float
    se: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the CI lies wholly on one side of 0 (for a difference: significant)."""
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 3, sign: bool = False) -> str:
        """``0.809 ± 0.007 [0.796, 0.821]``: mean ± SE [95% CI]."""
        f = f"{{:+.{digits}f}}" if sign else f"{{:.{digits}f}}"
        se = f"{self.se:.{digits}f}"
        return f"{f.format(self.mean)} ± {se} [{f.format(self.low)}, {f.format(self.high)}]"


def _quantiles(statistic: np.ndarray) -> tuple[float, float]:
    """The 2.5% and 97.5% quantiles of a bootstrap ``statistic`` (one value per resample)."""
    low, high = np.quantile(statistic, [0.025, 0.975])
    return float(low), float(high)


def _resampled_means(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mean of each of :data:`BOOTSTRAP_RESAMPLES` resamples of ``x`` with replacement."""
    return x[rng.integers(0, x.size, (BOOTSTRAP_RESAMPLES, x.size))].mean(axis=1)


def estimate(values: Sequence[float], seed: int = 0) -> Estimate:
    """Mean, standard error and 95% bootstrap CI of ``values`` (one per run)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to estimate from")
    mean, std = mean_std(list(x))
    low, high = _quantiles(_resampled_means(x, np.random.default_rng(seed)))
    return Estimate(x.size, mean, std / math.sqrt(x.size), low, high)


def difference(
    a: Sequence[float], b: Sequence[float], paired: bool = False, seed: int = 0
) -> Estimate:
    """mean(a) - mean(b) with its standard error and 95% bootstrap CI.

    ``paired``: ``a[i]`` and ``b[i]`` share seed i (the same initial weights, envs and
    evaluation episodes), so the per-seed differences are resampled; else each group is
    resampled on its own. Whether it is significant is :func:`t_test`'s to say: with a few
    seeds the percentile CI excludes 0 whenever every seed points the same way.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        if x.size != y.size:
            raise ValueError(f"paired samples need equal sizes, got {x.size} and {y.size}")
        return estimate(list(x - y), seed)
    ex, ey = estimate(list(x), seed), estimate(list(y), seed)
    rng = np.random.default_rng(seed)
    low, high = _quantiles(_resampled_means(x, rng) - _resampled_means(y, rng))
    return Estimate(min(x.size, y.size), ex.mean - ey.mean, math.hypot(ex.se, ey.se), low, high)


def t_test(a: Sequence[float], b: Sequence[float], paired: bool = False) -> float | None:
    """Two-sided p-value of mean(a) = mean(b): Student's paired t-test (``a[i]`` and ``b[i]``
    share seed i) or Welch's; ``None`` with fewer than two values on a side.

    Not the bootstrap CI: under no difference, the percentile CI of n paired seeds excludes 0
    whenever all n differences share a sign, which happens with probability 2^(1-n) (half the
    time with 2 seeds, a quarter with 3); the t-test holds its 5% at any n. Differences without
    spread (the same in every seed) get p = 0, or 1 where they are 0. (scipy's ``ttest_rel``
    and ``ttest_ind`` give NaN there, with a warning, and seeds with equal scores are common.)
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if min(x.size, y.size) < 2:
        return None
    if paired:
        d = x - y
        mean, var = d.mean(), d.var(ddof=1) / d.size
    else:
        vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
        mean, var = x.mean() - y.mean(), vx + vy
    if var == 0:
        return 0.0 if mean != 0 else 1.0
    df = x.size - 1 if paired else var**2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    return float(2 * scipy.stats.t.sf(abs(mean) / math.sqrt(var), df))


@dataclass(frozen=True)
class Difference:
    """``first`` minus ``second`` of a metric over seeds: its estimate (see
    :func:`difference`) and :func:`t_test`'s p-value (``None`` with one run on a side)."""

    first: str
    second: str
    estimate: Estimate
    paired: bool
    p_value: float | None

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at 5% (:func:`t_test`)."""
        return self.p_value is not None and self.p_value < 0.05


def pairwise_differences(by_group: Mapping[str, Mapping[int, float]]) -> list[Difference]:
    """Every pair of groups, in the order given: the difference of their means over seeds
    (``by_group``: group -> seed -> value), paired when both have the same seeds."""
    groups = [(name, values) for name, values in by_group.items() if values]
    found = []
    for i, (first, a) in enumerate(groups):
        for second, b in groups[i + 1 :]:
            paired = sorted(a) == sorted(b) and len(a) > 1
            seeds = sorted(a)
            x, y = (
                ([a[s] for s in seeds], [b[s] for s in seeds])
                if paired
                else (list(a.values()), list(b.values()))
            )
            est, p = difference(x, y, paired=paired), t_test(x, y, paired=paired)
            found.append(Difference(first, second, est, paired, p))
    return found
