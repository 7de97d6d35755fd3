"""The continual image-classification benchmarks: each a sequence of tasks with its own head.

| name | tasks | data | net |
|---|---|---|---|
| digits5 | 5 x 2 classes | scikit-learn digits (bundled) | MLP |
| pdigits | 10 permutations x 10 classes | scikit-learn digits (bundled) | MLP |
| mnist5 | 5 x 2 classes | MNIST IDX | MLP |
| pmnist | 10 permutations x 10 classes | MNIST IDX | MLP |
| fmnist5 | 5 x 2 classes | Fashion-MNIST IDX | MLP |
| pfmnist | 10 permutations x 10 classes | Fashion-MNIST IDX | MLP |
| cifar | CIFAR-10 (5 x 2) alternating with CIFAR-100 (5 x 20) | CIFAR python pickles | AlexNet |
| miniimagenet | 20 x 5 classes | class-per-folder tree | AlexNet |
| five | CIFAR-10, notMNIST, MNIST, SVHN, Fashion-MNIST | all of those | AlexNet |
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from blip_rl.classification import data
from blip_rl.classification.data import Arrays, DataError
from blip_rl.core.blip import CLASSIFICATION_FISHER_BATCH, authors_prior

log = logging.getLogger(__name__)


@dataclass
class Split:
    """Images of one task split: x uint8 (N, C, H, W), y int64 (N,) in 0..classes-1.

    ``permutation`` (pixel order, (C*H*W,)) is applied per batch, so permuted tasks share
    one copy of the images.
    """

    x: Tensor
    y: Tensor
    permutation: Tensor | None = None

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, idx: Tensor, device: torch.device) -> tuple[Tensor, Tensor]:
        """float32 (B, C, H, W) standardised images and int64 (B,) labels on ``device``."""
        x = self.x[idx].to(device=device, dtype=torch.float32) / 255.0
        if self.permutation is not None:
            x = x.flatten(1)[:, self.permutation.to(device)].view_as(x)
        return (x - 0.5) / 0.5, self.y[idx].to(device)


@dataclass
class Task:
    name: str
    classes: int
    train: Split
    test: Split


@dataclass(frozen=True)
class Benchmark:
    name: str
    net: str  # 'mlp' or 'alexnet'
    lr: float  # SGD learning rate of the paper / authors' code
    fisher_prior: float  # the authors' f0, for the exact Fisher (see authors_prior)
    build: Callable[[Path | None], list[Task]]
    calibrated_prior: float | None = None
    """The default preset's f0 where the authors' under-freezes, measured (else theirs)."""

    def prior_for(self, preset: str) -> float:
        """The f0 of ``--preset`` ``preset``: the authors' for "paper", else the calibrated
        one where there is one."""
        if preset == "paper" or self.calibrated_prior is None:
            return self.fisher_prior
        return self.calibrated_prior


def _tensors(arrays: Arrays) -> tuple[Tensor, Tensor]:
    x, y = arrays
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def check_labels(name: str, train: Arrays, test: Arrays, classes: int) -> None:
    """Refuse a data set with a label outside 0..classes-1 (``name``: the data set's)."""
    for part, (_, y) in (("training", train), ("test", test)):
        if len(y) == 0:
            raise DataError(f"{name} holds no {part} images")
        bad = y[(y < 0) | (y >= classes)]
        if len(bad):
            raise DataError(
                f"{name} {part} labels hold {int(bad[0])}; expected classes 0..{classes - 1}"
            )


def class_split(name: str, train: Arrays, test: Arrays, groups: list[list[int]]) -> list[Task]:
    """One task per group of original class ids; labels renumbered 0..len(group)-1."""
    classes = max(max(group) for group in groups) + 1
    check_labels(name, train, test, classes)
    (xtr, ytr), (xte, yte) = _tensors(train), _tensors(test)
    tasks = []
    for k, group in enumerate(groups):
        ids = torch.tensor(group)
        lookup = torch.full((classes,), -1, dtype=torch.int64)
        lookup[ids] = torch.arange(len(group))

        splits = []
        for part, x, y in (("training", xtr, ytr), ("test", xte, yte)):
            mask = torch.isin(y, ids)
            if not mask.any():
                raise DataError(
                    f"{name} has no {part} images of classes {group} (task {k}): "
                    "every task needs some"
                )
            splits.append(Split(x[mask], lookup[y[mask]]))
        tasks.append(Task(f"{name}-{k}", len(group), *splits))
    return tasks


def pairs(classes: int, per_task: int) -> list[list[int]]:
    return [list(range(i, i + per_task)) for i in range(0, classes, per_task)]


def permuted(name: str, train: Arrays, test: Arrays, tasks: int, classes: int = 10) -> list[Task]:
    """``tasks`` fixed pixel permutations (permutation k drawn from seed k), all ``classes``
    classes each."""
    check_labels(name, train, test, classes)
    (xtr, ytr), (xte, yte) = _tensors(train), _tensors(test)
    n_pixels = xtr[0].numel()
    out = []
    for k in range(tasks):
        perm = torch.randperm(n_pixels, generator=torch.Generator().manual_seed(k))
        out.append(Task(f"{name}-{k}", classes, Split(xtr, ytr, perm), Split(xte, yte, perm)))
    return out


def holdout(arrays: Arrays, test_fraction: float = 0.2) -> tuple[Arrays, Arrays]:
    """A fixed stratified train/test split for data sets that ship without one."""
    from sklearn.model_selection import train_test_split

    x, y = arrays
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=0)
    return (xtr, ytr), (xte, yte)


