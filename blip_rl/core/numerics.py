"""Numerical faults: a NaN or inf loss, gradient or Fisher stops training before it touches
the weights or the BLIP state, with an error the training loop completes with the task and step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.utils.hooks import RemovableHandle


class NumericalFault(RuntimeError):
    """A NaN or inf where training needs a finite value; nothing has been updated with it."""


def count_non_finite(tensors: Iterable[Tensor]) -> int:
    """Number of NaN and inf entries over ``tensors``."""
    return sum(int((~torch.isfinite(t)).sum()) for t in tensors)


def guard_gradients(optimizer: Optimizer) -> RemovableHandle:
    """Raise :class:`NumericalFault` before any ``optimizer.step()`` whose gradients hold a NaN
    or inf (what a NaN or inf loss gives), so the step never reaches the parameters.

    Costs one reduction and one device sync per step.
    """

    def check(opt: Optimizer, *_: object) -> None:
        params = (p for group in opt.param_groups for p in group["params"])
        grads = [p.grad for p in params if p.grad is not None]
        if not grads or torch.isfinite(torch.stack([g.sum() for g in grads]).sum()):
            return
        bad = count_non_finite(grads)  # 0 if only the sum overflowed
        if bad:
            raise NumericalFault(
                f"{bad} gradient entries are NaN or inf (a NaN or inf loss, or a penalty "
                "that diverged); the optimizer step was not taken"
            )

    return optimizer.register_step_pre_hook(check)
