"""Subprocess smoke tests of the project's commands with tiny budgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_demo_prints_kpis_for_each_policy():
    result = run("-m", "experiments.demo", "--shoppers", "64", "--scenario", "fashion")
    assert result.returncode == 0, result.stderr
    assert "profit/shopper" in result.stdout
    assert "random" in result.stdout and "greedy" in result.stdout


def test_demo_rejects_unknown_scenario():
    result = run("-m", "experiments.demo", "--scenario", "atlantis")
    assert result.returncode != 0
    assert "invalid choice: 'atlantis'" in result.stderr