def need_dir(data_dir: Path | None, benchmark: str) -> Path:
    if data_dir is None:
        raise DataError(f"benchmark {benchmark!r} reads data files: give --data-dir")
    return optional_dir(data_dir)


def optional_dir(data_dir: Path | None) -> Path | None:
    """``data_dir`` if it is ``None`` or a directory; else a :class:`DataError`."""
    if data_dir is not None and not data_dir.is_dir():
        raise DataError(f"--data-dir {str(data_dir)!r} is not a directory")
    return data_dir


# --- data sets ---------------------------------------------------------------------------


def mnist_like(data_dir: Path, folders: tuple[str, ...], what: str) -> tuple[Arrays, Arrays]:
    """MNIST or Fashion-MNIST: the four IDX files, raw or .gz."""

    def pair(prefix: str) -> Arrays:
        images = data.find_file(
            data_dir, folders, data.idx_names(f"{prefix}-images-idx3-ubyte"), what
        )
        labels = data.find_file(
            data_dir, folders, data.idx_names(f"{prefix}-labels-idx1-ubyte"), what
        )
        return data.read_idx_pair(images, labels)

    return pair("train"), pair("t10k")


def mnist(data_dir: Path) -> tuple[Arrays, Arrays]:
    return mnist_like(data_dir, (".", "mnist", "MNIST/raw"), "MNIST")


FASHION_MNIST_SYSTEM = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's and Ubuntu's package ``dataset-fashion-mnist`` puts the four IDX files."""
FASHION_MNIST_INSTALL = "apt-get install dataset-fashion-mnist"


def fashion_mnist(data_dir: Path | None, own_folder: bool = True) -> tuple[Arrays, Arrays]:
    """Fashion-MNIST's IDX files from ``data_dir`` (or its ``fashion-mnist/`` or
    ``FashionMNIST/raw/``; ``own_folder``: from ``data_dir`` itself too), else from
    :data:`FASHION_MNIST_SYSTEM`; a :class:`DataError` saying how to get them if neither has
    them."""
    folders = ("fashion-mnist", "FashionMNIST/raw")
    folders = (".", *folders) if own_folder else folders
    roots = [] if data_dir is None else [data_dir]
    roots.append(FASHION_MNIST_SYSTEM)
    train_images = data.idx_names("train-images-idx3-ubyte")
    for root in roots:
        if any((root / f / name).is_file() for f in folders for name in train_images):
            if root != data_dir:
                log.info("Fashion-MNIST from %s", root)
            return mnist_like(root, folders, "Fashion-MNIST")
    where = "" if data_dir is None else f"--data-dir {str(data_dir)!r} or "
    raise DataError(
        f"Fashion-MNIST not found in {where}{FASHION_MNIST_SYSTEM}: install it with "
        f"`{FASHION_MNIST_INSTALL}` (root) or put its four IDX files in --data-dir"
    )


def cifar10(data_dir: Path) -> tuple[Arrays, Arrays]:
    folders = (".", "cifar-10-batches-py")
    train = [
        data.read_cifar_pickle(
            data.find_file(data_dir, folders, (f"data_batch_{i}",), "CIFAR-10"), "labels"
        )
        for i in range(1, 6)
    ]
    test = data.read_cifar_pickle(
        data.find_file(data_dir, folders, ("test_batch",), "CIFAR-10"), "labels"
    )
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])), test


def cifar100(data_dir: Path) -> tuple[Arrays, Arrays]:
    folders = (".", "cifar-100-python")

    def read(name: str) -> Arrays:
        return data.read_cifar_pickle(
            data.find_file(data_dir, folders, (name,), "CIFAR-100"), "fine_labels"
        )

    return read("train"), read("test")


def svhn(data_dir: Path) -> tuple[Arrays, Arrays]:
    folders = (".", "svhn")

    def read(name: str) -> Arrays:
        return data.read_svhn_mat(data.find_file(data_dir, folders, (name,), "SVHN"))

    return read("train_32x32.mat"), read("test_32x32.mat")


def image_tree(root: Path, size: int, channels: int) -> tuple[Arrays, Arrays]:
    """``root/{train,test}/<class>/...`` if present, else ``root/<class>/...`` split 80/20."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        xtr, ytr, names = data.read_image_folder(root / "train", size, channels)
        xte, yte, test_names = data.read_image_folder(root / "test", size, channels)
        if names != test_names:
            raise DataError(f"{root}/train and {root}/test hold different class folders")
        return (xtr, ytr), (xte, yte)
    x, y, _ = data.read_image_folder(root, size, channels)
    return holdout((x, y))


