"""Shared fixtures: small markets and deterministic fake components."""

from __future__ import annotations

import os

# pytest -n 2 runs two workers on a 2-core machine: one torch thread each (inherited by the subprocesses the
# tests start) avoids oversubscription, which slows the small networks here several times over.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import shopgym
from shopgym.choice import VisitUtilities
from shopgym.core import MarketSimulator
from shopgym.params import Scenario
from shopgym.scenarios import get_scenario, resolve_scenario

ALL_IDS = sorted(shopgym.ENV_IDS)

# Property-based fuzzers (tests marked ``fuzz``): a few dozen cases each in the default run, thousands with
# ``pytest -m fuzz --hypothesis-profile=fuzz`` (docs/reliability.md records the long run).
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "derandomize": True}
settings.register_profile("shopgym", max_examples=40, **_FUZZ)
settings.register_profile("fuzz", max_examples=2500, **{**_FUZZ, "derandomize": False})
if settings.get_current_profile_name() == "default":  # --hypothesis-profile was not given (or not applied yet)
    settings.load_profile("shopgym")


class ClickFirstBuyAlways:
    """Fake choice model: click the first shown item and buy it whenever it is affordable."""

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> tuple[np.ndarray, np.ndarray]:
        shown = np.isfinite(utilities.click)
        clicked = np.where(shown.any(axis=1), shown.argmax(axis=1), -1)
        affordable = np.isfinite(utilities.purchase[np.arange(clicked.size), np.maximum(clicked, 0)])
        return clicked, (clicked >= 0) & affordable


class NeverClick:
    """Fake choice model: every shopper leaves without clicking."""

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> tuple[np.ndarray, np.ndarray]:
        n = utilities.outside.shape[0]
        return np.full(n, -1), np.zeros(n, dtype=bool)


def small_scenario(**changes) -> Scenario:
    """The default market with a small catalog, optionally changed section by section."""
    return get_scenario("default").replace(catalog={"n_items": 60, "n_categories": 4}, **changes)


def make_simulator(scenario: Scenario, n_candidates: int = 5, seed: int = 0, choice_model=None) -> MarketSimulator:
    sim = MarketSimulator(scenario, n_candidates, resolve_scenario, choice_model=choice_model)
    sim.seed(seed)
    return sim


@pytest.fixture
def fake_click_buy() -> ClickFirstBuyAlways:
    return ClickFirstBuyAlways()
