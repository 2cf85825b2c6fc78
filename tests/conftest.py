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
from shopgym.choice import Choice, VisitProbabilities, VisitUtilities
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest tests (marked ``longest``) first: with ``-n 2`` the other worker runs the rest meanwhile,
    instead of one worker finishing a long test alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("longest") is None)  # stable: the rest keep their order


class ClickFirstBuyAlways:
    """Fake choice model: click the first shown item and buy one unit whenever it is affordable."""

    def probabilities(self, utilities: VisitUtilities) -> VisitProbabilities:
        choice = self.choose(np.random.default_rng(0), utilities)
        n, s = utilities.click.shape
        click = np.zeros((n, s + 1))
        click[np.arange(n), choice.clicked + 1] = 1.0
        buy = click[:, 1:] * choice.purchased[:, None]
        return VisitProbabilities(click=click, buy=buy, units=np.ones((n, s)))

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> Choice:
        shown = np.isfinite(utilities.click)
        clicked = np.where(shown.any(axis=1), shown.argmax(axis=1), -1)
        affordable = np.isfinite(utilities.purchase[np.arange(clicked.size), np.maximum(clicked, 0)])
        purchased = (clicked >= 0) & affordable
        return Choice(clicked=clicked, purchased=purchased, units=purchased.astype(np.int64))


class NeverClick:
    """Fake choice model: every shopper leaves without clicking."""

    def probabilities(self, utilities: VisitUtilities) -> VisitProbabilities:
        n, s = utilities.click.shape
        click = np.zeros((n, s + 1))
        click[:, 0] = 1.0
        return VisitProbabilities(click=click, buy=np.zeros((n, s)), units=np.ones((n, s)))

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> Choice:
        n = utilities.outside.shape[0]
        return Choice(clicked=np.full(n, -1), purchased=np.zeros(n, dtype=bool), units=np.zeros(n, dtype=np.int64))


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
