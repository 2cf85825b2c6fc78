"""Property-based fuzzers of the env layer: constructor arguments, scenario mappings and actions.

Every input either works, and then every observation lies in the observation space and every reward is finite,
or is refused with a one-line ``ValueError`` (a :class:`~shopgym.params.ParameterError` for arguments); no other
exception escapes. Half the examples draw only valid values, so both outcomes are exercised; catalogs are kept
small so each fuzzer takes seconds in the default profile.
"""

from __future__ import annotations

import warnings
from typing import Any, get_args

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from shopgym import ENV_IDS, ParameterError
from shopgym.choice import NestedLogit
from shopgym.envs.sb3 import make_sb3_vec_env
from shopgym.params import CatalogParams, ChoiceParams, DynamicsParams, RetrievalParams, RewardParams, SegmentParams
from shopgym.scenarios import get_scenario, list_scenarios, resolve_scenario
from shopgym.tasks import TASK_OPTIONS
from tests.conftest import ALL_IDS, ClickFirstBuyAlways, NeverClick

pytestmark = pytest.mark.fuzz

SMALL = {"base": "default", "catalog": {"n_items": 40, "n_categories": 4}}

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(-3, 3), max_size=3),
    st.just({"a": 1}),
    st.just(np.array([1, 2])),
)


def check_refusal(error: Exception) -> None:
    assert isinstance(error, ValueError), f"{type(error).__name__}: {error}"
    assert "\n" not in str(error) and str(error)
    event("refused")


def play(env: Any, steps: int, seed: int, vector: bool) -> None:
    """Reset and step with random actions; every observation in the space, every reward finite."""
    space = env.single_observation_space if vector else env.observation_space
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        assert all(space.contains(row) for row in obs) if vector else space.contains(obs)
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.all(np.isfinite(reward))
        if not vector and (terminated or truncated):
            obs, _ = env.reset()
    assert all(space.contains(row) for row in obs) if vector else space.contains(obs)
    event("works")


# ---------------------------------------------------------------------- constructor arguments
VALID_OPTIONS = {
    "scenario": st.sampled_from([SMALL, "new_market", {**SMALL, "choice": {"outside_utility": 3.0}}]),
    "observability": st.sampled_from(["partial", "full"]),
    "n_candidates": st.integers(1, 30),
    "slate_size": st.integers(1, 5),
    "discount_levels": st.lists(st.floats(0.0, 0.95), min_size=1, max_size=6, unique=True),
    "price_levels": st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6, unique=True),
    "action_encoding": st.sampled_from(["discrete", "multidiscrete"]),
    "choice_model": st.sampled_from([None, NestedLogit(), ClickFirstBuyAlways(), NeverClick()]),
    "reward_fn": st.sampled_from([None, lambda c: c["profit"] - c["discount_cost"]]),
}
BAD_OPTIONS = {
    "scenario": st.one_of(
        st.sampled_from(["nowhere", "x.yaml", 42]),
        st.just({**SMALL, "catalog": {"n_items": -1}}),
        st.just({**SMALL, "bogus": 1}),
    ),
    "observability": st.one_of(st.just("none"), JUNK),
    "n_candidates": st.one_of(st.integers(-2, 0), st.integers(1001, 1002), JUNK),
    "slate_size": st.one_of(st.integers(-2, 0), st.integers(31, 40), JUNK),
    "discount_levels": st.one_of(st.lists(st.floats(-0.2, 1.2), max_size=6), JUNK),
    "price_levels": st.one_of(st.lists(st.floats(-0.2, 1.2), max_size=6), JUNK),
    "action_encoding": st.one_of(st.just("onehot"), JUNK),
    "choice_model": st.sampled_from([0, "", object(), NestedLogit]),
    "reward_fn": st.sampled_from([0, "profit", len]),
}
OTHER_NAMES = {"n_candidate": st.integers(1, 3), "horizon": st.integers(1, 3), "task": st.sampled_from(["haggle", 3])}
COMMON = ("scenario", "observability", "choice_model", "reward_fn")


