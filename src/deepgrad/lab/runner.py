"""Run experiments, time them, judge them and write the report.

``run_experiments(names, quick, seed, out, seeds, jobs)`` runs every experiment once per
seed, the runs spread over worker processes (each on one thread, so the numbers do not
depend on the machine or on how many run at once: the same seeds give the same report),
and judges each claim from its checks' 95% intervals over the seeds
(``verdicts.py``). It leaves in ``out``:

* ``results.json``: per experiment the verdict, each check's values per seed, mean and
  interval, the first seed's numbers (the others' too) and the times, plus the settings;
* ``figures/<name>.png`` (the first seed's evidence), ``figures/<name>-seeds.png`` (each
  check over the seeds: the values, the mean with its interval, the bound), and for an
  experiment that probes its training ``figures/<name>-<run>-probes_*.png``;
  ``report.md`` (links them) and ``report.html`` (embeds them).
"""
import json
import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

import deepgrad as dg
from deepgrad import backend
from deepgrad.serialization import atomic_write

from . import seed_figure, verdicts
from .registry import NAMES, get
from .report import write_html, write_markdown


SEEDS = {"quick": 3, "full": 5}
"""Seeds per experiment by default: each claim's verdict comes from their intervals."""


def _one_thread():
    """Run on one BLAS and one OpenMP (oneDNN) thread. The lab's matrices are small: a
    second thread costs more in hand-over than it saves, and on a busy machine spinning
    threads made runs several times slower. One thread also keeps the numbers
    independent of the machine's core count, and lets the seeds run side by side."""
    return backend.blas_threads(1)


def _worker_init():
    # read by libgomp when oneDNN loads, on this worker's first convolution or product
    os.environ["OMP_NUM_THREADS"] = "1"


def _measure(name, quick, seed, out):
    """One seed of one experiment, in a worker process: (numbers, seconds)."""
    module = get(name)
    start = time.perf_counter()
    with _one_thread():
        numbers = module.run(quick=quick, seed=seed, out_dir=out)
    return numbers, time.perf_counter() - start


def _entry(name, runs, out):
    """The report's entry of one experiment from its seeds' runs [(seed, numbers,
    seconds)]: the verdict over seeds, the first seed's figure and numbers."""
    module = get(name)
    start = time.perf_counter()
    seed, numbers, seconds = runs[0]
    passed, explanation = module.verdict(numbers)
    claim, rows = verdicts.over_seeds([module.checks(n) for _, n, _ in runs])
    figures_dir = os.path.join(out, "figures")
    figure = os.path.join(figures_dir, f"{name}.png")
    module.figure(numbers, figure)
    spread = os.path.join(figures_dir, f"{name}-seeds.png")
    seed_figure.draw(rows, [s for s, _, _ in runs], module.TITLE, spread)
    rows = verdicts.jsonable(rows)
    probes = module.probes(numbers, figures_dir) if hasattr(module, "probes") else []
    run_seconds = sum(t for _, _, t in runs)
    return {"name": name, "title": module.TITLE, "claim": module.CLAIM,
            "criterion": module.CRITERION, "source": getattr(module, "SOURCE", "slides"),
            "verdict": claim, "passed": claim == verdicts.SUPPORTED, "checks": rows,
            "seeds": [s for s, _, _ in runs],
            "seed_verdicts": [module.verdict(n)[0] for _, n, _ in runs],
            "explanation": f"Seed {seed}: {explanation}",
            "first_seed_passed": bool(passed),
            "figure": os.path.relpath(figure, out),
            "seeds_figure": os.path.relpath(spread, out),
            "probes": [{"title": p["title"], "figure": os.path.relpath(p["path"], out)}
                       for p in probes],
            "seconds": run_seconds,
            "total_seconds": run_seconds + time.perf_counter() - start,
            "table": module.table(numbers) if hasattr(module, "table") else None,
            "numbers": numbers, "numbers_per_seed": [n for _, n, _ in runs[1:]]}


def _check_positive_int(what, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"deepgrad lab: {what} must be an integer >= {minimum}, got {value!r}")


def run_experiments(names=None, quick=True, seed=0, out="lab-report", log=print, seeds=None,
                    jobs=None):
    """Run ``names`` (all by default) in the course's order, each over ``seeds`` seeds
    (``seed``, ``seed + 1``, ...; default 3 in quick mode, 5 in full) in ``jobs`` worker
    processes (default: one per core); write the report in ``out``.

    Returns the report's data: ``{"settings": ..., "experiments": [entry, ...]}``.
    """
    names = list(NAMES) if not names else list(dict.fromkeys(names))
    for name in names:
        get(name)  # an unknown name fails before anything runs
    _check_positive_int("seed", seed, 0)
    seeds = SEEDS["quick" if quick else "full"] if seeds is None else seeds
    _check_positive_int("seeds", seeds, 1)
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    _check_positive_int("jobs", jobs, 1)
    os.makedirs(out, exist_ok=True)
    seed_list = [int(seed) + i for i in range(seeds)]
    tasks = [(name, s) for name in names for s in seed_list]
    runs, start = {name: {} for name in names}, time.perf_counter()
    context = multiprocessing.get_context("spawn")  # no OpenMP state inherited by a fork
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context,
                             initializer=_worker_init) as pool:
        futures = {pool.submit(_measure, name, quick, s, out): (name, s) for name, s in tasks}
        for done, future in enumerate(as_completed(futures), 1):
            name, s = futures[future]
            numbers, seconds = future.result()
            runs[name][s] = (s, numbers, seconds)
            if log:
                passed = get(name).verdict(numbers)[0]
                log(f"[{done}/{len(tasks)}] {name:<20} seed {s}: "
                    f"{'PASS' if passed else 'FAIL'} {seconds:6.1f}s")
    entries = []
    for name in names:
        entry = _entry(name, [runs[name][s] for s in seed_list], out)
        entries.append(entry)
        if log:
            log(f"{name:<20} {entry['verdict'].upper()} over {seeds} seed(s), "
                f"{entry['seconds']:.1f}s of runs")
    settings = {"mode": "quick" if quick else "full", "seed": int(seed), "seeds": seed_list,
                "jobs": jobs, "seconds": time.perf_counter() - start,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "deepgrad": dg.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "cpus": os.cpu_count()}
    data = {"settings": settings, "experiments": entries}
    atomic_write(os.path.join(out, "results.json"),
                 json.dumps(data, indent=1, allow_nan=False).encode())
    atomic_write(os.path.join(out, "report.md"), write_markdown(data).encode())
    atomic_write(os.path.join(out, "report.html"), write_html(data, out).encode())
    if log:
        counts = {w: sum(e["verdict"] == w for e in entries) for w in
                  (verdicts.SUPPORTED, verdicts.INCONCLUSIVE, verdicts.NOT_SUPPORTED)}
        log(f"{counts[verdicts.SUPPORTED]}/{len(entries)} claims supported, "
            f"{counts[verdicts.INCONCLUSIVE]} inconclusive, {counts[verdicts.NOT_SUPPORTED]} "
            f"not supported, in {settings['seconds']:.1f}s; wrote "
            f"{os.path.join(out, 'report.html')} and report.md")
    return data
