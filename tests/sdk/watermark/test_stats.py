"""
Exact p-values: the Gamma(n, 1) survival (``gumbel``) and the binomial upper tail (``green_list``)
agree with scipy from one token to a million, and stay finite in log space where the value underflows.
"""

from __future__ import annotations

import math

import pytest
from aigclabel.watermark import (
    binomial_tail,
    binomial_z,
    gamma_survival,
    log_binomial_tail,
    log_gamma_survival,
)
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

SHAPES = [1, 2, 3, 10, 35, 200, 1000, 10_000, 100_000, 1_000_000]


@pytest.mark.parametrize("n", SHAPES)
@pytest.mark.parametrize("z", [-8.0, -3.0, -1.0, 0.0, 0.5, 2.0, 5.0, 10.0, 30.0])
def test_gamma_survival_equals_scipy(n: int, z: float) -> None:
    """Q(n, x) equals scipy's gamma.sf at x = n + z sqrt(n) (relative 1e-9 where it is above 1e-300)."""
    x = max(n + z * math.sqrt(n), 1e-3)
    expected = float(stats.gamma.sf(x, n))
    if expected > 1e-300:
        assert expected == pytest.approx(gamma_survival(x, n), rel=1e-9)
    expected_log = float(stats.gamma.logsf(x, n))
    assert expected_log == pytest.approx(log_gamma_survival(x, n), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", SHAPES)
@pytest.mark.parametrize("q", [0.1, 0.25, 0.5])
@pytest.mark.parametrize("z", [-6.0, -1.0, 0.0, 1.0, 3.0, 6.0, 12.0, 40.0])
def test_binomial_tail_equals_scipy(n: int, q: float, z: float) -> None:
    """P(X >= k) equals scipy's binom.sf(k - 1) at k = nq + z sd (relative 1e-9 above 1e-300)."""
    k = min(n, max(0, round(n * q + z * math.sqrt(n * q * (1 - q)))))
    expected = float(stats.binom.sf(k - 1, n, q))
    if expected > 1e-300:
        assert expected == pytest.approx(binomial_tail(k, n, q), rel=1e-9)
    expected_log = float(stats.binom.logsf(k - 1, n, q))
    if math.isfinite(expected_log):
        assert expected_log == pytest.approx(log_binomial_tail(k, n, q), rel=1e-8, abs=1e-12)


@given(st.integers(min_value=1, max_value=5000), st.floats(min_value=0.0, max_value=20000.0))
def test_gamma_survival_is_a_probability_and_decreases(n: int, x: float) -> None:
    """Q(n, x) is in [0, 1] and does not increase with x."""
    p = gamma_survival(x, n)
    assert 0.0 <= p <= 1.0
    assert gamma_survival(x + 1.0, n) <= p


@given(st.integers(min_value=1, max_value=3000), st.data())
def test_binomial_tail_is_a_probability_and_decreases(n: int, data: st.DataObject) -> None:
    """P(X >= k) is in [0, 1] and does not increase with k."""
    k = data.draw(st.integers(min_value=0, max_value=n))
    p = binomial_tail(k, n, 0.25)
    assert 0.0 <= p <= 1.0
    assert binomial_tail(k + 1, n, 0.25) <= p


def test_degenerate_arguments_give_certain_answers() -> None:
    """No tokens or a zero score give p = 1; more green tokens than tokens give p = 0."""
    assert 1.0 == gamma_survival(0.0, 10)
    assert 1.0 == gamma_survival(5.0, 0)
    assert 1.0 == binomial_tail(0, 10, 0.25)
    assert 0.0 == binomial_tail(11, 10, 0.25)
    assert 0.0 == binomial_z(0, 0, 0.25)


def test_log_p_stays_finite_where_p_underflows() -> None:
    """A million watermarked tokens give p = 0.0 but a finite log p (what log10_p reports)."""
    assert 0.0 == gamma_survival(3_000_000.0, 1_000_000)
    # Q = Σ_{k < n} Poisson(x) pmf, between its largest term and that term over (1 - (n - 1) / x)
    log_last = float(stats.poisson.logpmf(999_999, 3_000_000.0))
    value = log_gamma_survival(3_000_000.0, 1_000_000)
    assert log_last - 1e-6 <= value <= log_last - math.log1p(-999_999 / 3_000_000) + 1e-6
    assert 0.0 == binomial_tail(900_000, 1_000_000, 0.25)
    assert math.isfinite(log_binomial_tail(900_000, 1_000_000, 0.25))


def test_z_score_of_a_green_count() -> None:
    """z = (k - nq) / sqrt(nq(1 - q))."""
    assert 3.0 == pytest.approx(binomial_z(50 + 3 * math.sqrt(37.5), 200, 0.25))
