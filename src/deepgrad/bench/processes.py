"""Measurements that need a fresh process each: import time and peak memory.

Peak memory is the maximum resident set size (RSS) of a process that imports one
framework and trains the benchmark model for a fixed number of steps; each framework
runs in its own process so neither's memory counts against the other. PyTorch's runs
with glibc's own malloc settings (``DEEPGRAD_MALLOC=0``: the child imports deepgrad's
benchmark models), as its users get them.
"""
import os
import statistics
import subprocess
import sys

_IMPORT = ("import time; t = time.perf_counter(); import {module}; "
           "print(time.perf_counter() - t)")


def import_time(module, repeats=7):
    """Median seconds to import ``module`` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _IMPORT.format(module=module)],
                             capture_output=True, text=True, check=True).stdout
        times.append(float(out))
    return statistics.median(times)


def peak_memory_mb(framework, model, steps=30):
    """Peak RSS in MB of ``steps`` training steps of ``model`` ('mlp' or 'conv')."""
    from .harness import blas_threads
    env = dict(os.environ, **({"DEEPGRAD_MALLOC": "0"} if framework == "torch" else {}))
    out = subprocess.run([sys.executable, "-m", "deepgrad.bench.memory_child", framework,
                          model, str(steps), str(blas_threads())], capture_output=True,
                         text=True, check=True, env=env)
    return float(out.stdout)
