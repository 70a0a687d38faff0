"""The lab: every claim of the course, re-run as a seeded experiment on deepgrad itself.

``deepgrad lab [NAME...] [--quick] [--seeds K] [--jobs J] [--out DIR]`` runs the experiments and writes
``DIR/report.html`` (figures embedded), ``DIR/report.md`` (figures in ``DIR/figures``)
and ``DIR/results.json`` (every number).

Each experiment is a module with

* ``NAME`` (the command-line name), ``TITLE``, ``CLAIM`` (the slide's words) and
  ``CRITERION`` (the rule, in words, printed in the report);
* ``run(quick, seed, out_dir) -> dict``: the measurements, JSON-able. Keys ending in
  ``seconds`` hold wall-clock times; every other number is the same for the same seed;
* ``checks(numbers) -> [verdicts.Check]``: the rule as measured values against bounds;
* ``verdict(numbers) -> (passed, explanation)``: one run's verdict (every check passes),
  a pure function of those numbers;
* ``figure(numbers, path)``: draws the evidence to a PNG (axis labels, titles and
  legends are checked when it is saved);
* optionally ``table(numbers)``: rows of strings (the first the header) for the report.

Each experiment runs over several seeds, in worker processes on one thread each (see
``runner``), so the numbers do not depend on the number of cores; the claim's verdict
comes from its checks' 95% intervals over the seeds (``verdicts``): supported, not
supported, or inconclusive.

``NAMES`` lists the experiments in the order of the course; ``get(name)`` returns
one.
"""
from .registry import NAMES, get
from .runner import run_experiments

__all__ = ["NAMES", "get", "run_experiments"]
