import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from blip_rl import quantize
from blip_rl.core.quant import COMPILED_MIN_NUMEL, quantize_into, use_kernels


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


def values_and_ties(bits: int, bound: float, seed: int, size: int = 100) -> torch.Tensor:
    """``size`` parameter values on scale ``bound``: uniform, some outside the range, and ties
    (grid midpoints, the range limits themselves), at least 36 of them."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(-(2 ** min(bits, 23)), 2 ** min(bits, 23), (32,), generator=g)
    limit = 1 - 2.0 ** -(bits + 1)
    ties = torch.cat([(k + 0.5) * 2.0**-bits, torch.tensor([limit, -limit, 1.0, -1.0])])
    u = torch.rand(size - len(ties), generator=g) * 2.4 - 1.2
    return torch.cat([u, ties])[torch.randperm(size, generator=g)] * bound


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 32), st.floats(1e-3, 10.0), st.integers(0, 2**31))
def test_in_place_quantization_equals_eq2_in_parameter_units(bits, bound, seed):
    param = values_and_ties(bits, bound, seed)
    out = torch.empty_like(param)
    expected = quantize(param / bound, bits) * bound
    assert quantize_into(param, bound, bits, out) is out
    assert torch.equal(out, expected)


@pytest.fixture(scope="module")
def compiled_kernels():
    use_kernels("compiled", torch.device("cpu"))
    yield
    use_kernels("eager", torch.device("cpu"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 32), st.floats(1e-3, 10.0), st.integers(0, 2**31))
def test_compiled_kernels_give_the_same_bits_as_eq2(compiled_kernels, bits, bound, seed):
    # a weight of the compiled path's size (2^18 elements and more), as a conv weight (4-D)
    param = values_and_ties(bits, bound, seed, size=COMPILED_MIN_NUMEL + 36).view(2, 1, 2, -1)
    param.requires_grad_()
    out = torch.empty_like(param, requires_grad=False)
    expected = quantize(param.detach() / bound, bits) * bound
    assert quantize_into(param, bound, bits, out) is out
    assert torch.equal(out, expected)


def test_unknown_kernels_are_refused():
    with pytest.raises(ValueError, match=r"unknown kernels 'fused'; choose from: eager, compiled"):
        use_kernels("fused", torch.device("cpu"))


def test_compiled_kernels_without_a_compiler_are_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))  # nothing compiled before
    torch._dynamo.reset()
    missing = {"cpp.cxx": (None, str(tmp_path / "no-such-g++")), "fx_graph_cache": False}
    with torch._inductor.config.patch(missing), pytest.raises(ValueError) as raised:
        use_kernels("compiled", torch.device("cpu"))
    torch._dynamo.reset()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("--kernels compiled: torch.compile does not work on cpu here (")
    assert message.endswith("); use --kernels eager")
    param = values_and_ties(20, 0.5, 0, size=COMPILED_MIN_NUMEL)  # eager, as before the call
    assert torch.equal(
        quantize_into(param, 0.5, 20, torch.empty_like(param)), quantize(param / 0.5, 20) * 0.5
    )
