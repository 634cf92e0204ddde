"""Keep glibc from handing big training buffers back to the OS after every step (which makes each step page-fault)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's ceiling on 64-bit; smaller blocks come from the reusable heap
TRIM_THRESHOLD_BYTES = 512 * 1024 * 1024  # free heap top kept before trimming

_tuned: bool | None = None


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; False where there is no glibc.

    Same effect as starting with MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ set, but it works
    for ``streamlit run`` and the command line without asking the user to export anything.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    ok_trim = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    _tuned = ok_mmap and ok_trim
    return _tuned


def release_heap() -> bool:
    """Hand the heap's free memory back to the OS now (glibc's malloc_trim); False where there is no glibc.

    For a worker process that outlives its job (a Ray worker): the thresholds above keep a job's freed buffers for its
    next step, which after the job only keeps the process large.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    return trim(0) == 1


def available_mb() -> float | None:
    """Memory this machine can give a new allocation now, in MB (Linux: MemAvailable); None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return None
