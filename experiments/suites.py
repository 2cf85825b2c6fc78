"""The suites a sweep (and the results page) can run as one job: each one's config model and its runner.

A runner is named by import path and imported when a suite runs, so listing the suites imports no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shopgym.experiments.configs import CompareConfig, ContinualConfig, TransferConfig

__all__ = ["SUITES", "Suite"]


@dataclass(frozen=True)
class Suite:
    """A suite: its config model and ``runner``, ``"module:function"`` with the signature
    ``(config, out, device, …) -> summary``, which writes a resumable run folder with ``summary.json`` last."""

    name: str
    config: type[BaseModel]
    runner: str

    def run(self, config: BaseModel, out: str | Path, device: str = "auto", **options: Any) -> dict[str, Any]:
        """Run (or resume) the suite ``config`` into the folder ``out``; returns its summary."""
        module, function = self.runner.split(":")
        return getattr(importlib.import_module(module), function)(config, out, device, **options)


#: The suites by the names sweep configs use for them.
SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite("compare", CompareConfig, "shopgym.experiments.compare:run_comparison"),
        Suite("transfer", TransferConfig, "shopgym.experiments.transfer:run_transfer"),
        Suite("continual", ContinualConfig, "shopgym.experiments.continual:run_continual"),
    )
}
