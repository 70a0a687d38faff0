"""Benchmark machinery: threads, warm-up, alternating medians, the matmul ceiling, tables.

Each case runs deepgrad and PyTorch in one process on the same data and weights,
alternating rounds so that a slow-down of the machine hits both, and reports medians
and the ratio deepgrad / PyTorch (below 1.0: deepgrad is faster): the median of the
rounds' ratios, with their range. Before timing, every case checks that both give the
same results; a mismatch raises :class:`BenchmarkMismatch`, so speed never costs
correctness.
"""
import json
import os
import platform
import statistics
import time

import numpy as np


class BenchmarkMismatch(AssertionError):
    """deepgrad and PyTorch disagree on a benchmarked computation."""


def blas_threads():
    """Threads of NumPy's BLAS; PyTorch is given the same number."""
    try:
        from threadpoolctl import threadpool_info
        return max([lib["num_threads"] for lib in threadpool_info()
                    if lib.get("user_api") == "blas"] or [1])
    except ImportError:  # pragma: no cover
        return os.cpu_count() or 1


def blas_kernel():
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                return f"{lib.get('internal_api')} {lib.get('architecture')}"
    except ImportError:  # pragma: no cover
        pass
    return "unknown"


def setup_torch():
    # Both frameworks' kernels run on OpenMP, and the process has one OpenMP runtime:
    # whichever loads first. deepgrad's oneDNN loads it here, before torch, so that
    # deepgrad is timed with the runtime (and settings) its users' programs get.
    from deepgrad.ops import _onednn
    _onednn.library()
    import torch
    torch.set_num_threads(blas_threads())
    return torch


SETTLE_SECONDS = 0.3


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def settle(fn, seconds=SETTLE_SECONDS, minimum=3):
    """Call ``fn`` untimed for ``seconds`` (at least ``minimum`` times).

    Each framework keeps its own worker threads (OpenBLAS's for NumPy, OpenMP's for
    PyTorch), and right after the other framework ran they compete for the cores:
    measured here, PyTorch's batch-128 MLP step took 8-9 ms for its first nine calls
    after deepgrad's and 4-5 ms after that; deepgrad's first two calls after PyTorch's
    were slow the same way. Timing straight after a switch measured that hand-over,
    not the framework (it once made deepgrad look twice as fast at small batches)."""
    end = time.perf_counter() + seconds
    calls = 0
    while calls < minimum or time.perf_counter() < end:
        fn()
        calls += 1


def compare(deepgrad_step, torch_step, repeats=63, rounds=9):
    """Time both in alternating rounds, each timed after its framework has settled.

    Returns the median seconds per call of each and the per-round ratios deepgrad /
    PyTorch. A round's two timings are seconds apart, so each ratio is taken within one
    phase of the machine: on this shared VM a phase can last seconds and move a case's
    time by 30%, which a ratio of medians taken over the whole run would absorb."""
    per_round = max(1, repeats // rounds)
    dg_times, torch_times = [], []
    for _ in range(rounds):
        settle(deepgrad_step)
        dg_times.append(median_time(deepgrad_step, per_round))
        settle(torch_step)
        torch_times.append(median_time(torch_step, per_round))
    ratios = [a / b for a, b in zip(dg_times, torch_times)]
    return statistics.median(dg_times), statistics.median(torch_times), ratios


def check_close(name, ours, theirs, rtol=1e-4, atol=1e-5):
    """Raise BenchmarkMismatch unless two arrays agree (float32 round-off)."""
    ours, theirs = _host(ours), _host(theirs)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(ours - theirs))) if ours.shape == theirs.shape else None
        raise BenchmarkMismatch(f"{name}: deepgrad and PyTorch differ (shapes {tuple(ours.shape)} "
                                f"and {tuple(theirs.shape)}, largest difference {worst})")


def _host(value):
    """A NumPy array of a number, a NumPy or CuPy array, or a deepgrad Tensor."""
    from ..autograd import Tensor
    value = value._data if isinstance(value, Tensor) else value
    return value.get() if hasattr(value, "get") else np.asarray(value)


_ceiling = None


def matmul_ceiling(n=2048, repeats=7):
    """GFLOP/s of a large float32 matrix product, the best of ``repeats``: the ceiling
    of every dense layer (the best run, since the machine can only slow it down)."""
    global _ceiling
    if _ceiling is None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        a @ b
        best = min(median_time(lambda: a @ b, 1) for _ in range(repeats))
        _ceiling = 2 * n ** 3 / best / 1e9
    return _ceiling


def machine():
    import numpy
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:  # pragma: no cover
        torch_version = None
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "torch": torch_version, "blas": blas_kernel(), "blas_threads": blas_threads(),
            "cpus": os.cpu_count(), "machine": platform.machine(),
            "openblas_env": {k: os.environ.get(k) for k in
                             ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}}


def table(title, rows, columns):
    lines = [f"## {title}", "", "| " + " | ".join(columns) + " |",
             "|" + "---|" * len(columns)]
    for row in rows:
        cells = [(f"{row[c]:.3g}" if isinstance(row.get(c), float) else str(row.get(c, "")))
                 for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def dumps(rows):
    return json.dumps({"machine": machine(), "rows": rows}, indent=2)