def to_rgb32(arrays: Arrays) -> Arrays:
    """Grey 28x28 images as 3x32x32 (zero padding, channel repeated), for the 5-dataset."""
    x, y = arrays
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    pad = (32 - x.shape[2]) // 2
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return x, y


# --- benchmarks --------------------------------------------------------------------------


def build_digits5(_: Path | None) -> list[Task]:
    train, test = holdout(data.load_digits_arrays())
    return class_split("digits", train, test, pairs(10, 2))


def build_pdigits(_: Path | None) -> list[Task]:
    train, test = holdout(data.load_digits_arrays())
    return permuted("pdigits", train, test, 10)


def build_mnist5(data_dir: Path | None) -> list[Task]:
    train, test = mnist(need_dir(data_dir, "mnist5"))
    return class_split("mnist", train, test, pairs(10, 2))


def build_pmnist(data_dir: Path | None) -> list[Task]:
    train, test = mnist(need_dir(data_dir, "pmnist"))
    return permuted("pmnist", train, test, 10)


def build_fmnist5(data_dir: Path | None) -> list[Task]:
    train, test = fashion_mnist(optional_dir(data_dir))
    return class_split("fmnist", train, test, pairs(10, 2))


def build_pfmnist(data_dir: Path | None) -> list[Task]:
    train, test = fashion_mnist(optional_dir(data_dir))
    return permuted("pfmnist", train, test, 10)


def build_cifar(data_dir: Path | None) -> list[Task]:
    root = need_dir(data_dir, "cifar")
    c10 = class_split("cifar10", *cifar10(root), pairs(10, 2))
    c100 = class_split("cifar100", *cifar100(root), pairs(100, 20))
    return [task for pair in zip(c10, c100) for task in pair]


def build_miniimagenet(data_dir: Path | None) -> list[Task]:
    root = need_dir(data_dir, "miniimagenet") / "mini-imagenet"
    train, test = image_tree(root, 32, 3)
    classes = int(train[1].max()) + 1
    if classes != 100:
        raise DataError(f"{root} holds {classes} class folders; the 20-split needs 100")
    return class_split("miniimagenet", train, test, pairs(100, 5))


def build_five(data_dir: Path | None) -> list[Task]:
    root = need_dir(data_dir, "five")
    sets = [
        ("cifar10", cifar10(root)),
        ("notmnist", image_tree(root / "notMNIST_small", 28, 1)),
        ("mnist", mnist(root)),
        ("svhn", svhn(root)),
        ("fashion", fashion_mnist(root, own_folder=False)),  # root's own IDX files: MNIST
    ]
    tasks = []
    for name, (train, test) in sets:
        tasks += class_split(name, to_rgb32(train), to_rgb32(test), [list(range(10))])
    return tasks


FMNIST5_PRIOR = 1e-13
"""fmnist5's f0 under the default preset, 100x below MNIST's: with MNIST's, BLIP froze 3.2
bits per weight after task 0 and forgot 2.5 points (seed 0); 1e-13, chosen on seed 0 among
1e-11, 1e-13 and 1e-15, forgot at most 0.06 on seeds 0-2 (docs/results.md, Fashion-MNIST)."""


def prior(published: float) -> float:
    """The authors' published f0 of a benchmark, for the exact Fisher (x 100^2)."""
    return authors_prior(published, CLASSIFICATION_FISHER_BATCH)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark("digits5", "mlp", 0.01, prior(1e-15), build_digits5),
        Benchmark("pdigits", "mlp", 0.01, prior(1e-15), build_pdigits),
        Benchmark("mnist5", "mlp", 0.01, prior(1e-15), build_mnist5),
        Benchmark("pmnist", "mlp", 0.01, prior(1e-15), build_pmnist),
        Benchmark("fmnist5", "mlp", 0.01, prior(1e-15), build_fmnist5, FMNIST5_PRIOR),
        Benchmark("pfmnist", "mlp", 0.01, prior(1e-15), build_pfmnist),
        Benchmark("cifar", "alexnet", 0.05, prior(5e-16), build_cifar),
        Benchmark("miniimagenet", "alexnet", 0.05, prior(5e-16), build_miniimagenet),
        Benchmark("five", "alexnet", 0.05, prior(5e-17), build_five),
    ]
}
"""The authors' learning rates and priors (their MNIST code uses lr 0.01, the paper 0.05);
Fashion-MNIST, which the authors ran only inside the 5-dataset, takes MNIST's, and fmnist5's
default preset :data:`FMNIST5_PRIOR`."""


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]
