"""Readers for the standard files the image benchmarks are distributed as. Nothing is downloaded.

Every reader returns ``(images, labels)``: images uint8 (N, C, H, W), labels int64 (N,).
A missing or malformed file raises :class:`DataError`, a one-line message naming the path and
the expected format.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray]


class DataError(ValueError):
    """A data file is missing or not in the expected format."""


def find_file(data_dir: Path, folders: tuple[str, ...], names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` found in ``data_dir`` or one of its ``folders`` (in that order)."""
    places = [data_dir / folder for folder in folders]
    for place in places:
        for name in names:
            if (place / name).is_file():
                return place / name
    looked = ", ".join(str(p) for p in places)
    raise DataError(f"{what} not found: looked for {' or '.join(names)} in {looked}")


def idx_names(stem: str) -> tuple[str, str]:
    """An IDX file as distributed, raw or gzipped."""
    return stem, stem + ".gz"


MAX_DATA_BYTES = 2**32
"""The most a data file may hold (or unpack to): 4 GiB, over twice ImageNet's 64x64 train set."""


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (MNIST, Fashion-MNIST), raw or .gz, as a uint8 array.

    The header is read first and the file is never read (or unpacked) past the size it
    declares, nor past :data:`MAX_DATA_BYTES`."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise DataError(
                    f"malformed IDX file {path}: expected the magic 00 00 08 <ndim> of "
                    "unsigned bytes"
                )
            dims = f.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                raise DataError(f"malformed IDX file {path}: truncated header")
            shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(head[3]))
            size = int(np.prod(shape, dtype=np.int64))
            if size > MAX_DATA_BYTES:
                raise DataError(
                    f"IDX file {path} declares shape {shape}, {size:,} bytes: over the "
                    f"{MAX_DATA_BYTES:,} a data file may hold"
                )
            data = f.read(size + 1)
    except (OSError, EOFError) as e:
        raise DataError(
            f"cannot read IDX file {path}: {e}; expected an IDX file of unsigned bytes, raw or "
            "gzipped (.gz)"
        ) from None
    if len(data) != size:
        more = "more" if len(data) > size else f"{len(data)} bytes"
        raise DataError(
            f"malformed IDX file {path}: {more} of data, expected {size} for shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


def read_idx_pair(images: Path, labels: Path) -> Arrays:
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(
            f"IDX files {images} and {labels} do not match: images {x.shape}, labels {y.shape}; "
            "expected (N, H, W) and (N,)"
        )
    return x[:, None], y.astype(np.int64)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a data file never runs code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if name == "_reconstruct":
            # numpy's own array reconstructor, whichever module path (numpy 1 or 2) the file names.
            return np.ndarray.__reduce__(np.zeros(0))[0]
        return super().find_class(module, name)


def read_cifar_pickle(path: Path, label_key: str) -> Arrays:
    """One CIFAR 'python version' batch file: images (N, 3, 32, 32), labels under ``label_key``."""
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes, over {MAX_DATA_BYTES:,}")
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key.encode()], dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise DataError(
            f"malformed CIFAR file {path}: {e}; expected a pickled dict with b'data' "
            f"(N x 3072 uint8) and b'{label_key}'"
        ) from None
    if len(images) != len(labels):
        raise DataError(f"malformed CIFAR file {path}: {len(images)} images, {len(labels)} labels")
    return images, labels


def read_svhn_mat(path: Path) -> Arrays:
    """SVHN cropped digits (``*_32x32.mat``): X (32, 32, 3, N), y (N, 1) with 10 meaning 0."""
    from scipy.io import loadmat, whosmat

    try:
        declared = sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in whosmat(path))
        if declared > MAX_DATA_BYTES:  # per element at least a byte: no bomb is unpacked
            raise ValueError(f"it declares {declared:,} elements, over {MAX_DATA_BYTES:,}")
        mat = loadmat(path)
        images = np.ascontiguousarray(np.asarray(mat["X"], dtype=np.uint8).transpose(3, 2, 0, 1))
        labels = np.asarray(mat["y"], dtype=np.int64).reshape(-1) % 10
    except Exception as e:  # scipy raises many types for a bad file
        raise DataError(
            f"malformed SVHN file {path}: {e}; expected a .mat with X (32, 32, 3, N) and y (N, 1)"
        ) from None
    if images.shape[1:] != (3, 32, 32) or len(images) != len(labels):
        raise DataError(f"malformed SVHN file {path}: X {images.shape}, y {labels.shape}")
    return images, labels


def read_image_folder(
    root: Path, size: int, channels: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A class-per-folder image tree ``root/<class>/<image>``, resized to ``size`` x ``size``.

    Unreadable images (notMNIST ships a few) are skipped; a tree with no class folder or no
    readable image is an error. Returns images (N, channels, size, size), labels, class names.
    """
    from PIL import Image, UnidentifiedImageError

    if not root.is_dir():
        raise DataError(f"image folder not found: {root} (expected {root}/<class>/<image files>)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"no class folders in {root}; expected {root}/<class>/<image files>")
    mode = "L" if channels == 1 else "RGB"
    images, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).iterdir()):
            try:
                with Image.open(file) as img:
                    pixels = np.asarray(img.convert(mode).resize((size, size)), dtype=np.uint8)
            except (UnidentifiedImageError, OSError):
                continue
            images.append(pixels.reshape(size, size, channels).transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise DataError(f"no readable images under {root}")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


def load_digits_arrays() -> Arrays:
    """scikit-learn's bundled 8x8 digits (1,797 images, values 0..16) as uint8 0..255."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]
    return images, digits.target.astype(np.int64)
