"""The C allocator's settings for training: freed memory is kept for the next step.

glibc's malloc serves a block over its mmap threshold (128 KB, rising to at most 32 MB) with a
fresh ``mmap`` and returns it to the system on ``free``. A training step allocates the same large
activations and gradients every time (en-speech's subsampling outputs are 40-50 MB each), so
every step faults all their pages in anew, and on one core that costs more than the arithmetic on
them: ReLU over a 45 MB tensor took 24 ms, 4 ms with the memory kept (one thread, this machine).
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
KEEP = 1 << 30  # blocks below this come from the heap, and freed memory up to it stays there


def keep_freed_memory(limit: int = KEEP) -> bool:
    """Have glibc's malloc serve blocks under ``limit`` bytes from its heap and keep up to
    ``limit`` bytes of freed memory for reuse, for the rest of the process (and processes forked
    from it, such as data-loading workers). Peak memory stays what the program uses; it is
    returned to the system when the process ends. Returns whether the allocator took the
    settings: False without glibc (macOS, Windows, musl), where nothing changes."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, limit) == 1 and mallopt(M_TRIM_THRESHOLD, limit) == 1
