import gzip
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import savemat

from blip_rl.classification import benchmarks, data
from blip_rl.classification.benchmarks import get_benchmark
from tests.datafiles import write_cifar10, write_idx, write_mnist


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_idx_round_trip_raw_and_gz(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    assert np.array_equal(data.read_idx(tmp_path / name), array)


def test_malformed_idx_files_name_the_path_and_format(tmp_path):
    bad = tmp_path / "bad-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x0d\x03rest")
    with pytest.raises(data.DataError, match=r"bad-idx3-ubyte.*magic"):
        data.read_idx(bad)
    write_idx(tmp_path / "short", np.zeros((2, 2, 2), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(data.DataError, match="7 bytes of data, expected 8"):
        data.read_idx(tmp_path / "short")


def test_idx_files_are_never_read_past_the_size_their_header_declares(tmp_path):
    huge = tmp_path / "huge-idx3-ubyte.gz"  # 44 bytes claiming 2^40 images of 28 x 28
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (2**30, 28, 28))
    huge.write_bytes(gzip.compress(header + b"\x00" * 16))
    with pytest.raises(data.DataError, match=r"declares shape \(1073741824, 28, 28\)"):
        data.read_idx(huge)
    bomb = tmp_path / "bomb-idx1-ubyte.gz"  # declares 4 labels, unpacks to 64 MiB
    bomb.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 4]) + b"\x00" * 2**26))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(data.DataError, match="more of data, expected 4"):
        data.read_idx(bomb)


def test_missing_mnist_files_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(
        data.DataError, match=r"MNIST not found: looked for train-images-idx3-ubyte"
    ):
        get_benchmark("mnist5").build(tmp_path)


def test_mnist_is_found_in_its_own_folder(tmp_path):
    write_mnist(tmp_path / "mnist", gz=False)
    tasks = get_benchmark("mnist5").build(tmp_path)
    assert [t.classes for t in tasks] == [2] * 5
    assert tasks[0].train.x.shape[1:] == (1, 28, 28)
    assert set(tasks[3].train.y.tolist()) == {0, 1}


def test_cifar_pickle_round_trip(tmp_path):
    write_cifar10(tmp_path)
    x, y = data.read_cifar_pickle(tmp_path / "data_batch_1", "labels")
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.shape == (20,)


def test_a_crafted_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(data.DataError, match="refusing to load"):
        data.read_cifar_pickle(tmp_path / "data_batch_1", "labels")
    assert not marker.exists()


def test_svhn_mat_maps_label_10_to_0(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, (32, 32, 3, 4)).astype(np.uint8)
    savemat(tmp_path / "train_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [10]])})
    images, labels = data.read_svhn_mat(tmp_path / "train_32x32.mat")
    assert images.shape == (4, 3, 32, 32)
    assert labels.tolist() == [0, 1, 2, 0]
    assert np.array_equal(images[1, 2], x[:, :, 2, 1])
    (tmp_path / "test_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(data.DataError, match="malformed SVHN file"):
        data.read_svhn_mat(tmp_path / "test_32x32.mat")


def test_image_folder_skips_unreadable_files(tmp_path):
    for cls in "AB":
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "A" / "broken.png").write_bytes(b"\x89PNG broken")
    x, y, names = data.read_image_folder(tmp_path, 16, 1)
    assert x.shape == (4, 1, 16, 16) and y.tolist() == [0, 0, 1, 1] and names == ["A", "B"]
    with pytest.raises(data.DataError, match="no class folders"):
        data.read_image_folder(tmp_path / "A", 16, 1)


def test_file_benchmarks_need_a_data_dir(tmp_path):
    with pytest.raises(data.DataError, match="give --data-dir"):
        get_benchmark("cifar").build(None)
    with pytest.raises(data.DataError, match="is not a directory"):
        get_benchmark("cifar").build(tmp_path / "nowhere")


@pytest.fixture
def no_system_fashion(tmp_path, monkeypatch):
    """Debian's Fashion-MNIST folder pointed at an empty one, so tests see only their files."""
    monkeypatch.setattr(benchmarks, "FASHION_MNIST_SYSTEM", tmp_path / "no-system-copy")


def test_fmnist5_reads_the_data_dir_first(tmp_path, no_system_fashion):
    write_mnist(tmp_path / "data" / "fashion-mnist", per_class=4)
    tasks = get_benchmark("fmnist5").build(tmp_path / "data")
    assert [t.name for t in tasks] == [f"fmnist-{k}" for k in range(5)]
    assert [t.classes for t in tasks] == [2] * 5 and len(tasks[0].train) == 8


def test_pfmnist_falls_back_to_the_debian_folder(tmp_path, monkeypatch):
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    write_mnist(system, per_class=3)
    monkeypatch.setattr(benchmarks, "FASHION_MNIST_SYSTEM", system)
    tasks = get_benchmark("pfmnist").build(None)  # no --data-dir
    assert len(tasks) == 10 and all(t.classes == 10 for t in tasks)
    assert len(get_benchmark("pfmnist").build(tmp_path)) == 10  # a --data-dir without them


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path, no_system_fashion):
    with pytest.raises(data.DataError) as e:
        get_benchmark("fmnist5").build(tmp_path)
    message = str(e.value)
    assert "apt-get install dataset-fashion-mnist" in message and str(tmp_path) in message


def test_the_five_datasets_fashion_member_is_not_mnist(tmp_path, no_system_fashion):
    # MNIST's files in the data folder itself must not be read as Fashion-MNIST
    write_mnist(tmp_path, per_class=2)
    with pytest.raises(data.DataError, match="Fashion-MNIST not found"):
        benchmarks.fashion_mnist(tmp_path, own_folder=False)


@pytest.mark.skipif(
    not (benchmarks.FASHION_MNIST_SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"real Fashion-MNIST not installed (`make data`: {benchmarks.FASHION_MNIST_INSTALL})",
)
def test_real_fashion_mnist_from_the_debian_package():
    tasks = get_benchmark("fmnist5").build(None)
    assert [len(t.train) for t in tasks] == [12_000] * 5
    assert [len(t.test) for t in tasks] == [2_000] * 5
    assert tasks[0].train.x.shape[1:] == (1, 28, 28) and tasks[0].train.x.dtype == torch.uint8
    assert all(torch.bincount(t.train.y).tolist() == [6_000, 6_000] for t in tasks)
