"""Keep freed CPU buffers inside the process, so that fitting does not page-fault every iteration.

Every fitting iteration allocates its activations and gradients afresh (megabytes each) and frees
them at its end. With glibc's default settings a freed block that large goes back to the kernel
(blocks above the mmap threshold are unmapped; free memory at the top of the heap beyond the trim
threshold is released), so the next iteration touches new pages and pays a page fault, and the
kernel's zeroing, for every 4 KiB of them. ``keep_freed_memory()`` tells glibc to serve every block
from its heap (``M_MMAP_MAX = 0``) and to keep up to ``TRIM_THRESHOLD_BYTES`` of free memory at its
top, so the same buffers are reused from one iteration to the next. Peak memory is unchanged; the
process holds on to up to 1 GiB it has freed until it exits.

Measured on this project's 2-core machine (``python -m csprior.benchmarks.freed_memory``,
``benchmarks/results/speed.md``, fourth run, 2 threads, seconds of ``reconstruct(y, A)`` for 40
iterations): the default for denoising 128² 7.20 → 6.75; Gaussian CS 128² at 25 % 9.50 → 6.90;
4-coil MRI 128² 47.7 → 40.9 (warm start included); 8 stacked Deep Decoders at 64² 417 → 645
instance-iterations per second. Under glibc's defaults these figures also depend on what the
process freed before (its mmap threshold adapts upwards), so they vary from run to run.

``csprior.reconstruct`` and the ``csprior`` command line call it on CPU; it acts once per process,
only where the C library is glibc, and the environment variable ``CSPRIOR_KEEP_FREED_MEMORY=0``
leaves the allocator alone (for a host application that must return memory promptly).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

log = logging.getLogger(__name__)

SWITCH_VARIABLE = "CSPRIOR_KEEP_FREED_MEMORY"
TRIM_THRESHOLD_BYTES = 1 << 30  # free memory glibc may keep at the heap top: above any fit's working set
# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_state = {"applied": None}


def keep_freed_memory(libc=None) -> bool:
    """Ask glibc to keep freed blocks for reuse (see the module docstring); idempotent.

    Args:
        libc: the C library to configure (an object with glibc's ``mallopt(param, value)``);
            None loads this process's glibc.

    Returns True when the settings are in effect, False when they were not applied (not glibc,
    ``CSPRIOR_KEEP_FREED_MEMORY=0``, or ``mallopt`` refused them).
    """
    if _state["applied"] is not None:
        return _state["applied"]
    switch = os.environ.get(SWITCH_VARIABLE, "1").strip().lower()
    if switch in ("0", "false", "no", "off"):
        log.debug("%s=%s: glibc's allocator settings left unchanged", SWITCH_VARIABLE, switch)
        _state["applied"] = False
        return False
    libc = libc if libc is not None else _glibc()
    if libc is None:
        _state["applied"] = False
        return False
    applied = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    if applied:
        log.info("glibc malloc keeps freed buffers (M_MMAP_MAX 0, M_TRIM_THRESHOLD %d); "
                 "%s=0 turns this off", TRIM_THRESHOLD_BYTES, SWITCH_VARIABLE)
    else:
        log.warning("glibc's mallopt refused the settings that keep freed buffers; fitting may page-fault")
    _state["applied"] = applied
    return applied


def _glibc():
    """This process's glibc as a ctypes library, or None on other C libraries."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
