"""The classic supervised recommender: a next-purchase MLP trained on logged simulator data.

Logs come from a logging policy that shows random slates (``RecommendSlate-v1``): every impression is a
(shopper features, item features, bought?) row. A small MLP scores P(purchase | shopper, item) with binary
cross-entropy; the policy shows the highest-scoring candidate(s) at list price. Its ranking quality is reported
as top-k accuracy on held-out purchases (is the bought item among the k best-scored items of its slate?), and
its J(π) is what the comparison cares about: a good next-purchase model is myopic by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from shopgym.agents.base import BasePolicy, TaskInfo
from shopgym.envs.batch import ShopperBatch

__all__ = ["BehaviourClonedRecommender", "ImpressionLog", "collect_impressions"]


@dataclass(frozen=True)
class ImpressionLog:
    """One row per shown item: features [M, F_shopper + F_item], bought [M], visit id [M] (rows of a slate)."""

    features: np.ndarray
    bought: np.ndarray
    visit: np.ndarray


def collect_impressions(
    n_shoppers: int = 2048, seed: int = 0, visits: int | None = None, **env_kwargs: object
) -> ImpressionLog:
    """Log random slates shown to ``n_shoppers`` shoppers for ``visits`` steps (default: one horizon)."""
    envs = gym.make_vec("shopgym/RecommendSlate-v1", num_envs=n_shoppers, **env_kwargs)
    obs, _ = envs.reset(seed=seed)
    task = envs.batch.task
    rng = np.random.default_rng(seed)
    n_shopper = len(task.layout.shopper_names)
    rows, bought, visit = [], [], []
    restarting = np.zeros(n_shoppers, dtype=bool)  # slots refilled this step (next-step autoreset) show nothing
    for step in range(visits or envs.batch.horizon):
        slate = np.stack([rng.permutation(task.n_candidates)[: task.slate_size] for _ in range(n_shoppers)])
        items = task.layout.items(obs)
        shown = np.take_along_axis(items, slate[:, :, None], axis=1)  # [N, S, F_item]
        shopper = np.repeat(obs[:, None, :n_shopper], task.slate_size, axis=1)
        obs, _, terminated, truncated, _ = envs.step(slate)
        outcome = envs.batch.last_outcome
        served = ~restarting
        restarting = terminated | truncated
        purchased_position = np.where(outcome.purchased, outcome.clicked, -1)[served]
        rows.append(np.concatenate([shopper, shown], axis=2)[served].reshape(-1, n_shopper + items.shape[2]))
        bought.append((purchased_position[:, None] == np.arange(task.slate_size)).ravel())
        visit.append(np.repeat(np.flatnonzero(served) + step * n_shoppers, task.slate_size))
    envs.close()
    return ImpressionLog(np.concatenate(rows), np.concatenate(bought).astype(np.float32), np.concatenate(visit))


class _Scorer(nn.Module):
    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class BehaviourClonedRecommender(BasePolicy):
    """Shows the candidate(s) with the highest predicted purchase probability, at list price."""

    name = "bc_mlp"
    requires = ("chooses_item",)

    def __init__(self, info: TaskInfo, seed: int | None = None, hidden: int = 64) -> None:
        super().__init__(info, seed)
        self.params = {"hidden": hidden}
        self.n_shopper = len(info.layout.shopper_names)
        n_features = self.n_shopper + len(info.layout.item_names)
        torch.manual_seed(seed or 0)
        self.scorer = _Scorer(n_features, hidden)
        self.mean = np.zeros(n_features, dtype=np.float32)
        self.scale = np.ones(n_features, dtype=np.float32)

    def fit(
        self,
        log: ImpressionLog,
        epochs: int = 5,
        batch_size: int = 4096,
        learning_rate: float = 3e-3,
        holdout: float = 0.2,
    ) -> dict[str, float]:
        """Train on the visits of ``log`` not held out; return top-1 / top-3 accuracy and log loss on the rest."""
        rng = np.random.default_rng(self.seed)
        visits = np.unique(log.visit)
        test_visits = rng.choice(visits, int(holdout * visits.size), replace=False)
        test = np.isin(log.visit, test_visits)
        self.mean = log.features[~test].mean(axis=0)
        self.scale = np.maximum(log.features[~test].std(axis=0), 1e-6)
        x = torch.from_numpy(((log.features - self.mean) / self.scale).astype(np.float32))
        y = torch.from_numpy(log.bought)
        train_rows = np.flatnonzero(~test)
        optimizer = torch.optim.Adam(self.scorer.parameters(), lr=learning_rate)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator().manual_seed(self.seed or 0)
        for _ in range(epochs):
            order = torch.from_numpy(train_rows)[torch.randperm(train_rows.size, generator=generator)]
            for start in range(0, order.numel(), batch_size):
                rows = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(self.scorer(x[rows]), y[rows])
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            logits = self.scorer(x[torch.from_numpy(np.flatnonzero(test))]).numpy()
            test_loss = float(loss_fn(torch.from_numpy(logits), y[torch.from_numpy(np.flatnonzero(test))]))
        return {"test_log_loss": test_loss, **self._top_k(logits, log.bought[test], log.visit[test])}

    @staticmethod
    def _top_k(scores: np.ndarray, bought: np.ndarray, visit: np.ndarray) -> dict[str, float]:
        """Share of held-out purchases whose item is among the k best-scored items of its slate."""
        order = np.lexsort((-scores, visit))
        visit_sorted, bought_sorted = visit[order], bought[order]
        first = np.r_[0, np.flatnonzero(np.diff(visit_sorted)) + 1]
        rank = np.arange(visit.size) - np.repeat(first, np.diff(np.r_[first, visit.size]))
        ranks = rank[bought_sorted == 1]
        if ranks.size == 0:
            return {"top1_accuracy": float("nan"), "top3_accuracy": float("nan"), "held_out_purchases": 0}
        return {
            "top1_accuracy": float((ranks < 1).mean()),
            "top3_accuracy": float((ranks < 3).mean()),
            "held_out_purchases": int(ranks.size),
        }

    def scores(self, obs: np.ndarray) -> np.ndarray:
        """[N, K] predicted purchase logits of every candidate."""
        items = self.info.layout.items(obs)
        n, k, _ = items.shape
        shopper = np.repeat(obs[:, None, : self.n_shopper], k, axis=1)
        x = (np.concatenate([shopper, items], axis=2) - self.mean) / self.scale
        with torch.no_grad():
            return self.scorer(torch.from_numpy(x.astype(np.float32))).numpy().reshape(n, k)

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        return self.info.task.show_best(self.scores(obs))

    def save(self, path: str | Path) -> None:
        super().save(path)
        torch.save(self.scorer.state_dict(), Path(path) / "scorer.pt")
        np.savez(Path(path) / "scaling.npz", mean=self.mean, scale=self.scale)

    def load(self, path: str | Path) -> None:
        super().load(path)
        self.scorer.load_state_dict(torch.load(Path(path) / "scorer.pt", weights_only=True))
        with np.load(Path(path) / "scaling.npz", allow_pickle=False) as data:
            self.mean, self.scale = data["mean"], data["scale"]
