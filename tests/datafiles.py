"""Tiny data files in the real distribution formats, for tests."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes (gzipped if ``path`` ends in .gz)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def class_images(
    classes: int, per_class: int, shape: tuple[int, ...], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Learnable images: each class a bright block at its own place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    images = rng.integers(0, 60, size=(len(labels), *shape)).astype(np.uint8)
    flat = images.reshape(len(labels), -1)
    block = flat.shape[1] // classes
    for i, y in enumerate(labels):
        flat[i, y * block : (y + 1) * block] = 255
    order = rng.permutation(len(labels))
    return images[order], labels[order]


def write_mnist(folder: Path, per_class: int = 6, gz: bool = True) -> None:
    ext = ".gz" if gz else ""
    for prefix, n, seed in (("train", per_class, 0), ("t10k", max(2, per_class // 3), 1)):
        x, y = class_images(10, n, (28, 28), seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)


def write_cifar10(folder: Path, per_class: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x, y = class_images(10, per_class, (3, 32, 32), seed=10 + i)
        batch = {
            b"data": x.reshape(len(y), -1),
            b"labels": y.tolist(),
            b"batch_label": name.encode(),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def write_cifar100(folder: Path, per_class: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in (("train", 20), ("test", 21)):
        x, y = class_images(100, per_class, (3, 32, 32), seed)
        batch = {
            b"data": x.reshape(len(y), -1),
            b"fine_labels": y.tolist(),
            b"coarse_labels": (y // 5).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
