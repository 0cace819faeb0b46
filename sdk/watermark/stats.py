"""
Exact tail probabilities of the detector's scores, with numpy and ``math`` only.

- ``gumbel``: each scored token contributes ``-log(1 - r)``, an Exp(1) variable when the text is
  not watermarked under the key, so the sum of ``n`` of them is Gamma(n, 1) and the p-value is
  the survival function :func:`gamma_survival` ``Q(n, x) = exp(-x) Σ_{k<n} x^k / k!`` (the
  closed form for an integer shape, i.e. ``P(Poisson(x) <= n - 1)``).
- ``green_list``: each scored token is green with probability γ, so the green count is
  Binomial(n, γ) and the p-value is the upper tail :func:`binomial_tail` ``P(X >= k)``.

Single terms are Loader's saddle-point forms (C. Loader, "Fast and accurate computation of binomial
probabilities", 2000), accurate to a few ulps where ``lgamma`` differences lose 8 digits at
``n = 10**6``. Both sum only the terms that matter: starting at the term next to the cut, where the terms
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


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _stirlerr(n: int) -> float:
    # log(n!) - log(sqrt(2 pi n) (n / e)**n), Loader (2000), "Fast and accurate computation of
    # binomial probabilities": direct for small n, its asymptotic series beyond 15.
    if n <= 15:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - _HALF_LOG_2PI
    nn = float(n) * n
    if n > 500:
        return (1 / 12 - (1 / 360) / nn) / n
    if n > 80:
        return (1 / 12 - (1 / 360 - (1 / 1260) / nn) / nn) / n
    if n > 35:
        return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680) / nn) / nn) / nn) / n
    return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - (1 / 1188) / nn) / nn) / nn) / nn) / n


def _bd0(x: float, m: float) -> float:
    # x log(x / m) + m - x without cancellation (Loader's deviance term)
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        total = (x - m) * v
        term = 2.0 * x * v
        for j in range(1, 1000):
            term *= v * v
            nxt = total + term / (2 * j + 1)
            if nxt == total:
                return nxt
            total = nxt
        return total  # pragma: no cover - the series converges in a few dozen steps
    return x * math.log(x / m) + m - x


def _log_poisson_pmf(k: int, lam: float) -> float:
    if k == 0:
        return -lam
    return -_stirlerr(k) - _bd0(k, lam) - _HALF_LOG_2PI - 0.5 * math.log(k)


def _log_binomial_pmf(k: int, n: int, q: float) -> float:
    if k == 0:
        return n * math.log1p(-q)
    if k == n:
        return n * math.log(q)
    r = 1.0 - q
    lc = _stirlerr(n) - _stirlerr(k) - _stirlerr(n - k) - _bd0(k, n * q) - _bd0(n - k, n * r)
    return lc + 0.5 * math.log(n / (2.0 * math.pi * k * (n - k)))


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
        log_first = _log_poisson_pmf(top, x)
        count = min(width, top)
        ks = np.arange(top, top - count, -1, dtype=np.float64)
        rel = np.cumsum(np.log(ks) - log_x)
        return min(0.0, log_first + _log1p_exp_sum(rel))
    # 1 - P(Poisson(x) >= top + 1); terms decrease from k = top + 1 upwards
    first = top + 1
    log_first = _log_poisson_pmf(first, x)
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

    if k >= math.floor((n + 1) * q):
        # terms decrease from i = k upwards: pmf(i + 1) / pmf(i) = (n - i) q / ((i + 1)(1 - q))
        count = min(width, n - k)
        i = np.arange(k, k + count, dtype=np.float64)
        rel = np.cumsum(np.log(n - i) - np.log(i + 1.0) + (log_q - log_r))
        return min(0.0, _log_binomial_pmf(k, n, q) + _log1p_exp_sum(rel))
    # 1 - P(X <= k - 1); terms decrease from i = k - 1 downwards
    top = k - 1
    count = min(width, top)
    i = np.arange(top, top - count, -1, dtype=np.float64)
    rel = np.cumsum(np.log(i) - np.log(n - i + 1.0) + (log_r - log_q))
    lower = math.exp(_log_binomial_pmf(top, n, q) + _log1p_exp_sum(rel))
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
