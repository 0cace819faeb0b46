"""
Linear time of the canonical form on long runs around a single number: 8× the input costs < 20×
the time (quadratic would be 64×), with the C extension and without it.

A number makes the spaces and operators next to it count, so a long run of them after one digit
is scanned by the number rules; no rule may rescan such a run from each of its positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from aigclabel import canonical
from aigclabel.canonical import canonical_text

from tests.growth import assert_linear

RUNS: list[Callable[[int], str]] = [
    lambda n: "1" + " " * n + "x",  # spaces after a number, no operator after them
    lambda n: "中1" + "\u3000" * n + "字",
    lambda n: "x" + " " * n + "/ 1",  # spaces before an operator
    lambda n: "1" + "<" * n + "x",
    lambda n: "x" + "<" * n + "1",
    lambda n: "1" + "!<" * (n // 2),
    lambda n: "1" + " %" * (n // 2),
    lambda n: ("1" + " " * 50 + "/") * (n // 52),
    lambda n: "2.5 " * (n // 4),
    lambda n: "文字，" * (n // 3) + "1" + " " * n,
]


@pytest.fixture(params=["c", "python"])
def speedups(request: pytest.FixtureRequest) -> Iterator[None]:
    """
    Each test with the C extension (where built) and with the pure-Python code.
    """
    saved = canonical.SPEEDUPS
    if request.param == "c" and saved is None:
        pytest.skip("the C extension is not built or switched off")
    if request.param == "python":
        canonical.SPEEDUPS = None
    try:
        yield
    finally:
        canonical.SPEEDUPS = saved


@pytest.mark.usefixtures("speedups")
@pytest.mark.parametrize("make", RUNS)
@pytest.mark.parametrize("profile", ["plain", "markup"])
def test_runs_around_a_number_are_linear(make: Callable[[int], str], profile: canonical.Profile) -> None:
    assert_linear(lambda s: canonical_text(s, profile=profile), make, base=4096)
