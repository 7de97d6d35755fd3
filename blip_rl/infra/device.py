"""Choose the torch device from ``--device auto|cpu|cuda``."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """'auto': CUDA when available, else CPU. 'cuda' without a GPU raises ``ValueError``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available; use cpu or auto")
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose from: {', '.join(DEVICES)}")
    return torch.device(name)
