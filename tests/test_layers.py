import math

import pytest
import torch
from torch import nn

from blip_rl import BlipConv2d, BlipLinear, quantize


@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_uses_quantized_weights_and_straight_through_grad(bias):
    torch.manual_seed(0)
    layer = BlipLinear(7, 5, bias=bias, bits=3)
    x = torch.randn(4, 7)
    wq = quantize(layer.weight / layer.bound, 3) * layer.bound
    bq = quantize(layer.bias, 3) if bias else None
    y = layer(x)
    torch.testing.assert_close(y, nn.functional.linear(x, wq, bq))
    y.pow(2).sum().backward()
    # d/dW of sum(y^2) through the STE is the gradient at the quantized weight.
    expected = (2 * y.detach()).T @ x
    torch.testing.assert_close(layer.weight.grad, expected)


@pytest.mark.parametrize("bias", [True, False])
def test_conv_forward_matches_float_conv_at_20_bits(bias):
    torch.manual_seed(0)
    conv = BlipConv2d(3, 4, (3, 2), stride=2, padding=1, bias=bias)
    ref = nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, bias=bias)
    ref.load_state_dict({k: v for k, v in conv.state_dict().items() if k in ref.state_dict()})
    x = torch.randn(2, 3, 9, 9)
    torch.testing.assert_close(conv(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "layer, fan",
    [
        # the authors' RL trunk (quant_layer.py, n_entry): max(out_channels, in_channels k k)
        (BlipConv2d(4, 32, 8, stride=4, fan="max"), max(32, 4 * 64)),
        (BlipConv2d(32, 64, 4, stride=2, fan="max"), max(64, 32 * 16)),
        (BlipConv2d(10, 320, 3, fan="max"), max(320, 10 * 9)),
        (BlipLinear(3136, 1024, fan="max"), 3136),
        (BlipLinear(100, 400, fan="max"), 400),
        # their classification layers: fan-in
        (BlipConv2d(3, 64, 4), 3 * 16),
        (BlipLinear(784, 1200), 784),
    ],
)
def test_bounds_follow_the_authors_fan_rules(layer, fan):
    assert layer.fan == fan
    assert math.isclose(layer.bound, 6 / math.sqrt(fan))
    assert layer.param_bound("bias") == 1.0


def test_state_is_nine_bytes_per_parameter_and_in_the_state_dict():
    layer = BlipLinear(10, 3)
    sd = layer.state_dict()
    params = sum(p.numel() for p in layer.parameters())
    state = sum(
        v.numel() * v.element_size()
        for k, v in sd.items()
        if k.endswith(("_frozen_bits", "_center", "_fisher"))
    )
    assert state == 9 * params
    assert sd["weight_frozen_bits"].dtype == torch.uint8
    assert sd["weight_center"].dtype == torch.float32
    assert "tasks_seen" in sd


def test_quantized_weight_is_recomputed_after_in_place_updates_only():
    layer = BlipLinear(3, 2)
    x = torch.randn(1, 3)
    with torch.no_grad():
        first = layer.quantized("weight")
        assert layer.quantized("weight") is first  # cached between updates
    with torch.no_grad():
        layer.weight.add_(0.5)
    torch.testing.assert_close(
        layer(x), nn.functional.linear(x, layer.weight, layer.bias), atol=1e-5, rtol=0
    )
    layer.load_state_dict(BlipLinear(3, 2).state_dict())
    torch.testing.assert_close(
        layer(x), nn.functional.linear(x, layer.weight, layer.bias), atol=1e-5, rtol=0
    )


def test_initial_weights_are_inside_the_range():
    layer = BlipLinear(1, 1, bits=2)
    assert layer.weight.abs().item() <= layer.bound * (1 - 2**-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": 2}, "groups=1"),
        ({"padding": "same"}, "zero padding"),
        ({"bits": 0}, "1..32"),
    ],
)
def test_unsupported_conv_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BlipConv2d(4, 4, 3, **kwargs)