@st.composite
def env_arguments(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], Any, Any, Any]:
    """(env id, maker, options, render_mode, num_envs, max_episode_steps); half the draws only valid values."""
    env_id = draw(st.sampled_from(ALL_IDS))
    maker = draw(st.sampled_from(["make", "make_vec", "sb3"]))
    if draw(st.booleans()):
        names = COMMON + TASK_OPTIONS[ENV_IDS[env_id]]
        options = draw(st.fixed_dictionaries({}, optional={name: VALID_OPTIONS[name] for name in names}))
        render_mode, num_envs, horizon = (
            draw(st.sampled_from([None, "ansi"])),
            draw(st.integers(1, 4)),
            draw(st.integers(1, 6)),
        )
        return env_id, maker, options, render_mode, num_envs, horizon
    pool = {name: st.one_of(VALID_OPTIONS[name], BAD_OPTIONS[name]) for name in VALID_OPTIONS} | OTHER_NAMES
    options = draw(st.fixed_dictionaries({}, optional=pool))
    render_mode = draw(st.sampled_from([None, "ansi", "human", "rgb_array"]))
    num_envs = draw(st.one_of(st.integers(-1, 5), JUNK))
    if maker == "make":  # gymnasium.make checks max_episode_steps itself (TypeError for a non-integer)
        return env_id, maker, options, render_mode, num_envs, draw(st.one_of(st.none(), st.integers(-3, 6)))
    return env_id, maker, options, render_mode, num_envs, draw(st.one_of(st.integers(-2, 6), st.booleans(), JUNK))


@given(arguments=env_arguments())
def test_env_arguments_work_or_are_refused_in_one_line(arguments):
    env_id, maker, options, render_mode, num_envs, horizon = arguments
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Gymnasium warns about render modes not in the metadata
            if maker == "make":
                env = gym.make(env_id, max_episode_steps=horizon, render_mode=render_mode, **options)
                play(env, steps=3, seed=0, vector=False)
            elif maker == "make_vec":
                env = gym.make_vec(
                    env_id, num_envs=num_envs, max_episode_steps=horizon, render_mode=render_mode, **options
                )
                play(env, steps=3, seed=0, vector=True)
            else:
                env = make_sb3_vec_env(env_id, num_envs=num_envs, seed=0, max_episode_steps=horizon, **options)
                obs = env.reset()
                for _ in range(3):
                    assert all(env.observation_space.contains(row) for row in obs)
                    obs, reward, _, _ = env.step(np.array([env.action_space.sample() for _ in range(env.num_envs)]))
                    assert np.all(np.isfinite(reward))
                event("works")
    except Exception as error:  # the property: only ValueErrors, on one line
        check_refusal(error)


# ---------------------------------------------------------------------- scenario mappings
def field_strategy(info: FieldInfo, valid: bool) -> st.SearchStrategy[Any]:
    """Values of one scenario field from its type and bounds: inside them, or anything including their edges."""
    bound = {name: getattr(m, name) for m in info.metadata for name in ("ge", "gt", "le", "lt") if hasattr(m, name)}
    low, high = bound.get("ge", bound.get("gt")), bound.get("le", bound.get("lt"))
    kinds = set(get_args(info.annotation)) or {info.annotation}
    if str in kinds:
        inside = st.text(min_size=1, max_size=12)
    elif int in kinds:
        inside = st.integers(low if low is not None else -5, min(high if high is not None else 100, 100))
    else:  # the extremes a valid scenario may take are the interesting values
        extremes = [bound[name] for name in ("ge", "le") if name in bound]
        floats = st.floats(low, high, exclude_min="gt" in bound, exclude_max="lt" in bound)
        inside = st.one_of(st.sampled_from(extremes), floats) if extremes else floats
    if valid:
        return inside
    edges = [value for value in (low, high) if value is not None]
    return st.one_of(inside, st.sampled_from([*edges, -1e9, 1e9, float("nan")]), JUNK)


