"""Verdicts from measurements: one run's, and several seeds' with 95% intervals.

An experiment states its rule as checks (``checks(numbers) -> [Check]``): a measured
value, a comparison and a bound ("the sigmoid net's first/last gradient ratio < 1e-3").
One run supports the claim when every check passes. Over several seeds each check's
values give a mean and a 95% confidence interval for it (Student's t, n - 1 degrees of
freedom); the check is

* **supported** when the whole interval passes the rule,
* **not supported** when the whole interval fails it,
* **inconclusive** when the interval straddles the bound (more seeds may decide it).

A check of a ratio (``scale="log"``) takes the interval of the geometric mean (of the
logarithms, then back), as ratios spread multiplicatively; a check that must hold on
every run, not on average (``over="every"``: a bound no run may cross, a count of failed
runs) takes the range of the seeds' values instead of an interval.

The claim is supported when every check is, not supported when any check is not, and
inconclusive otherwise. A non-finite value (a run that never reached a target, a
diverged one) has no mean: the interval is then the range of the seeds' values, and a
NaN (no measurement) counts as failing the rule.
"""
import math
from dataclasses import dataclass

import numpy as np

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"

_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}
"""Student's t quantile t(0.975, df): the half-width of a 95% interval in standard
errors (for df not listed, the next smaller df's, which is wider: conservative)."""

_RULES = {"<": lambda v, b, t: v < b, "<=": lambda v, b, t: v <= b,
          ">": lambda v, b, t: v > b, ">=": lambda v, b, t: v >= b,
          "~=": lambda v, b, t: abs(v - b) <= t}


@dataclass
class Check:
    """``value rule bound``, e.g. ``Check("steps with momentum / without", 0.3, "<=",
    0.5)``; the rule ``"~="`` means within ``tolerance`` of the bound (a published value,
    reproduced). ``published`` is the paper's value, as text for the report."""

    name: str
    value: float
    rule: str
    bound: float
    published: object = None
    scale: str = "linear"
    over: str = "mean"
    tolerance: float = 0.0

    def __post_init__(self):
        if self.rule not in _RULES:
            raise ValueError(f"Check {self.name!r}: rule must be one of {sorted(_RULES)}, "
                             f"got {self.rule!r}")
        if self.scale not in ("linear", "log") or self.over not in ("mean", "every"):
            raise ValueError(f"Check {self.name!r}: scale must be 'linear' or 'log' and "
                             f"over 'mean' or 'every', got {self.scale!r}, {self.over!r}")
        self.value = math.nan if self.value is None else float(self.value)

    def passes(self, value=None):
        value = self.value if value is None else value
        return not math.isnan(value) and _RULES[self.rule](value, self.bound, self.tolerance)

    def describe_rule(self):
        if self.rule == "~=":
            return f"within {_fmt(self.tolerance)} of {_fmt(self.bound)}"
        return f"{self.rule} {_fmt(self.bound)}"


def number(value, missing=math.inf):
    """A measurement as a float: ``missing`` where it is None (a target never reached)."""
    return missing if value is None else float(value)


def ratio(a, b):
    """a / b for measurements that may be None (never reached: infinite) or zero."""
    a, b = number(a), number(b)
    if math.isinf(a) and math.isinf(b):
        return math.nan
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def verdict(checks, summary):
    """One run's (passed, explanation): the summary, then each failing check."""
    failed = [c for c in checks if not c.passes()]
    text = summary + "".join(f" Failed: {c.name} is {_fmt(c.value)}, the rule is "
                             f"{c.describe_rule()}." for c in failed)
    return not failed, text


def interval(values, scale="linear", over="mean"):
    """(mean, low, high) of ``values``: the mean and its 95% t interval (``scale="log"``:
    the geometric mean and its interval, where every value is positive); for a single
    value, non-finite values or ``over="every"``, their range (mean NaN where any is
    NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        raise ValueError("interval: no values")
    finite = values[np.isfinite(values)]
    if scale == "log" and len(finite) == len(values) > 1 and (values > 0).all():
        mean, low, high = interval(np.log(values))
        return math.exp(mean), math.exp(low), math.exp(high)
    if len(finite) < len(values) or len(values) == 1 or over == "every":
        mean = float(values.mean()) if not np.isnan(values).any() else math.nan
        known = values[~np.isnan(values)]
        if len(known) == 0:
            return math.nan, math.nan, math.nan
        return mean, float(known.min()), float(known.max())
    mean = float(values.mean())
    df = len(values) - 1
    t = _T95[max(k for k in _T95 if k <= df)]
    half = t * float(values.std(ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def judge(check, values):
    """A check's verdict over seeds: (verdict, mean, low, high)."""
    mean, low, high = interval(values, check.scale, check.over)
    has_nan = any(math.isnan(float(v)) for v in values)
    ends = [check.passes(low), check.passes(high)]
    if all(ends) and not has_nan:
        word = SUPPORTED
    elif not any(ends) and not (check.rule == "~=" and low < check.bound < high):
        word = NOT_SUPPORTED  # (an interval that covers the band is not outside it)
    else:
        word = INCONCLUSIVE
    return word, mean, low, high


def over_seeds(checks_per_seed):
    """The claim's verdict from each seed's checks (the same checks, in the same order):
    (verdict, rows), a row per check: name, rule, bound, values, mean, low, high,
    verdict, published."""
    first = checks_per_seed[0]
    for checks in checks_per_seed[1:]:
        if [c.name for c in checks] != [c.name for c in first]:
            raise ValueError("over_seeds: the seeds' checks differ: "
                             f"{[c.name for c in first]} vs {[c.name for c in checks]}")
    rows = []
    for i, check in enumerate(first):
        values = [checks[i].value for checks in checks_per_seed]
        word, mean, low, high = judge(check, values)
        rows.append({"name": check.name, "rule": check.describe_rule(), "bound": check.bound,
                     "values": values, "mean": mean, "low": low, "high": high,
                     "verdict": word, "published": check.published})
    words = {r["verdict"] for r in rows}
    if NOT_SUPPORTED in words:
        claim = NOT_SUPPORTED
    elif INCONCLUSIVE in words:
        claim = INCONCLUSIVE
    else:
        claim = SUPPORTED
    return claim, rows


def _fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "never" if x > 0 else "-inf"
    return f"{x:.4g}"


def describe(row):
    """``mean [low, high]`` of a row of :func:`over_seeds`, for the report."""
    if len(row["values"]) == 1:
        return _fmt(row["mean"])
    return f"{_fmt(row['mean'])} [{_fmt(row['low'])}, {_fmt(row['high'])}]"


def jsonable(rows):
    """Rows of :func:`over_seeds` for results.json: with their ``measured`` text, and
    None for the non-finite numbers JSON cannot hold (the text keeps "never")."""
    def clean(x):
        return x if x is None or not isinstance(x, float) or math.isfinite(x) else None
    return [{**row, "measured": describe(row), "values": [clean(v) for v in row["values"]],
             "mean": clean(row["mean"]), "low": clean(row["low"]), "high": clean(row["high"]),
             "bound": clean(float(row["bound"]))} for row in rows]
