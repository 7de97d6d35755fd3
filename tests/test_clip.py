"""Eq. 4: the central invariant, frozen bits never leave their interval."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from blip_rl import Blip, BlipConfig, BlipConv2d, BlipLinear, quantize
from blip_rl.core.clip import BlipClip, clip_, freeze_radius


def random_state(layer, bits, gen):
    """Random S in 0..N per entry and a center on each entry's S-bit grid near the weights."""
    for name, param, bound in layer.blip_tensors():
        s = torch.randint(0, bits + 1, param.shape, generator=gen, dtype=torch.uint8)
        s[torch.rand(param.shape, generator=gen) < 0.2] = bits  # plenty of fully frozen entries
        layer.frozen_bits(name).copy_(s)
        layer.center(name).copy_(quantize(param.detach() / bound, s))
        with torch.no_grad():
            param.copy_(layer.center(name) * bound)


@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(1, 20),
    strict=st.booleans(),
    conv=st.booleans(),
    bias=st.booleans(),
    steps=st.lists(st.floats(1e-6, 50.0), min_size=1, max_size=6),
    seed=st.integers(0, 2**31),
)
def test_frozen_parameters_never_leave_their_interval(bits, strict, conv, bias, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = (
        BlipConv2d(2, 3, 2, bias=bias, bits=bits)
        if conv
        else BlipLinear(4, 3, bias=bias, bits=bits)
    )
    model = nn.Sequential(layer)
    random_state(layer, bits, gen)
    blip = Blip(model, BlipConfig(bits=bits, strict=strict))
    blip.clip_()  # the snapped state is itself a fixed point up to the range limit
    before = {name: p.detach().clone() for name, p, _ in layer.blip_tensors()}
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    blip.attach(opt)
    for scale in steps:
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=gen) * scale
        opt.step()
    for name, param, bound in layer.blip_tensors():
        s, c = layer.frozen_bits(name), layer.center(name)
        u = param.detach() / bound
        radius = freeze_radius(s, bits, strict)
        assert ((u - c).abs() <= radius + 1e-6).all()
        assert ((u - c).abs() <= torch.exp2(-s.float()) + 1e-6).all()
        assert (u.abs() <= 1 - 2.0 ** -(bits + 1) + 1e-7).all()
        full = s == bits
        assert torch.equal(param.detach()[full], before[name][full])
        if strict:
            assert torch.equal(quantize(u, s), c)


def test_unfrozen_parameters_only_meet_the_range_limit():
    layer = BlipLinear(3, 3, bits=4)
    blip = Blip(nn.Sequential(layer), BlipConfig(bits=4))
    with torch.no_grad():
        layer.weight.fill_(10 * layer.bound)
        layer.bias.fill_(-0.3)
    blip.clip_()
    assert torch.allclose(layer.weight, torch.full_like(layer.weight, layer.bound * (1 - 2**-5)))
    assert torch.allclose(layer.bias, torch.full_like(layer.bias, -0.3))


def test_paper_radius_is_two_to_minus_s_and_zero_when_fully_frozen():
    s = torch.tensor([0, 1, 5, 19, 20], dtype=torch.uint8)
    r = freeze_radius(s, 20, strict=False)
    assert r.tolist() == [1.0, 0.5, 2.0**-5, 2.0**-19, 0.0]
    assert freeze_radius(s, 20, strict=True).tolist()[-1] == 0.0


@settings(max_examples=30, deadline=None)
@given(bits=st.integers(1, 20), strict=st.booleans(), seed=st.integers(0, 2**31))
def test_the_model_clip_is_each_tensors_clamp_bit_for_bit(bits, strict, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layers = [BlipConv2d(2, 3, 2, bits=bits), BlipLinear(4, 3, bits=bits)]
    model = nn.Sequential(*layers)
    for layer in layers:
        random_state(layer, bits, gen)
    for p in model.parameters():  # moved anywhere, out of range and to the edges too
        with torch.no_grad():
            p.add_(torch.randn(p.shape, generator=gen) * p.abs().max() * 4)
    expected = []
    for layer in layers:
        for name, param, bound in layer.blip_tensors():
            expected.append(param.detach().clone())
            clip_(expected[-1], layer.center(name), layer.frozen_bits(name), bound, bits, strict)
    BlipClip(model, strict)()
    assert all(torch.equal(p, e) for p, e in zip(model.parameters(), expected))
