"""Subprocess smoke tests of the project's commands with tiny budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_agent_results_quick(tmp_path):
    out = tmp_path / "results.md"
    args = ("-m", "shopgym.experiments.agent_results", "--quick", "--out", str(out), "--cache", str(tmp_path / "store"))
    result = run(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    for heading in (
        "Pricing-v1",
        "which mechanism produces which price path",
        "how far from optimal",
        "Marketing-v1",
        "Training speed",
        "## Transfer",
        "continual learning",
        "Marketing-v1, `zozotown` market",
        "Promote-v1, `tafeng` market",
    ):
        assert heading in text
    assert "Best non-oracle baseline: **" in text.split("`zozotown` market")[1]
    for picture in (
        "marketing_comparison.png",
        "transfer_new-catalog.png",
        "continual_matrices.png",
        "marketing_zozotown_comparison.png",
        "promote_tafeng_comparison.png",
    ):
        assert (tmp_path / picture).stat().st_size > 10_000
    # a rerun of one section keeps the others as the page has them (a line only the page holds survives)
    out.write_text(text.replace("<!-- section: memory -->\n", "<!-- section: memory -->\nkept by the page\n"))
    again = run(*args, "--sections", "speed")
    assert again.returncode == 0, again.stderr[-2000:]
    assert out.read_text() == text.replace("<!-- section: memory -->\n", "<!-- section: memory -->\nkept by the page\n")


def test_marketing_section_is_the_compare_suite(tmp_path):
    """The page's Marketing-v1 section runs the compare suite on experiments/configs/marketing.yml (tiny budgets
    with --quick): the section is that comparison's report, with the project's target judged below it; a rerun of
    the section alone into a copy of the page leaves every other section as the page has it."""
    page = (ROOT / "docs" / "results.md").read_text()
    out, store = tmp_path / "results.md", tmp_path / "store"
    out.write_text(page)
    args = ("-m", "shopgym.experiments.agent_results", "--quick", "--sections", "marketing")
    result = run(*args, "--out", str(out), "--cache", str(store))
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    start, end = "<!-- section: marketing -->\n", "<!-- section: memory -->\n"
    assert text.split(start)[0] == page.split(start)[0] and text.split(end)[1] == page.split(end)[1]
    section = text.split(start)[1].split(end)[0]
    report = (store / "marketing" / "report.md").read_text()
    table = [line for line in report.splitlines() if line.startswith("|")]
    assert table and all(line in section.splitlines() for line in table)  # the suite's own table, as written
    summary = json.loads((store / "marketing" / "summary.json").read_text())
    assert set(summary["policies"]) == {
        "PPO (1,024 steps)",  # --quick's agent
        *("random", "popular", "margin", "never discount", "calendar (20 % off every 4th visit)"),
        *("epsilon-greedy bandit", "LinUCB", "linear Thompson", "myopic oracle"),
    }
    assert f"Best non-oracle baseline: **{summary['best_baseline']}**" in section
    assert "Project target (PPO (1,024 steps) at least +10 % above" in section
    assert "`shopgym compare experiments/configs/marketing.yml`" in section
    for picture in ("marketing_comparison.png", "marketing_improvement.png", "marketing_learning_curves.png"):
        assert f"]({picture})" in section and (tmp_path / picture).stat().st_size > 10_000


def test_pricing_screen_tiny(tmp_path):
    log = tmp_path / "screen.log"
    changes = '{"gae_lambda": 0.5}'
    result = run("benchmarks/screen_pricing.py", "ppo", changes, "--seeds", "1", "--steps", "64", "--log", str(log))
    assert result.returncode == 0, result.stderr[-2000:]
    line = log.read_text().strip()
    assert line.startswith('ppo {"gae_lambda": 0.5} | J/J* (sampled/most likely) per seed: electronics ')
    assert len(line.split("|")) == 4 and "grocery" in line and "default" in line


def test_retrain_hyperparams_tiny(tmp_path):
    files = ["a=agents/hyperparams/dqn.yml", "b=agents/hyperparams/dqn.yml"]
    args = ["--seeds", "2", "--steps", "256", "--n-eval", "8", "--workers", "1", "--out", str(tmp_path)]
    result = run("benchmarks/retrain_hyperparams.py", "dqn", "shopgym/Promote-v1", *files, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    # The same file and seeds train the same runs: identical returns, and neither beats the other.
    assert summary["labels"]["a"]["returns"] == summary["labels"]["b"]["returns"]
    assert summary["P(a > b)"][0] == 0.5
    assert (tmp_path / "a" / "seed-1" / "summary.json").is_file()


def test_kill_resume_trials_tiny(tmp_path):
    result = run("benchmarks/kill_resume.py", "--trials", "2", "--steps", "4096", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["trials"] == 2 and [r["algo"] for r in report["results"]] == ["ppo", "dqn"]
    for trial in report["results"]:
        assert trial["ok"], trial
