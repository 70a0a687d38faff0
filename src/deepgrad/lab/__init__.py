"""The lab: every claim of the course, re-run as a seeded experiment on deepgrad itself.

``deepgrad lab [NAME...] [--quick] [--out DIR]`` runs the experiments and writes
``DIR/report.html`` (figures embedded), ``DIR/report.md`` (figures in ``DIR/figures``)
and ``DIR/results.json`` (every number).

Each experiment is a module with

* ``NAME`` (the command-line name), ``TITLE``, ``CLAIM`` (the slide's words) and
  ``CRITERION`` (the rule, in words, printed in the report);
* ``run(quick, seed, out_dir) -> dict``: the measurements, JSON-able. Keys ending in
  ``seconds`` hold wall-clock times; every other number is the same for the same seed;
* ``verdict(numbers) -> (passed, explanation)``: a pure function of those numbers;
* ``figure(numbers, path)``: draws the evidence to a PNG (axis labels, titles and
  legends are checked when it is saved);
* optionally ``table(numbers)``: rows of strings (the first the header) for the report.

Experiments run on one BLAS thread (see ``runner``), so the numbers do not depend on the
number of cores.

``NAMES`` lists the experiments in the order of the course; ``get(name)`` returns
one.
"""
from .registry import NAMES, get
from .runner import run_experiments

__all__ = ["NAMES", "get", "run_experiments"]
