import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from blip_rl import quantize
from blip_rl.core.quant import quantize_into


def eq2(u: float, n: int) -> float:
    """Eq. 2 written out for one number (round half to even, like torch.round)."""
    lim = 1 - 2.0 ** -(n + 1)
    return round(2.0**n * min(max(u, -lim), lim)) / 2.0**n


@settings(max_examples=300, deadline=None)
@given(
    u=st.floats(-1.5, 1.5, allow_nan=False, width=32),
    n=st.integers(0, 20),
)
def test_quantize_matches_eq2(u, n):
    got = quantize(torch.tensor([u], dtype=torch.float32), n).item()
    assert got == eq2(float(torch.tensor(u, dtype=torch.float32)), n)


def test_zero_bits_quantize_everything_to_zero():
    u = torch.linspace(-1, 1, 101)
    assert torch.equal(quantize(u, 0), torch.zeros_like(u))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=16), st.integers(0, 2**31))
def test_per_element_bits_equal_scalar_bits(bits, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(len(bits), generator=g) * 2 - 1
    s = torch.tensor(bits, dtype=torch.uint8)
    per_element = quantize(u, s)
    for i, n in enumerate(bits):
        assert per_element[i] == quantize(u[i : i + 1], n)[0]


def test_quantized_values_lie_on_the_grid_and_within_half_a_step():
    u = torch.rand(1000) * 2 - 1
    for n in (1, 4, 20):
        q = quantize(u, n)
        assert torch.equal(q * 2**n, torch.round(q * 2**n))
        inner = u.abs() < 1 - 2.0 ** -(n + 1)
        assert (q - u)[inner].abs().max() <= 2.0 ** -(n + 1) + 1e-7


def test_negative_bits_rejected():
    try:
        quantize(torch.zeros(1), -1)
    except ValueError as e:
        assert "-1" in str(e)
    else:
        raise AssertionError("no error")


def test_twenty_bit_error_is_below_a_millionth_of_the_bound():
    u = torch.rand(10_000) * 1.8 - 0.9
    assert (quantize(u, 20) - u).abs().max() < 1e-6
    assert math.isclose(2.0**-21, 4.76837158203125e-07)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 32), st.floats(1e-3, 10.0), st.integers(0, 2**31))
def test_in_place_quantization_equals_eq2_in_parameter_units(bits, bound, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(64, generator=g) * 2.4 - 1.2  # some outside the range
    # Ties: grid midpoints, and the range limits themselves.
    k = torch.randint(-(2 ** min(bits, 23)), 2 ** min(bits, 23), (32,), generator=g)
    limit = 1 - 2.0 ** -(bits + 1)
    ties = torch.cat([(k + 0.5) * 2.0**-bits, torch.tensor([limit, -limit, 1.0, -1.0])])
    param = torch.cat([u, ties]) * bound
    out = torch.empty_like(param)
    expected = quantize(param / bound, bits) * bound
    assert quantize_into(param, bound, bits, out) is out
    assert torch.equal(out, expected)
