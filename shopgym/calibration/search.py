"""A bounded Levenberg–Marquardt search on simulated statistics: the search of
:mod:`shopgym.calibration.store_fit`, which says how it steps.

A :class:`Knob` maps a fitted parameter to a search coordinate where a step of 0.1 is small; :class:`Search` moves
the knobs until the simulated statistics meet the real ones, keeping every simulation on its path and the closest
one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from shopgym.params import ParameterError

__all__ = ["Knob", "Search", "days_knob", "identity", "logit", "sigmoid", "statistic_gap"]


def logit(p: float) -> float:
    """log(p / (1 − p)): a share's search coordinate."""
    return math.log(p / (1.0 - p))


def sigmoid(z: float) -> float:
    """The share at search coordinate z (the inverse of :func:`logit`)."""
    return 1.0 / (1.0 + math.exp(-z))


def identity(z: float) -> float:
    """A parameter that is its own search coordinate."""
    return z


@dataclass(frozen=True)
class Knob:
    """One fitted parameter: its name, the map between its value and the search coordinate z (where a step of
    0.1 is small), and the range of z."""

    name: str
    value: Callable[[float], float]
    coordinate: Callable[[float], float]
    low: float
    high: float


def days_knob(name: str) -> Knob:
    """A mean length in days, 1 to 365, searched as z = log(days − 1)."""
    return Knob(name, lambda z: 1.0 + math.exp(z), lambda v: math.log(v - 1.0), -5.0, math.log(364.0))


#: On the ``absolute`` scale, the difference that counts as a gap of 1: a regression coefficient's fidelity tolerance
#: (0.5) then weighs as a share's (10 %).
ABSOLUTE_UNIT = 5.0


def statistic_gap(simulated: float, real: float, scale: str) -> float:
    """The gap of a simulated statistic from the real one on ``scale``: ``log`` (log of the ratio), ``relative``
    (the difference as a share of the real value) or ``absolute`` (the difference in :data:`ABSOLUTE_UNIT`, for a
    coefficient whose real value may be about 0)."""
    if not np.isfinite(simulated):
        return 10.0  # the simulated log does not define it (no discounted line, nothing to regress): far off
    if scale == "log":
        return math.log(max(simulated, 1e-9) / real)
    if scale == "absolute":
        return (simulated - real) / ABSOLUTE_UNIT
    return (simulated - real) / (abs(real) or 1.0)  # relative


class Search:
    """Bounded Levenberg–Marquardt on the gaps of ``targets`` over ``knobs`` (how it steps: the docstring of
    :mod:`shopgym.calibration.store_fit`), keeping the path and the closest point. ``simulate`` maps the knobs'
    values to the simulated statistics, the same ones every time (common random numbers). Where both steps after a
    Jacobian measured at the current point fail, the search stops: measured again there, the Jacobian and its two
    steps would be the same simulations."""

    def __init__(
        self,
        knobs: tuple[Knob, ...],
        targets: dict[str, str],
        real: dict[str, float],
        simulate: Callable[[dict[str, float]], dict[str, float]],
    ) -> None:
        missing = [name for name in targets if not np.isfinite(real[name])]
        if missing:
            raise ParameterError(f"the real log does not define {missing[0]!r}: too small to calibrate to")
        nonpositive = [name for name, scale in targets.items() if scale == "log" and real[name] <= 0]
        if nonpositive:
            raise ParameterError(f"the real log's {nonpositive[0]!r} is {real[nonpositive[0]]}: need > 0 to match")
        self.knobs, self.targets, self.real, self.simulate = knobs, targets, real, simulate
        self.path: list[dict[str, float]] = []
        self.best: tuple[float, dict[str, float], dict[str, float]] = (math.inf, {}, {})

    def gaps(self, z: np.ndarray) -> np.ndarray:
        values = {knob.name: knob.value(float(v)) for knob, v in zip(self.knobs, z, strict=True)}
        simulated = self.simulate(values)
        gap = np.array([statistic_gap(simulated[name], self.real[name], scale) for name, scale in self.targets.items()])
        distance = float(np.sqrt(np.mean(gap**2)))
        self.path.append({**{k: round(v, 6) for k, v in values.items()}, "distance": round(distance, 6)})
        if distance < self.best[0]:
            self.best = (distance, values, simulated)
        return gap

    def run(self, start: dict[str, float], steps: int, say: Callable[[str], None]) -> None:
        z = np.array([knob.coordinate(start[knob.name]) for knob in self.knobs])
        low, high = np.array([k.low for k in self.knobs]), np.array([k.high for k in self.knobs])
        gap = self.gaps(z)
        say(f"start: distance {self.path[-1]['distance']:.4f}")
        jacobian, failures, damping, moved = self.jacobian(z, gap, high, say), 0, 0.0, False
        for index in range(steps):
            if failures == 2:  # the updated Jacobian no longer points downhill: measure it again here, undamped
                if not moved:  # it was measured here: the same simulations would give it and its two steps again
                    say(f"stopped after {index} steps: no step from a Jacobian measured here lowers the distance")
                    break
                jacobian, failures, damping, moved = self.jacobian(z, gap, high, say), 0, 0.0, False
            # Levenberg–Marquardt: min |J·s + gap|² + damping·|s|² within the bounds, as one bounded least squares
            system = np.vstack([jacobian, math.sqrt(damping) * np.eye(z.size)])
            target = np.concatenate([-gap, np.zeros(z.size)])
            step = optimize.lsq_linear(system, target, bounds=(low - z, high - z)).x
            step *= min(1.0, 1.0 / max(np.abs(step).max(), 1e-12))  # no coordinate moves more than 1 at once
            new_gap = self.gaps(z + step)
            jacobian += np.outer(new_gap - gap - jacobian @ step, step) / max(float(step @ step), 1e-12)
            if np.sum(new_gap**2) < np.sum(gap**2):
                z, gap, failures, damping, moved = z + step, new_gap, 0, damping / 10, True
            else:  # a shorter step, turned toward steepest descent
                failures, damping = failures + 1, max(10 * damping, 0.01 * float(np.sum(jacobian**2)) / z.size)
            say(f"step {index + 1}: distance {math.sqrt(np.mean(gap**2)):.4f}")

    def jacobian(self, z: np.ndarray, gap: np.ndarray, high: np.ndarray, say: Callable[[str], None]) -> np.ndarray:
        """Forward differences of the gaps, a step of 0.1 in each coordinate (backward at the upper bound)."""
        jacobian = np.empty((gap.size, z.size))
        for k in range(z.size):
            h = 0.1 if z[k] + 0.1 <= high[k] else -0.1
            moved = z.copy()
            moved[k] += h
            jacobian[:, k] = (self.gaps(moved) - gap) / h
        say(f"Jacobian measured ({z.size} simulations)")
        return jacobian
