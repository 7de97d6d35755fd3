"""BLIP layers: ``nn.Linear`` / ``nn.Conv2d`` whose forward pass uses N-bit weights.

Every parameter ``p`` of a BLIP layer lives on a scale ``bound`` (``u = p / bound`` in [-1, 1])
and carries three buffers of BLIP state (spec s.2, 9 bytes per parameter):

- ``{p}_frozen_bits``: uint8, S, most-significant bits frozen so far (0..bits);
- ``{p}_center``: float32, c = Q(u*, S) after the last task, scaled units;
- ``{p}_fisher``: float32, the running Fisher F_{0:t} (Eq. 7), in units of p (not u).

plus one int64 scalar ``tasks_seen``. All are registered buffers, so ``state_dict()`` carries them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from blip_rl.core.quant import quantize_into, straight_through

FanMode = Literal["in", "max"]
BIAS_BOUND = 1.0


def weight_bound(fan: int) -> float:
    """Scale of a weight tensor: ``6 / sqrt(fan)`` (the authors' choice)."""
    return 6.0 / math.sqrt(fan)


def range_limit(bits: int) -> float:
    """Largest |u| a parameter may take: ``1 - 2^-(bits+1)``."""
    return 1.0 - 2.0 ** -(bits + 1)


class BlipLayer(nn.Module):
    """Behaviour shared by BLIP layers: state buffers, bounds and the cached quantized forward.

    Subclasses list it before the torch layer (``class BlipLinear(BlipLayer, nn.Linear)``) and
    set ``fan_in`` (inputs per output) and ``outputs`` (output features or channels) before
    calling :meth:`_init_blip`.
    """

    bits: int
    fan: int
    bound: float
    fan_in: int
    outputs: int
    tasks_seen: Tensor

    def _init_blip(self, bits: int, fan: FanMode) -> None:
        if not 1 <= bits <= 32:
            raise ValueError(f"bits must be in 1..32, got {bits}")
        if fan not in ("in", "max"):
            raise ValueError(f"fan must be 'in' or 'max', got {fan!r}")
        self.bits = bits
        self.fan = self.fan_in if fan == "in" else max(self.fan_in, self.outputs)
        self.bound = weight_bound(self.fan)
        # The quantized copy of each parameter, rebuilt only when the parameter changes
        # (optimizer steps, clips, loads), not on every forward: rollouts call forward
        # thousands of times between two updates. It is rebuilt in place (no allocation).
        self._quantized: dict[str, tuple[tuple[int, int], Tensor]] = {}
        self.register_buffer("tasks_seen", torch.zeros((), dtype=torch.int64))
        for name, param in self._named_blip_params():
            self.register_buffer(f"{name}_frozen_bits", torch.zeros_like(param, dtype=torch.uint8))
            self.register_buffer(f"{name}_center", torch.zeros_like(param, dtype=torch.float32))
            self.register_buffer(f"{name}_fisher", torch.zeros_like(param, dtype=torch.float32))
        self.clamp_into_range()

    def _named_blip_params(self) -> Iterator[tuple[str, nn.Parameter]]:
        yield "weight", self.weight
        if self.bias is not None:
            yield "bias", self.bias

    def blip_tensors(self) -> Iterator[tuple[str, nn.Parameter, float]]:
        """Yield ``(name, parameter, bound)`` for ``weight`` and, if present, ``bias``."""
        for name, param in self._named_blip_params():
            yield name, param, self.param_bound(name)

    def param_bound(self, name: str) -> float:
        """Scale of parameter ``name``: ``bound`` for the weight, 1 for the bias."""
        return self.bound if name == "weight" else BIAS_BOUND

    def frozen_bits(self, name: str) -> Tensor:
        return getattr(self, f"{name}_frozen_bits")

    def center(self, name: str) -> Tensor:
        return getattr(self, f"{name}_center")

    def fisher(self, name: str) -> Tensor:
        return getattr(self, f"{name}_fisher")

    @torch.no_grad()
    def clamp_into_range(self) -> None:
        """Clamp every BLIP parameter into the quantization range (after a foreign init)."""
        limit = range_limit(self.bits)
        for _, param, bound in self.blip_tensors():
            param.clamp_(-bound * limit, bound * limit)

    def quantized(self, name: str) -> Tensor:
        """``bound * Q(p / bound, bits)`` with a straight-through gradient to ``p``."""
        param = getattr(self, name)
        key = (param.data_ptr(), param._version)
        cached = self._quantized.get(name)
        if cached is None or cached[0] != key:
            reuse = cached is not None and cached[1].device == param.device
            out = cached[1] if reuse else torch.empty_like(param, requires_grad=False)
            cached = (key, quantize_into(param, self.param_bound(name), self.bits, out))
            self._quantized[name] = cached
        return straight_through(param, cached[1])

    def quantized_bias(self) -> Tensor | None:
        return None if self.bias is None else self.quantized("bias")

    def reset_parameters(self) -> None:
        """The layer's usual init, then clamped into the quantization range."""
        super().reset_parameters()
        if hasattr(self, "bits"):  # the base __init__ runs this before BLIP is set up
            self.clamp_into_range()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bits={self.bits}, bound={self.bound:.4g}"


class BlipLinear(BlipLayer, nn.Linear):
    """Drop-in ``nn.Linear`` with N-bit weights (Eq. 2) and BLIP state buffers.

    Args: those of ``nn.Linear``, plus ``bits`` (N) and ``fan`` ('in': bound 6/sqrt(fan_in),
    the authors' classification choice; 'max': 6/sqrt(max(in_features, out_features)), their
    RL trunk). The prior Fisher is f0 times the same fan.
    Input (B, *, in_features) -> output (B, *, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bits: int = 20,
        fan: FanMode = "in",
    ) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        self.fan_in, self.outputs = in_features, out_features
        self._init_blip(bits, fan)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.quantized("weight"), self.quantized_bias())


class BlipConv2d(BlipLayer, nn.Conv2d):
    """Drop-in ``nn.Conv2d`` (groups=1, zero padding given as ints) with N-bit weights.

    ``fan`` 'in': fan = in_channels * kh * kw; 'max' (the authors' RL trunk):
    max(out_channels, in_channels * kh * kw).
    Input (B, C_in, H, W) -> output (B, C_out, H', W').
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bits: int = 20,
        fan: FanMode = "in",
    ) -> None:
        if groups != 1:
            raise ValueError(f"BlipConv2d supports groups=1 only, got groups={groups}")
        if padding_mode != "zeros" or isinstance(padding, str):
            raise ValueError(
                f"BlipConv2d supports zero padding given as ints, got padding={padding!r}, "
                f"padding_mode={padding_mode!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        kernel = self.kernel_size[0] * self.kernel_size[1]
        self.fan_in, self.outputs = in_channels * kernel, out_channels
        self._init_blip(bits, fan)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.quantized("weight"), self.quantized_bias())


def blip_layers(model: nn.Module) -> list[tuple[str, BlipLayer]]:
    """All BLIP layers of ``model`` as ``(qualified name, layer)``, in registration order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BlipLayer)]
