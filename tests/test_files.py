"""Files a run writes are atomic and checksummed; readers refuse a changed file."""

import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import blip_rl.infra.files as files
from blip_rl.infra.files import CorruptFile, atomic_write_bytes, read_checked, write_json


def test_every_file_written_is_listed_in_a_sha256sum_compatible_list(tmp_path):
    write_json(tmp_path / "summary.json", {"acc": 0.5})
    atomic_write_bytes(tmp_path / "eval.csv", b"step\n0\n")
    atomic_write_bytes(tmp_path / "eval.csv", b"step\n0\n64\n")  # replaced: one entry
    lines = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["eval.csv", "summary.json"]
    if shutil.which("sha256sum"):
        proc = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True)
        assert proc.returncode == 0, proc.stdout


def test_a_changed_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "summary.json"
    write_json(path, {"acc": 0.5})
    assert read_checked(path) == path.read_bytes()
    path.write_text('{"acc": 0.9}\n')
    with pytest.raises(
        CorruptFile, match=r"summary.json' does not match its checksum in SHA256SUMS"
    ):
        read_checked(path)


def test_a_file_the_list_does_not_know_is_read_unchecked(tmp_path):
    (tmp_path / "old.json").write_text("{}")  # from a version before checksums
    assert read_checked(tmp_path / "old.json") == b"{}"


def test_figures_leave_no_list(tmp_path):
    atomic_write_bytes(tmp_path / "fig.png", b"png", checksum=False)
    assert os.listdir(tmp_path) == ["fig.png"]


@settings(max_examples=20, deadline=None)
@given(crash_at=st.integers(1, 3), old=st.binary(max_size=64), new=st.binary(max_size=64))
def test_a_write_stopped_at_any_rename_leaves_files_matching_their_list(
    tmp_path_factory, crash_at, old, new
):
    folder = tmp_path_factory.mktemp("run")
    atomic_write_bytes(folder / "eval.csv", old)
    replace, calls = os.replace, [0]

    def dies_at_n(src, dst):
        calls[0] += 1
        if calls[0] == crash_at:
            raise KeyboardInterrupt  # the process ends here
        replace(src, dst)

    files.os.replace = dies_at_n
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write_bytes(folder / "eval.csv", new)
    finally:
        files.os.replace = replace
    assert read_checked(folder / "eval.csv") in (old, new)
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
