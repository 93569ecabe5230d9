"""The A/B comparison and the holdout uplift (campaigns.stats), against figures worked out by hand."""

from datetime import date
from math import comb, erfc, sqrt

import pytest

from campaigns import selectors, services, stats
from campaigns.models import Invitation
from tests.campaigns.conftest import generate

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def fisher_two_sided_by_hand(a: int, n_a: int, b: int, n_b: int) -> float:
    """Sum of the hypergeometric probabilities of every table with the same margins that is no more likely
    than the one observed."""
    successes, total = a + b, n_a + n_b

    def probability(x):  # x successes in A
        return comb(successes, x) * comb(total - successes, n_a - x) / comb(total, n_a)

    observed = probability(a)
    possible = range(max(0, n_a - (total - successes)), min(n_a, successes) + 1)
    return sum(p for p in map(probability, possible) if p <= observed * (1 + 1e-7))


def test_a_small_table_uses_fishers_exact_test():
    # 3 of 10 against 8 of 10: expected counts 5.5 and 4.5, one below 5
    result = stats.compare_rates(3, 10, 8, 10)

    assert result.test == "fisher"
    assert result.p_value == pytest.approx(fisher_two_sided_by_hand(3, 10, 8, 10), rel=1e-12)
    assert result.p_value == pytest.approx(0.0697785, abs=1e-7)
    assert (result.rate_a, result.rate_b, result.difference) == (0.3, 0.8, pytest.approx(0.5))
    assert not result.significant  # 0.07 ≥ 0.05


def test_a_very_uneven_small_table_is_significant_by_fishers_test():
    result = stats.compare_rates(1, 12, 9, 11)

    assert result.test == "fisher"
    assert result.p_value == pytest.approx(fisher_two_sided_by_hand(1, 12, 9, 11), rel=1e-12)
    assert result.p_value < 0.05 and result.significant


def test_a_large_table_uses_the_pooled_two_proportion_z_test():
    # 120 of 400 against 150 of 400
    result = stats.compare_rates(120, 400, 150, 400)

    pooled = 270 / 800
    z = (150 / 400 - 120 / 400) / sqrt(pooled * (1 - pooled) * (1 / 400 + 1 / 400))
    assert result.test == "z"
    assert result.p_value == pytest.approx(erfc(z / sqrt(2)), rel=1e-9)
    assert result.p_value == pytest.approx(0.0248911, abs=1e-7)
    assert result.difference == pytest.approx(0.075) and result.significant


def test_the_z_test_is_symmetric_and_takes_over_when_every_expected_count_is_at_least_five():
    # 10 of 20 successes over two tens: every expected count is exactly 5
    assert stats.compare_rates(3, 10, 7, 10).test == "z"
    assert stats.compare_rates(3, 10, 6, 10).test == "fisher"  # 9 successes: expected 4.5
    forward, backward = stats.compare_rates(120, 400, 150, 400), stats.compare_rates(150, 400, 120, 400)
    assert forward.p_value == pytest.approx(backward.p_value) and backward.difference == pytest.approx(-0.075)


def test_nothing_is_compared_when_a_variant_has_nobody():
    result = stats.compare_rates(0, 0, 3, 10)

    assert result == stats.Comparison(None, 0.3, None, None, "", False)
    assert stats.compare_rates(0, 0, 0, 0) == stats.Comparison(None, None, None, None, "", False)


@pytest.mark.parametrize(("a", "b"), [(10, 10), (0, 0)], ids=["all successes", "no success"])
def test_equal_all_or_nothing_variants_do_not_differ(a, b):
    result = stats.compare_rates(a, 10, b, 10)

    assert (result.difference, result.p_value, result.significant) == (0.0, 1.0, False)


def test_a_large_all_success_table_is_not_significant_either():
    result = stats.compare_rates(400, 400, 400, 400)
    assert (result.test, result.p_value, result.significant) == ("fisher", 1.0, False)


def test_the_uplift_and_its_95_percent_wald_interval():
    # The called came 60 of 200, the holdout 10 of 50
    result = stats.uplift(60, 200, 10, 50)

    se = sqrt(0.3 * 0.7 / 200 + 0.2 * 0.8 / 50)
    assert (result.called_rate, result.holdout_rate) == (0.3, 0.2)
    assert result.uplift == pytest.approx(0.1)
    assert result.low == pytest.approx(0.1 - Z_95 * se, rel=1e-9)
    assert result.high == pytest.approx(0.1 + Z_95 * se, rel=1e-9)
    assert (result.low, result.high) == (pytest.approx(-0.0278, abs=1e-4), pytest.approx(0.2278, abs=1e-4))
    assert pytest.approx(Z_95, rel=1e-12) == stats.Z_95


def test_no_uplift_without_a_holdout_or_without_the_called():
    assert stats.uplift(3, 10, 0, 0) == stats.Uplift(0.3, None, None, None, None)
    assert stats.uplift(0, 0, 1, 4) == stats.Uplift(None, 0.25, None, None, None)


def test_everyone_attending_on_both_sides_gives_a_zero_width_interval():
    assert stats.uplift(20, 20, 5, 5) == stats.Uplift(1.0, 1.0, 0.0, 0.0, 0.0)


def test_the_variant_report_compares_the_accepted_of_each_variant(campaign, person, make_group, agent, frozen):
    # Given an A/B group of 8 called customers, 1 of the 4 A and 3 of the 4 B accepting
    for _ in range(8):
        person()
    group = make_group({}, ab_test=True, script="A", script_b="B")
    generate(campaign, [agent])
    accepted = {"A": 1, "B": 3}
    for inv in Invitation.objects.filter(campaign=campaign).order_by("id"):
        if accepted[inv.variant]:
            accepted[inv.variant] -= 1
            services.call_record(invitation=inv, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))

    (row,) = selectors.variant_results(campaign=campaign)

    assert row["group"] == group
    assert (row["a"]["invited"], row["a"]["accepted"], row["b"]["invited"], row["b"]["accepted"]) == (4, 1, 4, 3)
    assert row["comparison"].test == "fisher"
    assert row["comparison"].p_value == pytest.approx(fisher_two_sided_by_hand(1, 4, 3, 4), rel=1e-12)
