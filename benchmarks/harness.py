"""Shared benchmark machinery: thread setup, warm-up, medians, a table and JSON.

Each case runs deepgrad and PyTorch in this one process on the same data, alternating
repeats so that any slow-down of the machine hits both, and reports median times and
the ratio deepgrad / PyTorch (below 1.0: deepgrad is faster).
"""
import json
import platform
import statistics
import time


def blas_threads():
    """Threads of NumPy's BLAS; PyTorch is given the same number."""
    try:
        from threadpoolctl import threadpool_info
        return max([lib["num_threads"] for lib in threadpool_info()
                    if lib.get("user_api") == "blas"] or [1])
    except ImportError:  # pragma: no cover
        import os
        return os.cpu_count() or 1


def setup_torch():
    import torch
    torch.set_num_threads(blas_threads())
    return torch


def median_time(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(deepgrad_step, torch_step, repeats=50, rounds=5, warmup=5):
    """Median seconds per call of each, measured in alternating rounds."""
    for _ in range(warmup):
        deepgrad_step()
        torch_step()
    dg_times, torch_times = [], []
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        dg_times.append(median_time(deepgrad_step, per_round, warmup=0))
        torch_times.append(median_time(torch_step, per_round, warmup=0))
    return statistics.median(dg_times), statistics.median(torch_times)


def machine():
    import numpy
    import torch
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "torch": torch.__version__, "blas_threads": blas_threads(),
            "cpu": platform.processor() or platform.machine()}


def report(title, rows, columns, as_json=False):
    """Print rows (dicts) as a Markdown table, or as JSON with the machine description."""
    if as_json:
        print(json.dumps({"benchmark": title, "machine": machine(), "rows": rows}, indent=2))
        return
    print(f"## {title}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = []
        for c in columns:
            v = row[c]
            cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")
