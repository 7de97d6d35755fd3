import logging
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from blip_rl import Blip, BlipConfig, BlipLinear, information_gain, quantize
from blip_rl.core.consolidate import bits_to_freeze, running_fisher, weight_room
from blip_rl.core.ewc import EwcConfig
from blip_rl.core.methods import make_strategy
from blip_rl.core.numerics import NumericalFault


@settings(max_examples=200, deadline=None)
@given(
    f_old=st.floats(1e-20, 1e3),
    f_new=st.floats(0, 1e3),
    t=st.integers(1, 50),
)
def test_information_gain_matches_eq8(f_old, f_new, t):
    got = information_gain(
        torch.tensor([f_old], dtype=torch.float64), torch.tensor([f_new], dtype=torch.float64), t
    )
    expected = 0.5 * math.log2((t * f_old + f_new) / (t * f_old))
    assert math.isclose(got.item(), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_information_gain_needs_a_1_based_task_index():
    with pytest.raises(ValueError, match="1-based"):
        information_gain(torch.ones(1), torch.ones(1), 0)


def test_new_bits_are_the_ceiling_clamped_to_what_is_free():
    gain = torch.tensor([-0.3, 0.0, 0.2, 1.0, 3.5, 100.0])
    s = torch.tensor([0, 0, 0, 0, 18, 5], dtype=torch.uint8)
    assert bits_to_freeze(gain, s, 20).tolist() == [0, 0, 1, 1, 2, 15]


def test_running_fisher_is_eq7():
    assert running_fisher(torch.tensor(2.0), torch.tensor(5.0), 3).item() == (3 * 2 + 5) / 4


def fixed_fisher_ll(model, x):
    return model(x)[:, 0]


def test_consolidation_order_and_new_s_center():
    """Fisher -> IG -> S -> center Q(u, new S) -> snap -> running Fisher, for a known Fisher."""
    torch.manual_seed(0)
    layer = BlipLinear(2, 1, bias=False, bits=20)
    model = nn.Sequential(layer)
    prior = 1e-6
    blip = Blip(model, BlipConfig(fisher_prior=prior))
    f0 = prior * layer.fan
    assert torch.equal(layer.weight_fisher, torch.full((1, 2), f0))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.3, -0.7]]) * layer.bound)
    w = layer.weight.detach().clone()
    u = w / layer.bound
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # F_t = mean of squared inputs = [0.5, 0.5]
    f_t = torch.full((1, 2), 0.5)
    report = blip.consolidate([x], fixed_fisher_ll)
    expected_s = torch.ceil(0.5 * torch.log2((f0 + f_t) / f0)).to(torch.uint8)
    assert torch.equal(layer.weight_frozen_bits, expected_s)
    expected_c = quantize(u, expected_s)
    assert torch.equal(layer.weight_center, expected_c)  # the NEW S, not the old S = 0
    assert torch.equal(layer.weight, expected_c * layer.bound)  # snapped
    torch.testing.assert_close(layer.weight_fisher, (f0 + f_t) / 2)
    assert blip.tasks_seen == 1
    assert report[0].frozen_min == int(expected_s.min())
    # The snap's cost, 1/2 sum F_t (c bound - w)^2, in nats.
    shift = expected_c * layer.bound - w
    assert report[0].snap_kl == pytest.approx(0.5 * float((f_t * shift**2).sum()))
    # Reach: the median Eq. 4 radius 2^-S (both weights got the same S here) times the bound,
    # over the RMS weight.
    assert expected_s.min() == expected_s.max()
    radius = 2.0 ** -float(expected_s[0, 0]) * layer.bound
    rms = float(layer.weight.detach().pow(2).mean().sqrt())
    assert report[0].reach_median == pytest.approx(radius / rms)
    assert report[0].movable_share == (1.0 if radius >= rms else 0.0)


def test_room_is_the_median_radius_and_the_share_that_may_move_a_typical_weight():
    weight = torch.full((4,), 0.1)  # RMS 0.1
    s = torch.tensor([20, 20, 20, 0], dtype=torch.uint8)
    reach, movable = weight_room(weight, s, 1.0, 20, False)
    assert reach == 0 and movable == 0.25  # most fully frozen; the free one may move 1.0 >= 0.1
    s = torch.tensor([3, 4, 3, 5], dtype=torch.uint8)  # radius 2^-S x bound 0.8 vs RMS 0.1
    reach, movable = weight_room(weight, s, 0.8, 20, False)  # rooms 1, 0.5, 1, 0.25 RMS
    assert reach == pytest.approx(0.5) and movable == 0.5  # torch's median: the lower middle
    assert weight_room(torch.zeros(3), torch.zeros(3, dtype=torch.uint8), 1.0, 20, False) == (0, 0)
    strict, _ = weight_room(weight, torch.ones(4, dtype=torch.uint8), 1.0, 20, True)
    assert strict == pytest.approx((2.0**-2 - 2.0**-21) / 0.1)


