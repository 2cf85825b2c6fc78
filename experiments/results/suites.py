"""The suite sections: each suite config of ``experiments/configs/`` (transfer, continual learning, the
Marketing-v1 comparison and those on the calibrated markets) run (or read back) in its own folder, its report as a
section of the page, and the project's target for it judged here (the suites' own reports state results, not our
targets)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopgym.experiments.configs import CONFIG_DIR, CompareConfig, TargetsConfig, load_config
from shopgym.experiments.continual import ContinualSummary
from shopgym.experiments.continual import render_report as continual_report
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.results.common import TARGETS
from shopgym.experiments.runs import RunDirectory
from shopgym.experiments.stats import format_interval, has_interval
from shopgym.experiments.suites import SUITES
from shopgym.experiments.transfer import TransferSummary
from shopgym.experiments.transfer_report import render_report as transfer_report


def transfer_target(summary: dict[str, Any], targets: TargetsConfig = TARGETS) -> str:
    """The project's transfer target judged on a transfer suite's summary: a jumpstart whose 95 % CI lies above 0
    and a median time to threshold within ``targets.transfer_threshold_fraction`` of the target budget, on at least
    ``targets.transfer_pairs`` pairs."""
    pairs = summary["pairs"]
    met = [
        p
        for p in pairs
        if has_interval(p["jumpstart"])
        and p["jumpstart"]["low"] > 0
        and p["threshold_fraction_median"] <= targets.transfer_threshold_fraction
    ]
    return (
        "Project target (a jumpstart whose 95 % CI over seeds lies above 0, and a median time to threshold of at"
        f" most {100 * targets.transfer_threshold_fraction:.0f} % of the target budget, on at least"
        f" {targets.transfer_pairs} pairs):"
        f" met on {len(met)} of {len(pairs)} pairs, **{'met' if len(met) >= targets.transfer_pairs else 'not met'}**."
    )


def continual_target(summary: dict[str, Any]) -> str:
    """The project's continual-learning target judged on a continual run's summary."""
    strategies = summary["strategies"]
    if "rehearsal" not in strategies or "naive" not in strategies:
        return "Project target (rehearsal against naive fine-tuning): not assessed, the run lacks one of them."
    r, n = strategies["rehearsal"]["mean_forgetting"], strategies["naive"]["mean_forgetting"]
    met = has_interval(r) and has_interval(n) and r["high"] < n["low"]
    return (
        "Project target (rehearsal forgets less than naive fine-tuning, with non-overlapping 95 % CIs over seeds of"
        f" mean forgetting: {format_interval(r, 2)} against {format_interval(n, 2)}):"
        f" **{'met' if met else 'not met'}**."
    )


def agents_against_baselines(summary: dict[str, Any]) -> str:
    """A comparison's agents against its best non-oracle baseline (no project target: a finding to record)."""
    policies, best = summary["policies"], summary["best_baseline"]
    if best is None:
        return "No baseline to compare the agents with."
    reference = policies[best]["profit_per_shopper"]
    parts = []
    for name, policy in policies.items():
        if policy["kind"] == "agent":
            score = policy["profit_per_shopper"]
            change, apart = _versus(score, reference)
            parts.append(
                f"{name}: {format_interval(score)}, {change:+.1f} % "
                f"({'non-overlapping' if apart else 'overlapping or no'} intervals)"
            )
    return f"Best non-oracle baseline: **{best}** ({format_interval(reference)}). " + "; ".join(parts) + "."


def _versus(score: dict[str, Any], reference: dict[str, Any]) -> tuple[float, bool]:
    """An IQM profit per shopper against a reference's: the change in %, and whether their 95 % CIs over seeds are
    apart (both exist and do not overlap)."""
    change = 100 * (score["iqm"] / reference["iqm"] - 1) if reference["iqm"] else float("nan")
    apart = (
        has_interval(score)
        and has_interval(reference)
        and (score["low"] > reference["high"] or score["high"] < reference["low"])
    )
    return change, apart


def marketing_target(config: CompareConfig, summary: dict[str, Any], targets: TargetsConfig = TARGETS) -> str:
    """The comparison's agents against its best non-oracle baseline (:func:`agents_against_baselines`) and the
    project's Marketing-v1 target judged on them: each agent of ``targets.marketing_algo`` at least
    ``targets.marketing_gain`` above that baseline, its 95 % CI over seeds above the baseline's; and how close it
    comes to the comparison's oracle."""
    policies, best = summary["policies"], summary["best_baseline"]
    judged = [spec.label for spec in config.agents if spec.algo == targets.marketing_algo]
    finding = agents_against_baselines(summary)
    if best is None or not judged:
        return f"{finding} Project target: not assessed, the comparison lacks a baseline or a {targets.marketing_algo}."
    reference = policies[best]["profit_per_shopper"]
    parts = []
    for name in judged:
        score = policies[name]["profit_per_shopper"]
        change, apart = _versus(score, reference)
        met = change >= 100 * targets.marketing_gain and apart and score["low"] > reference["high"]
        parts.append(
            f"Project target ({name} at least +{100 * targets.marketing_gain:.0f} % above `{best}`, 95 % CIs over"
            f" seeds apart): **{'met' if met else 'not met'}**."
        )
        oracle = summary["oracle"]
        if oracle is not None and policies[oracle]["profit_per_shopper"]["iqm"]:
            share = 100 * score["iqm"] / policies[oracle]["profit_per_shopper"]["iqm"]
            parts.append(f"{name} earns {share:.0f} % of `{oracle}`, which reads the hidden shopper state.")
    return " ".join([finding, *parts])


