"""Verdicts over seeds (lab/verdicts.py): intervals against an independent computation,
each verdict from its interval, contrary numbers giving the contrary verdict, and the
claim's verdict from its checks."""
import math

import numpy as np
import pytest

from deepgrad.lab import verdicts
from deepgrad.lab.verdicts import (Check, INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, interval,
                                   judge, over_seeds)

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11])
def test_interval_is_the_student_t_interval(n):
    values = np.random.default_rng(n).normal(3.0, 0.7, n)
    mean, low, high = interval(values)
    sem = values.std(ddof=1) / math.sqrt(n)
    lo, hi = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=sem)
    assert mean == pytest.approx(values.mean())
    if n - 1 in verdicts._T95:
        assert (low, high) == pytest.approx((lo, hi), rel=1e-3)
    else:  # df not tabulated: the next smaller df's quantile, a wider interval
        assert low <= lo and high >= hi


def test_log_scale_interval_is_that_of_the_geometric_mean():
    values = [0.01, 0.1, 1.0]
    mean, low, high = interval(values, scale="log")
    lmean, llow, lhigh = interval(np.log(values))
    assert mean == pytest.approx(0.1) and (low, high) == pytest.approx(
        (math.exp(llow), math.exp(lhigh)))
    assert interval([0.0, 1.0], scale="log")[1] < 0  # a zero: linear after all


def test_non_finite_values_and_every_run_take_the_range():
    assert interval([1.0, math.inf, 3.0]) == (math.inf, 1.0, math.inf)
    mean, low, high = interval([1.0, math.nan, 3.0])
    assert math.isnan(mean) and (low, high) == (1.0, 3.0)
    assert interval([0.1, 0.3, 0.2], over="every") == pytest.approx((0.2, 0.1, 0.3))
    assert interval([7.0]) == (7.0, 7.0, 7.0)


def _check(rule="<", bound=1.0, **kw):
    return Check("ratio", 0.0, rule, bound, **kw)


def test_each_verdict_follows_from_its_interval():
    below = [0.50, 0.52, 0.48, 0.51, 0.49]
    assert judge(_check(), below)[0] == SUPPORTED
    assert judge(_check(">"), below)[0] == NOT_SUPPORTED  # the contrary rule
    contrary = [1.5, 1.52, 1.48, 1.51, 1.49]  # contrary numbers, the same rule
    assert judge(_check(), contrary)[0] == NOT_SUPPORTED
    straddling = [0.6, 1.3, 0.8, 1.1, 0.9]  # mean 0.94 but the interval reaches 1.16
    word, mean, low, high = judge(_check(), straddling)
    assert word == INCONCLUSIVE and mean < 1.0 < high
    assert judge(_check(), [0.5, 0.5, math.inf])[0] == INCONCLUSIVE  # one seed never
    assert judge(_check(), [math.inf] * 3)[0] == NOT_SUPPORTED
    assert judge(_check(), [0.5, math.nan])[0] == INCONCLUSIVE  # no measurement fails
    assert judge(_check(over="every"), [0.2, 0.99])[0] == SUPPORTED
    assert judge(_check(over="every"), [0.2, 1.0])[0] == INCONCLUSIVE


def test_the_claim_needs_every_check():
    def seed(a, b):
        return [Check("a", a, "<", 1.0), Check("b", b, ">=", 10)]
    supported = [seed(0.5, 20), seed(0.6, 21), seed(0.55, 19)]
    assert over_seeds(supported)[0] == SUPPORTED
    some_open = [seed(0.5, 20), seed(0.6, 9), seed(0.55, 19)]
    claim, rows = over_seeds(some_open)
    assert claim == INCONCLUSIVE and [r["verdict"] for r in rows] == [SUPPORTED, INCONCLUSIVE]
    one_contrary = [seed(0.5, 2), seed(0.6, 3), seed(0.55, 2.5)]
    assert over_seeds(one_contrary)[0] == NOT_SUPPORTED
    with pytest.raises(ValueError, match="the seeds' checks differ"):
        over_seeds([seed(0.5, 20), [Check("a", 0.5, "<", 1.0)]])


def test_one_run_verdict_names_each_failing_check():
    passed, text = verdicts.verdict([Check("gap ratio", 0.9, "<=", 2 / 3),
                                     Check("count", 0, "<=", 0)], "Summary.")
    assert not passed
    assert text == "Summary. Failed: gap ratio is 0.9, the rule is <= 0.6667."
    assert verdicts.verdict([Check("x", None, "<", 1)], "S.")[1].endswith("x is n/a, the rule "
                                                                           "is < 1.")


def test_bad_checks_are_refused():
    with pytest.raises(ValueError, match="rule must be one of"):
        Check("x", 1.0, "=", 1.0)
    with pytest.raises(ValueError, match="scale must be"):
        Check("x", 1.0, "<", 1.0, scale="ln")


def test_rows_for_json_keep_the_text_and_drop_infinities():
    _, rows = over_seeds([[Check("steps", math.inf, "<", 5)], [Check("steps", 3, "<", 5)]])
    (row,) = verdicts.jsonable(rows)
    assert row["values"] == [None, 3.0] and row["high"] is None
    assert row["measured"] == "never [3, never]"


def test_a_published_value_reproduced_within_a_tolerance():
    check = Check("CNN test accuracy", 0.0, "~=", 0.94, tolerance=0.04)
    assert check.describe_rule() == "within 0.04 of 0.94"
    assert judge(check, [0.93, 0.935, 0.925])[0] == SUPPORTED
    assert judge(check, [0.80, 0.81, 0.79])[0] == NOT_SUPPORTED  # below the band
    assert judge(check, [0.99, 0.995, 0.999])[0] == NOT_SUPPORTED  # above it
    assert judge(check, [0.85, 0.95, 0.91])[0] == INCONCLUSIVE  # reaches out of it
    assert judge(check, [0.5, 1.4])[0] == INCONCLUSIVE  # covers it: not outside
