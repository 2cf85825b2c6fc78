"""Process-level speed settings for large batched runs.

A batched step allocates a few arrays of several MB (observations, candidate features). glibc's malloc returns
such blocks to the kernel when they are freed and maps fresh, zeroed pages on the next step, so every step pays
page faults on memory it just released. :func:`tune_malloc` keeps freed memory in the process instead. On
the 2-core benchmark machine this doubled Marketing-v1 throughput at N = 1024 (docs/benchmarks.md).

It changes the allocator of the whole process (memory freed by any library stays reserved for reuse), so it is
opt-in: the benchmark and the experiment commands call it; call it yourself in a training script if you want it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_malloc"]

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def tune_malloc(mmap_threshold: int = 256 << 20, trim_threshold: int = 1 << 30, top_pad: int = 64 << 20) -> bool:
    """Ask glibc to serve blocks below ``mmap_threshold`` bytes from the heap and not to trim it below
    ``trim_threshold``. Returns False (and changes nothing) where the C library has no ``mallopt``."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (_M_MMAP_THRESHOLD, mmap_threshold),
            (_M_TRIM_THRESHOLD, trim_threshold),
            (_M_TOP_PAD, top_pad),
        )
    )