@dataclass(frozen=True)
class PageSuite:
    """How the page shows a suite of the registry: its report (from the config, the summary and the run folder),
    the project's target or finding, and the tiny budgets of ``--quick``."""

    report: Callable[[Any, dict[str, Any], Path], str]
    target: Callable[[dict[str, Any]], str]
    quick: dict[str, Any]


PAGE_SUITES = {
    "transfer": PageSuite(
        lambda config, summary, _: transfer_report(config, TransferSummary.model_validate(summary)),
        transfer_target,
        {"source_steps": 512, "target_steps": 1024, "eval_freq": 512},
    ),
    "continual": PageSuite(
        lambda config, summary, _: continual_report(config, ContinualSummary.model_validate(summary)),
        continual_target,
        {"steps_per_stage": 512, "drift_pretrain_steps": 512, "drift_steps": 1024},
    ),
    "compare": PageSuite(  # its report draws figures as it is written, so the page reads it back
        lambda config, summary, folder: (folder / "report.md").read_text(encoding="utf-8"),
        agents_against_baselines,
        {"eval_freq": 512, "agents": [{"algo": "ppo", "n_timesteps": 1024}]},
    ),
}
QUICK_HYPERPARAMS = "default:\n  n_envs: 16\n  n_steps: 16\n  batch_size: 64\n  n_epochs: 1\n"


def suite_section(
    kind: str,
    folder: Path,
    out_dir: Path,
    quick: bool,
    name: str | None = None,
    target: Callable[[Any, dict[str, Any]], str] | None = None,
) -> list[str]:
    """Run (or read back) the ``kind`` suite (a key of :data:`PAGE_SUITES`) of ``experiments/configs/{name}.yml``
    (``name`` defaults to ``kind``) in ``folder``, and return its report as a section of the page, its figures
    copied beside the page with the config's name in front. Below the report: ``target(config, summary)`` where
    this config is held to a project target, else the suite's own target or finding."""
    suite, page = SUITES[kind], PAGE_SUITES[kind]
    name = name or kind
    overrides: dict[str, Any] = {}
    hyperparams = None
    if quick:
        overrides = {"seeds": 2, "n_eval": 32, **page.quick}
    if quick and suite.hyperparams:
        hyperparams = folder.parent / f"{name}_tiny_ppo.yml"
        folder.parent.mkdir(parents=True, exist_ok=True)
        hyperparams.write_text(QUICK_HYPERPARAMS)
    config = load_config(CONFIG_DIR / f"{name}.yml", suite.config, overrides)
    if not (folder / "summary.json").is_file():
        options = {"hyperparams": hyperparams} if suite.hyperparams else {}
        suite.run(config, folder, "cpu", progress_bar=False, **options)
    # Drawn again from the suite's summary and recorded config, so a suite finished earlier reads as today's
    # reports do; the project's targets are judged here, not in the report. A suite made on markets that have
    # changed since (a preset recalibrated, a file edited) is refused: its numbers are not today's.
    run = RunDirectory(folder)
    recorded = run.recorded()
    config = suite.config.model_validate(recorded["config"])
    run.check_scenarios(scenario_digests(config), recorded.get("kind", kind), "delete the folder to rerun this section")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    report = page.report(config, summary, folder)
    verdict = target(config, summary) if target else page.target(summary)

    def copied(picture: str) -> str:
        return picture if picture.startswith(f"{name}_") else f"{name}_{picture}"

    for picture in sorted(folder.glob("*.png")):
        shutil.copyfile(picture, out_dir / copied(picture.name))
    report = re.sub(r"\]\(([^)/]+\.png)\)", lambda m: f"]({copied(m.group(1))})", report)
    report = re.sub(r"^#", "##", report, flags=re.M)  # one level down: a section of the page
    command = f"shopgym {kind} experiments/configs/{name}.yml"
    return [
        report.rstrip(),
        "",
        verdict,
        "",
        f"Reproduce this section alone: `{command}` (same numbers for the same config).",
        "",
    ]
