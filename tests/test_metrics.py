import itertools
import math
import statistics

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from blip_rl import Accuracy, acc_bwt
from blip_rl.core.metrics import (
    difference,
    estimate,
    learning_accuracy,
    pairwise_differences,
    t_test,
)
from blip_rl.infra.tables import difference_lines


def test_acc_is_the_mean_of_the_last_row():
    a = [[0.9], [0.8, 0.7], [0.6, 0.5, 0.4]]
    acc, _ = acc_bwt(a)
    assert acc == pytest.approx((0.6 + 0.5 + 0.4) / 3)


def test_bwt_divides_by_T_minus_1():
    a = [[0.9, None, None], [0.8, 0.7, None], [0.6, 0.5, 0.4]]
    _, bwt = acc_bwt(a)
    assert bwt == pytest.approx(((0.6 - 0.9) + (0.5 - 0.7)) / 2)


def test_single_task_has_zero_bwt_and_missing_entries_are_refused():
    assert acc_bwt([[0.5]]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        acc_bwt([[0.5], [0.4]])
    with pytest.raises(ValueError):
        acc_bwt([])


def test_learning_accuracy_is_the_mean_of_the_diagonal():
    a = [[0.9, None, None], [0.8, 0.7, None], [0.6, 0.5, 0.4]]
    assert learning_accuracy(a) == pytest.approx((0.9 + 0.7 + 0.4) / 3)
    with pytest.raises(ValueError, match="A\\[i\\]\\[j\\] for every j <= i"):
        learning_accuracy([[0.5], [0.4]])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda t: st.lists(
            st.lists(st.floats(0, 100), min_size=t, max_size=t), min_size=t, max_size=t
        )
    )
)
def test_acc_splits_into_learning_and_keeping(matrix):
    """ACC = LA + BWT (T-1)/T for any score matrix: a difference in ACC is one in LA plus one
    in BWT (T-1)/T (what the pfmnist tables read)."""
    acc, bwt = acc_bwt(matrix)
    t = len(matrix)
    assert acc == pytest.approx(learning_accuracy(matrix) + bwt * (t - 1) / t, abs=1e-9)


def test_accuracy_metric():
    m = Accuracy()
    m.update(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    m.update(torch.tensor([[0.0, 1.0]]), torch.tensor([1]))
    assert m.result() == pytest.approx(2 / 3)
    m.reset()
    assert m.result() == 0.0


def test_the_bootstrap_ci_of_a_known_sample_matches_its_exact_bootstrap_distribution():
    values = [0.2, 0.5, 0.55, 0.7, 1.4]
    exact = np.array([np.mean(r) for r in itertools.product(values, repeat=5)])  # all 5^5
    low, high = np.quantile(exact, [0.025, 0.975])
    e = estimate(values)
    assert e.n == 5 and e.mean == pytest.approx(0.67)
    assert e.se == pytest.approx(statistics.stdev(values) / math.sqrt(5))
    assert e.low == pytest.approx(low, abs=0.01) and e.high == pytest.approx(high, abs=0.01)
    assert estimate(values) == e  # seeded: the same table every time
    one = estimate([0.4])
    assert (one.mean, one.se, one.low, one.high) == (0.4, 0.0, 0.4, 0.4)


def test_differences_are_paired_over_shared_seeds_and_significant_only_beyond_the_noise():
    a = {0: 0.80, 1: 0.70, 2: 0.90, 3: 0.75, 4: 0.85}
    b = {s: v - 0.05 for s, v in a.items()}  # always 0.05 lower: a clear paired difference
    c = {0: 0.90, 1: 0.60, 2: 0.80, 3: 0.85, 4: 0.70}  # the same mean spread over seeds
    diffs = {(d.first, d.second): d for d in pairwise_differences({"a": a, "b": b, "c": c})}
    assert list(diffs) == [("a", "b"), ("a", "c"), ("b", "c")]
    ab = diffs["a", "b"]
    assert ab.paired and ab.estimate.mean == pytest.approx(0.05) and ab.significant
    assert not diffs["a", "c"].significant  # unpaired noise of 0.1 hides a mean difference of 0
    unpaired = difference(list(a.values()), list(b.values()))
    assert unpaired.mean == pytest.approx(0.05) and not unpaired.excludes_zero


def test_few_seeds_pointing_the_same_way_are_not_called_significant():
    a, b = {0: 0.80, 1: 0.70}, {0: 0.79, 1: 0.67}  # both seeds lower, by 0.01 and 0.03
    (d,) = pairwise_differences({"a": a, "b": b})
    assert d.paired and d.estimate.excludes_zero  # the 2-seed bootstrap CI is [0.01, 0.03]
    assert d.p_value == pytest.approx(0.2952, abs=1e-4) and not d.significant  # t = 2, df = 1
    assert difference_lines({"acc": [d]})[1].endswith("within the noise (p = 0.295)")
    # Welch's test on two unpaired samples, checked against its closed form
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    vx, vy = statistics.variance(x) / 4, statistics.variance(y) / 3
    df = (vx + vy) ** 2 / (vx**2 / 3 + vy**2 / 2)
    t = (statistics.mean(y) - statistics.mean(x)) / math.sqrt(vx + vy)
    assert t_test(x, y) == pytest.approx(2 * scipy.stats.t.sf(t, df))
    assert t_test([0.5, 0.5], [0.4, 0.4]) == 0.0 and t_test([0.5, 0.5], [0.5, 0.5]) == 1.0
    assert t_test([0.5], [0.4, 0.3]) is None
