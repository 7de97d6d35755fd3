import pytest
import torch

from blip_rl import Accuracy, acc_bwt


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


def test_accuracy_metric():
    m = Accuracy()
    m.update(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    m.update(torch.tensor([[0.0, 1.0]]), torch.tensor([1]))
    assert m.result() == pytest.approx(2 / 3)
    m.reset()
    assert m.result() == 0.0
