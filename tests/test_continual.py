"""The continual-learning protocol: metrics on hand-made matrices, and a tiny end-to-end run (all strategies and a
drifting market) that is deterministic and resumes from its cached cells."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from suite_fixtures import check_against_fixture

import shopgym.experiments.continual.protocol as protocol
from shopgym.agents.sb3_agents import HyperParams
from shopgym.experiments.configs import ContinualConfig
from shopgym.experiments.continual import (
    ContinualSummary,
    average_performance,
    backward_transfer,
    continual_metrics,
    forgetting,
    forward_transfer,
    metric_half_widths,
    rehearsal_sizes,
    run_continual,
)
from shopgym.experiments.runs import RunError
from shopgym.experiments.stats import format_interval
from shopgym.params import ParameterError

TINY = HyperParams(n_envs=16, n_steps=16, batch_size=64, n_epochs=1)
CONFIG = ContinualConfig(
    seeds=1,
    scenarios=["default", "recession"],
    steps_per_stage=2048,
    n_eval=32,
    drift_scenario={
        "base": "default",
        "name": "default_then_recession",
        "drift": [{"kind": "switch", "at": 1024, "to": "recession"}],
    },
    drift_pretrain_steps=1024,
    drift_steps=2048,
)
STRATEGIES = ("naive", "reset", "rehearsal", "multitask")


# ---------------------------------------------------------------------------------------------------- metrics
def test_metrics_with_forgetting() -> None:
    R = np.array([[10.0, 2.0, 1.0], [8.0, 12.0, 3.0], [6.0, 9.0, 15.0]])
    b = np.array([1.0, 1.0, 2.0])
    assert average_performance(R) == pytest.approx(10.0)
    np.testing.assert_allclose(forgetting(R), [10.0 - 6.0, 12.0 - 9.0])
    assert backward_transfer(R) == pytest.approx(((6 - 10) + (9 - 12)) / 2)
    assert forward_transfer(R, b) == pytest.approx(((2 - 1) + (3 - 2)) / 2)
    metrics = continual_metrics(R, b)
    assert metrics["mean_forgetting"] == pytest.approx(3.5)
    assert metrics["backward_transfer"] == pytest.approx(-3.5)


def test_metrics_without_forgetting() -> None:
    R = np.array([[5.0, 0.0, 0.0], [6.0, 7.0, 1.0], [8.0, 9.0, 10.0]])
    b = np.zeros(3)
    assert average_performance(R) == pytest.approx(9.0)
    np.testing.assert_allclose(forgetting(R), [-2.0, -2.0])  # the final scores beat every earlier one
    assert backward_transfer(R) == pytest.approx(2.5)
    assert forward_transfer(R, b) == pytest.approx(0.5)


def test_forgetting_counts_the_best_stage_since_the_market_was_seen() -> None:
    # Market 0 peaks after stage 1 (not on the diagonal); market 1 scores 100 before it is trained on (ignored).
    R = np.array([[5.0, 100.0, 0.0], [9.0, 7.0, 0.0], [4.0, 6.0, 3.0]])
    np.testing.assert_allclose(forgetting(R), [9.0 - 4.0, 7.0 - 6.0])
    assert backward_transfer(R) == pytest.approx(((4 - 5) + (6 - 7)) / 2)


def test_metrics_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="square"):
        average_performance(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="square"):
        forgetting(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="b must have shape"):
        forward_transfer(np.zeros((3, 3)), np.zeros(2))


def test_metric_half_widths_add_the_half_widths_of_what_they_average() -> None:
    H = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])  # half-widths of R
    h = np.array([0.5, 1.0, 1.5])  # of b
    widths = metric_half_widths(H, h)
    assert widths["average_performance"] == pytest.approx(8.0)  # mean of the last row
    assert widths["backward_transfer"] == pytest.approx(((7 + 1) + (8 + 5)) / 2)
    assert widths["forward_transfer"] == pytest.approx(((2 + 1.0) + (6 + 1.5)) / 2)


def test_every_strategy_a_config_can_name_is_registered() -> None:
    from typing import get_args

    from shopgym.experiments.continual.strategies import STRATEGIES

    (allowed,) = get_args(ContinualConfig.model_fields["strategies"].annotation)
    assert set(get_args(allowed)) == set(STRATEGIES)
    assert [name for name, s in STRATEGIES.items() if not s.sequential] == ["multitask"]


def test_rehearsal_sizes() -> None:
    assert rehearsal_sizes(16, 1, 0.5) == [8, 8]
    assert rehearsal_sizes(256, 3, 0.5) == [43, 43, 42, 128]
    assert sum(rehearsal_sizes(100, 3, 0.3)) == 100
    with pytest.raises(ParameterError, match="earlier markets"):
        rehearsal_sizes(4, 3, 0.5)


# ---------------------------------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny networks run several times faster on one thread, above all on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ContinualSummary]:
    out = tmp_path_factory.mktemp("continual") / "run"
    return out, run_continual(CONFIG, out, device="cpu", hyperparams=TINY)


def test_outputs(finished: tuple[Path, ContinualSummary]) -> None:
    out, summary = finished
    for name in ("run.json", "report.md", "summary.json"):
        assert (out / name).is_file()
    for figure in ("matrices.png", "drift.png"):
        assert (out / figure).stat().st_size > 10_000
    cells = sorted(p.name for p in (out / "cells").iterdir())
    assert cells == sorted([f"{s}-seed0.json" for s in STRATEGIES] + ["drift-seed0.json"])
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary.model_dump(), default=float))
    assert json.loads((out / "run.json").read_text())["hyperparams"] == TINY.model_dump(mode="json")

    assert summary.scenarios == ["default", "recession"]
    assert set(summary.strategies) == set(STRATEGIES)
    for name, entry in summary.strategies.items():
        assert np.shape(entry.R) == (1, 2, 2) and np.shape(entry.R_iqm) == (2, 2)
        assert np.shape(entry.b) == (1, 2)
        assert np.isfinite(entry.R).all()
        for key in ("average_performance", "mean_forgetting", "backward_transfer", "forward_transfer"):
            assert set(getattr(entry, key)) == {"iqm", "low", "high", "n"}
        assert len(entry.forgetting_per_market) == 1
        assert entry.sequential == (name != "multitask")
        assert entry.compute_vs_naive["env_steps"] == pytest.approx(1.0)  # the same env steps for all
        R = np.array(entry.R[0])
        assert entry.average_performance["iqm"] == pytest.approx(R[-1].mean())
    # Stage 1 is the same agent in the same market for naive, reset and rehearsal; b is the same untrained agent.
    first = [summary.strategies[s].R[0][0] for s in ("naive", "reset", "rehearsal")]
    assert first[0] == first[1] == first[2]
    assert len({tuple(summary.strategies[s].b[0]) for s in STRATEGIES}) == 1
    assert summary.findings

    drift = summary.drift
    assert drift.events == [{"clock": 1024, "label": "switch to recession"}]
    assert drift.pretrain_clock == 1024 and drift.end_clock == 1024 + 2048
    for name, edges in (("pretrain", "pretrain_edges"), ("adapting", "edges"), ("frozen", "edges")):
        assert len(drift.curves[name]["mean"]) == len(getattr(drift, edges)) - 1
        assert np.isfinite(drift.per_seed[name]).all()
    assert drift.after_drift.windows == len(drift.edges) - 1

    report = (out / "report.md").read_text()
    assert "![R matrices](matrices.png)" in report and "![drift](drift.png)" in report
    assert "| strategy | A | mean forgetting | BWT | FWT |" in report
    with pytest.raises(RunError, match="already holds a finished continual run"):
        run_continual(CONFIG, out, device="cpu", hyperparams=TINY)


def test_results_match_the_recorded_fixture(finished: tuple[Path, ContinualSummary]) -> None:
    out = finished[0]
    check_against_fixture(
        "continual_tiny", json.loads((out / "summary.json").read_text()), (out / "report.md").read_text()
    )


def test_same_config_same_results(finished: tuple[Path, ContinualSummary], tmp_path: Path) -> None:
    _, first = finished
    again = run_continual(CONFIG, tmp_path / "again", device="cpu", hyperparams=TINY)
    for name in STRATEGIES:
        assert again.strategies[name].R == first.strategies[name].R
        assert again.strategies[name].b == first.strategies[name].b
    assert again.drift.per_seed == first.drift.per_seed


def test_resume_skips_finished_cells(
    finished: tuple[Path, ContinualSummary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, first = finished
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    (resumed / "summary.json").unlink()
    (resumed / "cells" / "reset-seed0.json").unlink()
    calls = []
    original = protocol.run_cell

    def counting(config, strategy, seed, hyperparams, device):
        calls.append(strategy)
        return original(config, strategy, seed, hyperparams, device)

    monkeypatch.setattr(protocol, "run_cell", counting)
    monkeypatch.setattr(protocol, "run_drift", lambda *args: pytest.fail("the drift cell was finished"))
    with pytest.raises(RunError, match="another config"):
        run_continual(CONFIG.model_copy(update={"n_eval": 33}), resumed, device="cpu", hyperparams=TINY)
    summary = run_continual(CONFIG, resumed, device="cpu", hyperparams=TINY)
    assert calls == ["reset"]
    assert summary.strategies["reset"].R == first.strategies["reset"].R
    assert len(json.loads((resumed / "run.json").read_text())["resumes"]) == 1


def test_continual_report_with_one_seed_prints_na_and_intervals_over_shoppers(
    finished: tuple[Path, ContinualSummary],
) -> None:
    out, summary = finished
    report = (out / "report.md").read_text()
    assert "no intervals over training seeds" in report and f"{CONFIG.n_eval:,} evaluation shoppers" in report
    row = next(line for line in report.splitlines() if line.startswith("| naive |")).split(" | ")
    average, forgetting = row[1], row[2]
    stat = summary.strategies["naive"].over_shoppers["average_performance"]
    assert stat["low"] < stat["mean"] < stat["high"] and average == format_interval(stat, 2)
    assert forgetting.endswith("[n/a]")  # a maximum over stages: no interval over shoppers, one seed: none over seeds
    assert "Target" not in report and "met**" not in report
    cell = json.loads((out / "cells" / "naive-seed0.json").read_text())
    assert np.shape(cell["R_half_width"]) == (2, 2) and np.all(np.array(cell["R_half_width"]) > 0)
