"""The bounded Levenberg–Marquardt search of the calibration (:mod:`shopgym.calibration.search`) on functions
whose minimum is known: it finds it, and it stops where its steps would only repeat."""

from __future__ import annotations

import math
from collections.abc import Callable

from shopgym.calibration.search import Knob, Search, identity

KNOBS = (Knob("a", identity, identity, -5.0, 5.0), Knob("b", identity, identity, -5.0, 5.0))


def search_on(gaps_of: Callable[[float, float], tuple[float, float]]) -> tuple[Search, list[tuple[float, float]]]:
    """A search whose two statistics are ``gaps_of(a, b)`` against real values of 1 (relative scale), and the
    points it simulated."""
    calls: list[tuple[float, float]] = []

    def simulate(values: dict[str, float]) -> dict[str, float]:
        calls.append((values["a"], values["b"]))
        first, second = gaps_of(values["a"], values["b"])
        return {"x": 1.0 + first, "y": 1.0 + second}

    return Search(KNOBS, {"x": "relative", "y": "relative"}, {"x": 1.0, "y": 1.0}, simulate), calls


def test_the_search_finds_the_minimum_of_a_smooth_map() -> None:
    search, _ = search_on(lambda a, b: (a - 0.7 + 0.3 * b, math.tanh(b + 1.2)))
    search.run({"a": 0.0, "b": 0.0}, 12, lambda _: None)
    distance, values, _ = search.best
    assert distance < 1e-6
    assert math.isclose(values["b"], -1.2, abs_tol=1e-5) and math.isclose(values["a"], 1.06, abs_tol=1e-5)


def test_a_search_that_cannot_move_stops_instead_of_repeating_its_simulations() -> None:
    # |a| has its minimum at 0, where forward differences see a slope of 1 and no step lowers the distance
    search, calls = search_on(lambda a, b: (abs(a), abs(b)))
    search.run({"a": 0.3, "b": -0.2}, 50, lambda _: None)
    assert search.best[0] < 1e-12
    # the start, a Jacobian (2), one step to the minimum, two failed steps, a Jacobian there (2), two failed steps:
    # measured again at the same point, the Jacobian and its steps would be the same simulations
    assert len(calls) == len(search.path) == 10