def test_zero_bit_weights_are_snapped_to_zero_unless_snap_is_off():
    for snap in (True, False):
        layer = BlipLinear(2, 1, bias=False)
        blip = Blip(nn.Sequential(layer), BlipConfig(fisher_prior=1.0, snap=snap))
        w = layer.weight.detach().clone()
        # Input 0 on feature 1: its Fisher is 0, so no bits are frozen there.
        blip.consolidate([torch.tensor([[1.0, 0.0]])], fixed_fisher_ll)
        assert layer.weight_frozen_bits[0, 1] == 0
        assert layer.weight[0, 1].item() == (0.0 if snap else w[0, 1].item())


@pytest.mark.parametrize(("budget", "snap", "warns"), [(0.05, True, True), (0.05, False, False),
                                                      (1.0, True, False)])  # fmt: skip
def test_a_costly_snap_warns_and_names_no_snap(caplog, budget, snap, warns):
    layer = BlipLinear(2, 1, bias=False)
    blip = Blip(nn.Sequential(layer), BlipConfig(fisher_prior=1e-6, bit_budget=budget, snap=snap))
    with torch.no_grad():  # u = 0.2: Q(u, 1) = 0, a move of 0.2 bound; many bits: < 2^-10 bound
        layer.weight.fill_(0.2 * layer.bound)
    x = torch.full((1, 2), 10.0)  # F_t = 100 for both weights
    with caplog.at_level(logging.WARNING, logger="blip_rl.core.blip"):
        (report,) = blip.consolidate([x], fixed_fisher_ll)
    if budget < 1:  # 2 of the 40 free bits: one per weight
        assert layer.weight_frozen_bits.tolist() == [[1, 1]]
    assert ("--no-snap" in caplog.text) == warns
    if warns:
        assert report.snap_kl == pytest.approx(0.5 * 2 * 100 * (0.2 * layer.bound) ** 2)
        assert "after task 0" in caplog.text and "1.00 frozen bits per weight" in caplog.text
    else:  # no snap: no cost; many bits: a move under 2^-10 bound
        assert report.snap_kl < 1e-3 and (snap or report.snap_kl == 0.0)


def test_second_task_uses_t_and_the_running_fisher():
    layer = BlipLinear(1, 1, bias=False)
    blip = Blip(nn.Sequential(layer), BlipConfig(fisher_prior=1e-3))
    x = torch.tensor([[1.0]])
    blip.consolidate([x], fixed_fisher_ll)
    f01 = layer.weight_fisher.clone()
    s1 = layer.weight_frozen_bits.clone()
    blip.consolidate([2 * x], fixed_fisher_ll)  # F_2 = 4
    gain = 0.5 * torch.log2((2 * f01 + 4.0) / (2 * f01))
    assert torch.equal(layer.weight_frozen_bits, s1 + torch.ceil(gain).to(torch.uint8))
    torch.testing.assert_close(layer.weight_fisher, (2 * f01 + 4.0) / 3)
    assert blip.tasks_seen == 2


def test_online_ewc_adds_lambda_f_times_the_distance_to_the_anchor_to_the_gradient():
    layer = BlipLinear(2, 1, bias=False)
    ewc = make_strategy("ewc", nn.Sequential(layer), ewc=EwcConfig(ewc_lambda=3.0, ewc_gamma=0.5))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # F_t = mean of squared inputs = [0.5, 0.5]
    ewc.on_task_end(0, [x], fixed_fisher_ll)
    ewc.on_task_end(1, [2 * x], fixed_fisher_ll)  # online: 0.5 * F_0 + F_1 = [2.25, 2.25]
    anchor = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(torch.tensor([[0.1, -0.2]]))
    layer.weight.grad = torch.tensor([[1.0, 1.0]])
    ewc.before_optimizer_step()
    expected = torch.tensor([[1.0, 1.0]]) + 3.0 * 2.25 * (layer.weight.detach() - anchor)
    torch.testing.assert_close(layer.weight.grad, expected)


