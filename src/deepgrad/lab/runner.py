"""Run experiments, time them, judge them and write the report.

``run_experiments(names, quick, seed, out)`` leaves in ``out``:

* ``results.json``: per experiment its numbers, verdict and time, plus the settings;
* ``figures/<name>.png`` (and, for an experiment that probes its training,
  ``figures/<name>-<run>-probes_*.png``); ``report.md`` (links them) and ``report.html`` (embeds them).
"""
import json
import os
import platform
import time

import numpy as np

import deepgrad as dg
from deepgrad import backend
from deepgrad.serialization import atomic_write

from .registry import NAMES, get
from .report import write_html, write_markdown


def _one_blas_thread():
    """Run on one BLAS thread. The lab's matrices are small: a second thread costs more
    in hand-over than it saves, and on a busy machine spinning BLAS threads made runs
    several times slower. One thread also keeps the numbers independent of the
    machine's core count."""
    return backend.blas_threads(1)


def run_one(name, quick=True, seed=0, out="lab-report"):
    """Run, judge and draw one experiment; return its entry for the report."""
    module = get(name)
    start = time.perf_counter()
    numbers = module.run(quick=quick, seed=seed, out_dir=out)
    run_seconds = time.perf_counter() - start
    passed, explanation = module.verdict(numbers)
    figure = os.path.join(out, "figures", f"{name}.png")
    module.figure(numbers, figure)
    probes = module.probes(numbers, os.path.dirname(figure)) if hasattr(module, "probes") else []
    return {"name": name, "title": module.TITLE, "claim": module.CLAIM,
            "criterion": module.CRITERION, "passed": bool(passed),
            "explanation": explanation, "figure": os.path.relpath(figure, out),
            "probes": [{"title": p["title"], "figure": os.path.relpath(p["path"], out)}
                       for p in probes],
            "seconds": run_seconds, "total_seconds": time.perf_counter() - start,
            "table": module.table(numbers) if hasattr(module, "table") else None,
            "numbers": numbers}


def run_experiments(names=None, quick=True, seed=0, out="lab-report", log=print):
    """Run ``names`` (all by default) in the course's order; write the report in ``out``.

    Returns the report's data: ``{"settings": ..., "experiments": [entry, ...]}``.
    """
    names = list(NAMES) if not names else list(dict.fromkeys(names))
    for name in names:
        get(name)  # an unknown name fails before anything runs
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"deepgrad lab: seed must be a non-negative integer, got {seed!r}")
    os.makedirs(out, exist_ok=True)
    entries, start = [], time.perf_counter()
    with _one_blas_thread():
        for name in names:
            entry = run_one(name, quick, int(seed), out)
            entries.append(entry)
            if log:
                log(f"{name:<20} {'PASS' if entry['passed'] else 'FAIL'}  "
                    f"{entry['total_seconds']:6.1f}s  {entry['explanation']}")
    settings = {"mode": "quick" if quick else "full", "seed": int(seed),
                "seconds": time.perf_counter() - start,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "deepgrad": dg.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "cpus": os.cpu_count()}
    data = {"settings": settings, "experiments": entries}
    atomic_write(os.path.join(out, "results.json"),
                 json.dumps(data, indent=1, allow_nan=False).encode())
    atomic_write(os.path.join(out, "report.md"), write_markdown(data).encode())
    atomic_write(os.path.join(out, "report.html"), write_html(data, out).encode())
    if log:
        passed = sum(e["passed"] for e in entries)
        log(f"{passed}/{len(entries)} claims supported in {settings['seconds']:.1f}s; wrote "
            f"{os.path.join(out, 'report.html')} and report.md")
    return data
