"""``--threads``: torch's CPU threads, and the warning when other jobs keep the cores busy."""

from __future__ import annotations

import logging
import os

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from blip_rl.infra.device import oversubscription, running_processes, set_threads


@given(threads=st.integers(1, 16), busy=st.integers(0, 16), cores=st.integers(1, 16))
def test_the_warning_comes_exactly_when_threads_and_busy_processes_outnumber_the_cores(
    threads, busy, cores
):
    warning = oversubscription(threads, busy, cores)
    assert (warning is not None) == (threads >= 2 and busy + threads > cores)
    if warning:
        suggested = int(warning.split("--threads ")[1].split()[0])
        assert 1 <= suggested < threads and f"{cores} cores" in warning


def test_demo_beside_one_training_run_on_two_cores_is_told_to_use_one_thread():
    warning = oversubscription(threads=2, busy=1, cores=2)
    assert warning is not None and "1 other process is running" in warning
    assert "pass --threads 1" in warning


def test_the_running_processes_are_read_from_proc_on_linux():
    busy = running_processes(samples=3, interval=0.0)
    assert busy is None or busy >= 0


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_set_threads_sets_torchs_count_and_zero_keeps_it(torch_threads):
    assert set_threads(2) == 2 == torch.get_num_threads()
    assert set_threads(0) == 2
    assert set_threads(1) == 1 == torch.get_num_threads()


def test_set_threads_warns_when_the_cores_are_busy(torch_threads, monkeypatch, caplog):
    cores = os.cpu_count() or 1  # as many busy processes as cores: no room for a 2nd thread
    monkeypatch.setattr("blip_rl.infra.device.running_processes", lambda: cores)
    with caplog.at_level(logging.WARNING, logger="blip_rl.infra.device"):
        set_threads(2)
    assert "pass --threads 1" in caplog.text


def test_a_negative_thread_count_is_refused():
    with pytest.raises(ValueError, match="threads must be an integer >= 0 .*got -1"):
        set_threads(-1)
