"""The statistics of A/B variants and holdouts (scipy).

Variants: success rate = accepted ÷ invited (not the holdout), compared two-sided at α = 0.05 with
Fisher's exact test when any expected count of the 2 × 2 table is below 5, else the two-proportion z-test
(pooled). Holdout: uplift = attendance rate of the called minus that of the holdout, with the 95 % Wald
interval of a difference of two proportions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Comparison:
    rate_a: float | None
    rate_b: float | None
    difference: float | None  # rate_b - rate_a
    p_value: float | None
    test: str  # "fisher", "z" or "" when there is nothing to compare
    significant: bool


def compare_rates(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Comparison:
    """Two-sided comparison of successes_a/n_a with successes_b/n_b."""
    if n_a == 0 or n_b == 0:
        rate_a = successes_a / n_a if n_a else None
        rate_b = successes_b / n_b if n_b else None
        return Comparison(rate_a, rate_b, None, None, "", False)
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    table = [[successes_a, n_a - successes_a], [successes_b, n_b - successes_b]]
    total = n_a + n_b
    successes = successes_a + successes_b
    expected = [n * k / total for n in (n_a, n_b) for k in (successes, total - successes)]
    if min(expected) < 5:
        p_value = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
        test = "fisher"
    else:
        pooled = successes / total
        se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        p_value = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(rate_b - rate_a) / se))
        test = "z"
    return Comparison(rate_a, rate_b, rate_b - rate_a, p_value, test, p_value < ALPHA)


@dataclass(frozen=True)
class Uplift:
    called_rate: float | None
    holdout_rate: float | None
    uplift: float | None
    low: float | None
    high: float | None


def uplift(attended_called: int, n_called: int, attended_holdout: int, n_holdout: int) -> Uplift:
    """Attendance of the called minus attendance of the holdout, with its 95 % confidence interval."""
    if n_called == 0 or n_holdout == 0:
        return Uplift(
            attended_called / n_called if n_called else None,
            attended_holdout / n_holdout if n_holdout else None,
            None,
            None,
            None,
        )
    p1, p0 = attended_called / n_called, attended_holdout / n_holdout
    se = math.sqrt(p1 * (1 - p1) / n_called + p0 * (1 - p0) / n_holdout)
    diff = p1 - p0
    return Uplift(p1, p0, diff, diff - Z_95 * se, diff + Z_95 * se)
