"""Candidate-scoring networks for SB3: one small network scores every candidate with shared weights.

A flat MLP over the observation has to learn, separately for each of the K output slots, which input columns
describe that slot's candidate. Scoring each candidate with the same network (inputs: shopper features and that
candidate's features) builds the task's permutation structure in, so the policy learns from every candidate at
once and runs on any candidate order. The task says how its observation and actions are laid out
(:meth:`shopgym.tasks.Task.candidate_layout`, None where the networks do not apply). Logits (or Q-values) come out
in the action encoding of the task:

* ``Discrete(K·L)`` (Recommend has L = 1, Marketing L discount levels): index = candidate·L + level;
* ``MultiDiscrete([K] * S)`` (slates): S blocks of K logits, one block per slate position.

The critic pools the per-candidate hidden states (mean and max) into a state value.
"""

from __future__ import annotations

from typing import Any

import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from shopgym.tasks import CandidateLayout

__all__ = ["CandidateActorCriticPolicy", "CandidateDQNPolicy", "CandidateLayout"]


def _mlp(inputs: int, hidden: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(inputs, width), activation()]
        inputs = width
    return nn.Sequential(*layers)


class CandidateEncoder(nn.Module):
    """obs [N, F] → per-candidate hidden states [N, K, H] from the shopper's and each candidate's features."""

    def __init__(self, layout: CandidateLayout, hidden: list[int], activation: type[nn.Module]) -> None:
        super().__init__()
        self.n_shopper, self.n_item, self.n_candidates = layout[:3]
        self.net = _mlp(self.n_shopper + self.n_item, hidden, activation)
        self.width = hidden[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        n = obs.shape[0]
        shopper = obs[:, : self.n_shopper].unsqueeze(1).expand(n, self.n_candidates, self.n_shopper)
        items = obs[:, self.n_shopper :].reshape(n, self.n_candidates, self.n_item)
        return self.net(torch.cat([shopper, items], dim=2))


class CandidateHead(nn.Module):
    """Per-candidate hidden [N, K, H] → logits in the task's action encoding."""

    def __init__(self, layout: CandidateLayout, width: int) -> None:
        super().__init__()
        _, _, self.n_candidates, self.per_candidate, self.slate = layout
        self.linear = nn.Linear(width, self.per_candidate)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        scores = self.linear(hidden)  # [N, K, out]
        if self.slate:
            return scores.transpose(1, 2).reshape(hidden.shape[0], -1)  # S blocks of K
        return scores.reshape(hidden.shape[0], -1)  # candidate-major: candidate·L + level


class _CandidateExtractor(nn.Module):
    """SB3 ``mlp_extractor`` replacement: actor latent = flattened per-candidate states, critic = pooled."""

    def __init__(self, layout: CandidateLayout, hidden: list[int], activation: type[nn.Module]) -> None:
        super().__init__()
        self.actor = CandidateEncoder(layout, hidden, activation)
        self.critic = CandidateEncoder(layout, hidden, activation)
        self.n_candidates = layout[2]
        self.latent_dim_pi = self.n_candidates * hidden[-1]
        self.latent_dim_vf = 2 * hidden[-1]

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return self.actor(features).flatten(1)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        hidden = self.critic(features)
        return torch.cat([hidden.mean(dim=1), hidden.amax(dim=1)], dim=1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class _UnflattenHead(nn.Module):
    def __init__(self, head: CandidateHead, width: int) -> None:
        super().__init__()
        self.head, self.width = head, width

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.head(latent.reshape(latent.shape[0], -1, self.width))


class CandidateActorCriticPolicy(ActorCriticPolicy):
    """PPO / A2C policy whose logits come from a shared per-candidate scorer (see module docstring)."""

    def __init__(self, *args: Any, candidate_layout: CandidateLayout, hidden: list[int], **kwargs: Any) -> None:
        self.candidate_layout = tuple(int(v) for v in candidate_layout)
        self.hidden = [int(v) for v in hidden]
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = _CandidateExtractor(self.candidate_layout, self.hidden, self.activation_fn)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        head = CandidateHead(self.candidate_layout, self.hidden[-1])
        nn.init.orthogonal_(head.linear.weight, gain=0.01)
        nn.init.zeros_(head.linear.bias)
        self.action_net = _UnflattenHead(head, self.hidden[-1])
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(candidate_layout=self.candidate_layout, hidden=self.hidden)
        return data


class _CandidateQNetwork(QNetwork):
    def __init__(self, *args: Any, candidate_layout: CandidateLayout, hidden: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        encoder = CandidateEncoder(candidate_layout, hidden, self.activation_fn)
        self.q_net = nn.Sequential(encoder, CandidateHead(candidate_layout, hidden[-1]))


class CandidateDQNPolicy(DQNPolicy):
    """DQN policy whose Q-values come from a shared per-candidate scorer."""

    def __init__(self, *args: Any, candidate_layout: CandidateLayout, hidden: list[int], **kwargs: Any) -> None:
        self.candidate_layout = tuple(int(v) for v in candidate_layout)
        self.hidden = [int(v) for v in hidden]
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return _CandidateQNetwork(**net_args, candidate_layout=self.candidate_layout, hidden=self.hidden).to(
            self.device
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(candidate_layout=self.candidate_layout, hidden=self.hidden)
        return data
