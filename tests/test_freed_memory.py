"""csprior.freed_memory: glibc is told to keep freed buffers, once, and only when allowed."""
import ctypes
import importlib
import logging
import platform

import pytest
import torch

import csprior
from csprior import freed_memory
from csprior.benchmarks import runner
from csprior.operators import Identity


class FakeLibc:
    def __init__(self, accept=True):
        self.calls, self.accept = [], accept

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return int(self.accept)


@pytest.fixture
def fresh_state(monkeypatch):
    monkeypatch.setitem(freed_memory._state, "applied", None)
    monkeypatch.delenv(freed_memory.SWITCH_VARIABLE, raising=False)


def test_sets_no_mmap_and_a_high_trim_threshold_once(fresh_state):
    libc = FakeLibc()
    assert freed_memory.keep_freed_memory(libc) is True
    assert libc.calls == [(-4, 0), (-1, freed_memory.TRIM_THRESHOLD_BYTES)]
    assert freed_memory.keep_freed_memory(FakeLibc()) is True
    assert len(libc.calls) == 2


@pytest.mark.parametrize("value", ["0", "off", "False"])
def test_switch_variable_leaves_the_allocator_alone(fresh_state, monkeypatch, value):
    monkeypatch.setenv(freed_memory.SWITCH_VARIABLE, value)
    libc = FakeLibc()
    assert freed_memory.keep_freed_memory(libc) is False
    assert libc.calls == []


def test_refused_settings_are_reported(fresh_state, caplog):
    with caplog.at_level(logging.WARNING, logger="csprior.freed_memory"):
        assert freed_memory.keep_freed_memory(FakeLibc(accept=False)) is False
    assert "refused" in caplog.text


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _mallinfo2():
    libc = ctypes.CDLL("libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc without mallinfo2 (before 2.33)")
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_a_large_freed_tensor_stays_in_the_heap(fresh_state):
    mallinfo2 = _mallinfo2()
    assert freed_memory.keep_freed_memory() is True
    mapped_before = mallinfo2().hblkhd
    block = torch.ones(16 << 20)  # 64 MiB: glibc would map it with its default settings
    assert mallinfo2().hblkhd == mapped_before  # not mmapped: served from the heap
    in_heap = mallinfo2().arena
    del block
    assert mallinfo2().arena == in_heap  # freed, but kept for the next allocation
    assert mallinfo2().fordblks >= 64 << 20


def test_reconstruct_and_benchmark_workers_apply_it_on_cpu(monkeypatch):
    calls = []
    engine = importlib.import_module("csprior.reconstruct")  # the module, not the function of that name
    monkeypatch.setattr(engine, "keep_freed_memory", lambda: calls.append("fit"))
    monkeypatch.setattr(runner, "keep_freed_memory", lambda: calls.append("worker"))
    A = Identity((8, 8))
    csprior.reconstruct(torch.rand(8, 8), A, "deep-decoder", iterations=2, early_stopping="fixed",
                        progress=False, device="cpu", architecture={"channels": 4, "depth": 1})
    threads = torch.get_num_threads()
    runner._limit_threads(threads)
    assert calls == ["fit", "worker"]