def section(model: type[BaseModel], valid: bool, **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    """Partial mappings of a section's fields (``fixed`` overrides the strategy of some fields)."""
    fields = {
        name: fixed[name] if name in fixed else field_strategy(info, valid) for name, info in model.model_fields.items()
    }
    return st.fixed_dictionaries({}, optional=fields)


REWARD_KINDS = get_args(RewardParams.model_fields["kind"].annotation)


def drift_specs(valid: bool) -> st.SearchStrategy[dict]:
    targets = st.sampled_from(list_scenarios()) if valid else st.sampled_from([*list_scenarios(), "nope", 3])
    specs = [
        st.fixed_dictionaries(
            {"kind": st.just("catalog_churn"), "every": st.integers(1, 5), "fraction": st.floats(0.01, 1.0)}
        ),
        st.fixed_dictionaries({"kind": st.just("switch"), "at": st.integers(0, 40), "to": targets}),
        st.fixed_dictionaries(
            {"kind": st.just("gradual"), "start": st.integers(0, 20), "end": st.integers(21, 60), "to": targets}
        ),
        st.fixed_dictionaries({"kind": st.just("seasonal"), "period": st.integers(2, 50)}),
        st.fixed_dictionaries({"kind": st.just("competitor"), "at": st.integers(0, 40)}),
    ]
    if not valid:
        specs += [
            st.fixed_dictionaries({"kind": st.just("catalog_churn"), "every": JUNK, "fraction": st.floats(-1, 2)}),
            st.fixed_dictionaries({"kind": st.sampled_from(["flood", 3])}),
        ]
    return st.one_of(specs)


@st.composite
def scenario_mappings(draw: st.DrawFn) -> dict[str, Any]:
    """A partial mapping of scenario sections; half the draws only in-range values (small catalogs)."""
    valid = draw(st.booleans())
    catalog = section(
        CatalogParams,
        valid,
        n_items=st.integers(1 if valid else -1, 120),  # small catalogs: each example stays fast
        n_categories=st.integers(1 if valid else 0, 12),
        embed_dim=st.integers(2 if valid else 1, 20),
    )
    segments = st.lists(section(SegmentParams, valid), min_size=1, max_size=3)
    sections = {
        "catalog": catalog,
        "segments": segments if valid else st.one_of(segments, JUNK),
        "choice": section(ChoiceParams, valid),
        "dynamics": section(DynamicsParams, valid),
        "retrieval": section(RetrievalParams, valid),
        "reward": section(RewardParams, valid, kind=st.sampled_from(REWARD_KINDS)),
        "drift": st.lists(drift_specs(valid), max_size=2),
    }
    return draw(st.fixed_dictionaries({}, optional=sections))


@given(
    mapping=scenario_mappings(),
    env_id=st.sampled_from(ALL_IDS),
    via=st.sampled_from(["resolve", "replace"]),
    seed=st.integers(0, 2**32),
)
def test_scenario_mappings_give_a_valid_env_or_a_clean_error(mapping, env_id, via, seed):
    try:
        if via == "resolve":
            scenario = resolve_scenario({**SMALL, **mapping})
        else:
            scenario = get_scenario("default").replace(catalog={"n_items": 60}).replace(**mapping)
        env = gym.make_vec(env_id, num_envs=8, scenario=scenario, observability="full", max_episode_steps=10)
    except ParameterError as error:
        check_refusal(error)
        return
    play(env, steps=12, seed=seed, vector=True)


# ---------------------------------------------------------------------- actions
ACTION_JUNK = st.one_of(
    JUNK,
    st.lists(st.integers(-2, 30), min_size=0, max_size=6),
    st.lists(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), max_size=2)), max_size=3),
    st.floats(-5, 120),
    st.sampled_from([np.int64(3), np.uint64(2**64 - 1), np.float32(2.0), np.array(1.5), b"1", 1 + 2j]),
)


@given(
    env_id=st.sampled_from(ALL_IDS),
    seed=st.integers(0, 2**32),
    moves=st.lists(st.tuples(st.booleans(), ACTION_JUNK), min_size=1, max_size=12),
)
def test_random_actions_keep_observations_in_the_space_and_bad_ones_are_refused(env_id, seed, moves):
    env = gym.make(env_id, scenario=SMALL, disable_env_checker=True)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for valid, junk in moves:
        action = env.action_space.sample() if valid else junk
        try:
            obs, reward, terminated, truncated, _ = env.step(action)
        except Exception as error:  # the property: only ValueErrors, on one line
            assert not valid
            check_refusal(error)
            continue
        assert env.observation_space.contains(obs) and np.isfinite(reward)
        event("works")
        if terminated or truncated:
            obs, _ = env.reset()
