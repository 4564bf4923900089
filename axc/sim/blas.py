"""numpy's OpenBLAS on one thread while the simulator runs a group.

A group executes hundreds of small matmul tiles; a multi-threaded OpenBLAS wakes and
synchronises its threads for each one, which costs far more than the tile (on the loaded
2-core host a Qwen2.5-0.5B prefill layer took 2.6 s instead of 77 ms, a decode layer 42 ms
instead of 36 ms). The thread count is set for the run and restored afterwards, so numpy
code around the simulator keeps its threads. threadpoolctl is not a dependency: the
setter is found by name in the OpenBLAS numpy loaded (nothing happens without one).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "")


@cache
def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """(get, set) of the number of threads of numpy's OpenBLAS, if found."""
    import numpy  # noqa: F401  (loads its OpenBLAS)

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    return get, put
    return None


def one_thread() -> int | None:
    """Switch numpy's OpenBLAS to one thread; returns the previous count (None: unknown)."""
    found = _openblas()
    if found is None:
        return None
    get, put = found
    previous = int(get())
    if previous != 1:
        put(1)
    return previous


def restore(previous: int | None) -> None:
    found = _openblas()
    if found is not None and previous is not None and previous != 1:
        found[1](previous)
