"""Where large arrays get their memory: glibc's malloc, told at import to keep freed
blocks for reuse.

glibc maps a block above its mmap threshold (128 KiB, raised as such blocks are freed,
to at most 32 MiB) straight from the kernel and unmaps it when freed, and it gives the
top of its heap back once more than its trim threshold (twice the mmap threshold) is
free there. A training step frees and allocates the same large temporaries every step,
so each step asked the kernel for fresh pages and took a page fault per 4 KiB of them:
the NumPy-only LeNet-5 step at batch 256 took about 4,500 faults and a quarter of its
time in them (BENCHMARKS.md). With the mmap threshold at glibc's largest and the trim
threshold at 1 GiB, blocks below 32 MiB come from the heap and stay there for the next
step. The peak memory of a run is unchanged; what is not given back is at most what was
in use before.

Only glibc is tuned (macOS, musl and preloaded allocators such as jemalloc are left as
they are), and not where the user set glibc's own variables (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``) or ``DEEPGRAD_MALLOC=0``. ``deepgrad info`` says which.
"""
import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's largest on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 1 << 30
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_state = {"how": None}


def tune():
    """Set glibc's thresholds once (at ``import deepgrad``); returns :func:`state`."""
    if _state["how"] is None:
        _state["how"] = _tune()
    return _state["how"]


def state():
    """One line for ``deepgrad info``: what was done to the allocator, and why not."""
    return _state["how"] or "not tuned"


def _tune():
    if os.environ.get("DEEPGRAD_MALLOC", "1") == "0":
        return "glibc's defaults (DEEPGRAD_MALLOC=0)"
    given = [name for name in USER_VARIABLES if name in os.environ]
    if given:
        return f"as the environment sets it ({', '.join(given)})"
    try:
        libc = ctypes.CDLL(None)
        version = libc.gnu_get_libc_version  # glibc only
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "not glibc: left as it is"
    version.restype = ctypes.c_char_p
    mallopt.restype, mallopt.argtypes = ctypes.c_int, [ctypes.c_int, ctypes.c_int]
    if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return f"glibc {version().decode()} refused the thresholds: left as it is"
    return (f"glibc {version().decode()}: blocks under {MMAP_THRESHOLD >> 20} MiB reused, "
            f"not unmapped (DEEPGRAD_MALLOC=0 leaves the defaults)")