@pytest.mark.parametrize("method", ["blip", "ewc"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_fisher_is_never_consolidated(method, bad):
    model = nn.Sequential(BlipLinear(1, 1, bias=False))
    strategy = make_strategy(method, model, blip=BlipConfig(), ewc=EwcConfig())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    saved = strategy.state_dict()
    with pytest.raises(NumericalFault, match=r"Fisher information of 0\.weight has 1 NaN or inf"):
        strategy.on_task_end(0, [torch.tensor([[bad]])], fixed_fisher_ll)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert str(strategy.state_dict()) == str(saved)


def test_blip_needs_blip_layers_with_matching_bits():
    with pytest.raises(ValueError, match="no BLIP layers"):
        Blip(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="8 bits"):
        Blip(nn.Sequential(BlipLinear(2, 2, bits=8)), BlipConfig(bits=20))


@pytest.mark.parametrize(
    "bad",
    [
        {"bits": 0},
        {"bits": 33},
        {"fisher_prior": 0.0},
        {"fisher_prior": float("inf")},
        {"bit_budget": 0.0},
        {"bit_budget": 1.5},
        {"bit_budget": float("nan")},
        {"bit_cap": 0.0},
        {"bit_cap": 1.01},
    ],
)
def test_bad_blip_config_is_refused(bad):
    with pytest.raises(ValueError, match="got"):
        BlipConfig(**bad)


@settings(max_examples=300, deadline=None)
@given(
    gains=st.lists(st.floats(-2, 40), min_size=1, max_size=60),
    frozen=st.lists(st.integers(0, 20), min_size=60, max_size=60),
    budget=st.floats(0.0, 1.0),
)
def test_bit_budget_never_exceeds_its_share_of_the_free_bits(gains, frozen, budget):
    gain = torch.tensor(gains, dtype=torch.float32)
    s = torch.tensor(frozen[: len(gains)], dtype=torch.uint8)
    free = 20 - s.to(torch.int32)
    paper = bits_to_freeze(gain, s, 20)
    capped = bits_to_freeze(gain, s, 20, budget)
    assert capped.dtype == torch.uint8
    assert int(capped.sum()) <= budget * int(free.sum())
    assert (capped <= paper).all()  # the cap only removes bits
    if int(paper.sum()) <= budget * int(free.sum()):
        assert torch.equal(capped, paper)  # a budget that is not binding changes nothing
    # The most informative parameters keep the most bits (among equally free ones).
    for i in range(len(gains)):
        for j in range(len(gains)):
            if gains[i] >= gains[j] and paper[i] < free[i] and paper[j] < free[j]:
                assert capped[i] >= capped[j]


@settings(max_examples=300, deadline=None)
@given(
    gains=st.lists(st.floats(-2, 40), min_size=1, max_size=60),
    frozen=st.lists(st.integers(0, 20), min_size=60, max_size=60),
    cap=st.sampled_from([0.05, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0]),
    budget=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_bit_cap_bounds_each_weights_new_bits_by_its_share_of_its_free_bits(
    gains, frozen, cap, budget
):
    gain = torch.tensor(gains, dtype=torch.float32)
    s = torch.tensor(frozen[: len(gains)], dtype=torch.uint8)
    free = 20 - s.to(torch.int32)
    capped = bits_to_freeze(gain, s, 20, budget, cap)
    uncapped = bits_to_freeze(gain, s, 20, budget)
    exact = [math.ceil(round(cap * f, 9)) for f in free.tolist()]  # decimal arithmetic
    for n, c, room in zip(capped.tolist(), bits_to_freeze(gain, s, 20).tolist(), exact):
        assert n <= room
        if budget is None:
            assert n == min(c, room)  # without a budget, the cap is the only change
    if budget is not None:
        assert int(capped.sum()) <= budget * int(free.sum())
    if cap == 1.0:
        assert torch.equal(capped, uncapped)


def test_bit_budget_one_is_the_paper():
    gain = torch.tensor([0.5, 3.2, 19.0, 40.0])
    s = torch.tensor([0, 2, 0, 5], dtype=torch.uint8)
    assert torch.equal(bits_to_freeze(gain, s, 20, 1.0), bits_to_freeze(gain, s, 20))


@pytest.mark.parametrize("snap", [True, False])
def test_blip_with_a_bit_budget_keeps_that_share_of_each_tensor_free(snap):
    torch.manual_seed(0)
    model = nn.Sequential(BlipLinear(8, 16), nn.ReLU(), BlipLinear(16, 4))
    blip = Blip(model, BlipConfig(fisher_prior=1e-18, bit_budget=0.25, snap=snap))
    x = torch.randn(64, 8)
    for task in range(3):
        before = {
            (id(layer), p): 20 - layer.frozen_bits(p).float() for _, layer in blip.layers
            for p, _, _ in layer.blip_tensors()
        }  # fmt: skip
        with torch.no_grad():  # "training": move every weight, then the clip
            for param in model.parameters():
                param.add_(1e-3 * torch.randn_like(param))
        blip.clip_()
        weights = [param.detach().clone() for param in model.parameters()]
        blip.consolidate([x + task], lambda m, b: torch.log_softmax(m(b), 1)[:, 0])
        for _, layer in blip.layers:
            for p, _, _ in layer.blip_tensors():
                free = 20 - layer.frozen_bits(p).float()
                assert free.sum() >= 0.75 * before[id(layer), p].sum() - 1e-3
        unchanged = all(torch.equal(a, b) for a, b in zip(model.parameters(), weights))
        assert unchanged == (not snap)


def test_a_budget_over_live_weights_is_a_share_of_their_free_bits_only():
    gain = torch.tensor([8.0, 8.0, 0.0, 0.0])  # two live weights, two dead (IG 0)
    frozen = torch.zeros(4, dtype=torch.uint8)
    live = gain > 0
    over_all = bits_to_freeze(gain, frozen, 20, budget=0.25)  # 20 of 80 free bits
    over_live = bits_to_freeze(gain, frozen, 20, budget=0.25, live=live)  # 10 of 40
    assert over_all.tolist() == [8, 8, 0, 0] and int(over_live.sum()) <= 10
    assert over_live[2:].tolist() == [0, 0] and over_live[0] == over_live[1] > 0
