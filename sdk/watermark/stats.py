"""
Exact tail probabilities of the detector's scores, with numpy and ``math`` only.

- ``gumbel``: each scored token contributes ``-log(1 - r)``, an Exp(1) variable when the text is
  not watermarked under the key, so the sum of ``n`` of them is Gamma(n, 1) and the p-value is
  the survival function :func:`gamma_survival` ``Q(n, x) = exp(-x) Σ_{k<n} x^k / k!`` (the
  closed form for an integer shape, i.e. ``P(Poisson(x) <= n - 1)``).
- ``green_list``: each scored token is green with probability γ, so the green count is
  Binomial(n, γ) and the p-value is the upper tail :func:`binomial_tail` ``P(X >= k)``.

Both sum only the terms that matter: starting at the term next to the cut, where the terms
decrease monotonically, and stopping 12 standard deviations (plus 50 terms) further, where a term is
below ``e**-72`` of the first. Terms are built from ratios of neighbours in log space, so values are
accurate to a few ulps from ``n = 1`` to ``n = 10**6`` and beyond, and underflow only below
``1e-308`` (the log variants return the logarithm instead).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["binomial_tail", "binomial_z", "gamma_survival", "log_binomial_tail", "log_gamma_survival"]


def _window(sd: float) -> int:
    return math.ceil(12.0 * sd + 50.0)


def _log1p_exp_sum(rel: np.ndarray) -> float:
    # log(1 + Σ exp(rel)) for rel <= 0
    return math.log1p(float(np.exp(rel).sum())) if rel.size else 0.0


def log_gamma_survival(x: float, n: int) -> float:
    """
    ``log Q(n, x)``: the log of the survival function of Gamma(n, 1) at *x*, for an integer shape ``n``.

    Returns 0.0 (probability 1) for ``n <= 0`` or ``x <= 0``.
    """
    if n <= 0 or not x > 0:
        return 0.0
    if math.isinf(x):
        return -math.inf
    log_x = math.log(x)
    top = n - 1  # Q(n, x) = P(Poisson(x) <= top)
    width = _window(math.sqrt(x))
    if top <= math.floor(x):
        # terms decrease from k = top downwards
        log_first = -x + top * log_x - math.lgamma(top + 1)
        count = min(width, top)
        ks = np.arange(top, top - count, -1, dtype=np.float64)
        rel = np.cumsum(np.log(ks) - log_x)
        return min(0.0, log_first + _log1p_exp_sum(rel))
    # 1 - P(Poisson(x) >= top + 1); terms decrease from k = top + 1 upwards
    first = top + 1
    log_first = -x + first * log_x - math.lgamma(first + 1)
    ks = np.arange(first + 1, first + 1 + width, dtype=np.float64)
    rel = np.cumsum(log_x - np.log(ks))
    upper = math.exp(log_first + _log1p_exp_sum(rel))
    return math.log1p(-min(upper, 1.0)) if upper < 1.0 else -math.inf


def gamma_survival(x: float, n: int) -> float:
    """
    ``Q(n, x) = P(Gamma(n, 1) > x)`` for an integer shape ``n``: the ``gumbel`` p-value of score *x*
    over n tokens.
    """
    return math.exp(log_gamma_survival(x, n))


def log_binomial_tail(k: int, n: int, q: float) -> float:
    """
    ``log P(X >= k)`` for ``X ~ Binomial(n, q)``, ``0 < q < 1``.
    """
    if k <= 0:
        return 0.0
    if k > n:
        return -math.inf
    log_q, log_r = math.log(q), math.log1p(-q)
    width = _window(math.sqrt(n * q * (1.0 - q)))

    def log_pmf(i: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_q + (n - i) * log_r

    if k >= math.floor((n + 1) * q):
        # terms decrease from i = k upwards: pmf(i + 1) / pmf(i) = (n - i) q / ((i + 1)(1 - q))
        count = min(width, n - k)
        i = np.arange(k, k + count, dtype=np.float64)
        rel = np.cumsum(np.log(n - i) - np.log(i + 1.0) + (log_q - log_r))
        return min(0.0, log_pmf(k) + _log1p_exp_sum(rel))
    # 1 - P(X <= k - 1); terms decrease from i = k - 1 downwards
    top = k - 1
    count = min(width, top)
    i = np.arange(top, top - count, -1, dtype=np.float64)
    rel = np.cumsum(np.log(i) - np.log(n - i + 1.0) + (log_r - log_q))
    lower = math.exp(log_pmf(top) + _log1p_exp_sum(rel))
    return math.log1p(-min(lower, 1.0)) if lower < 1.0 else -math.inf


def binomial_tail(k: int, n: int, q: float) -> float:
    """
    ``P(X >= k)`` for ``X ~ Binomial(n, q)``: the ``green_list`` p-value of k green tokens out of n.
    """
    return math.exp(log_binomial_tail(k, n, q))


def binomial_z(k: int, n: int, q: float) -> float:
    """
    The z-score ``(k - n q) / sqrt(n q (1 - q))`` of k green tokens out of n (0.0 for ``n == 0``).
    """
    if n <= 0:
        return 0.0
    return (k - n * q) / math.sqrt(n * q * (1.0 - q))
