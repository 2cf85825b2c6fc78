"""shopgym: a reinforcement-learning simulator of shoppers who respond to recommendations and promotions.

Importing the package registers the Gymnasium ids ``shopgym/Recommend-v1``, ``shopgym/RecommendSlate-v1``,
``shopgym/Promote-v1``, ``shopgym/Marketing-v1`` and ``shopgym/Pricing-v1``.
"""

from shopgym.envs import ENV_IDS, ShopEnv, ShopVectorEnv, register_envs
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import get_scenario, list_scenarios, load_scenario, save_scenario

__version__ = "0.1.0"

__all__ = [
    "ENV_IDS",
    "ParameterError",
    "Scenario",
    "ShopEnv",
    "ShopVectorEnv",
    "get_scenario",
    "list_scenarios",
    "load_scenario",
    "save_scenario",
]

register_envs()
