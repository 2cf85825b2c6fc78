"""A comparison: SB3 agents (several training seeds each) and baselines, every policy evaluated on the same
shoppers (common random numbers), summarised with IQMs, bootstrap intervals, probabilities of improvement and
business KPIs, and written up as ``report.md`` with figures.

The comparison folder holds one run directory per agent and seed, ``scores.json`` (every run's KPIs and
learning curve: what the report is drawn from, so ``shopgym plot`` can redraw it), ``summary.json`` (written
last) and the report. Rerunning a killed comparison skips the training runs that finished and resumes the
others.

Profit per shopper gets two intervals, each labelled: over training (or policy) seeds, from three seeds on, and
over the evaluation shoppers, which deterministic baselines have too (see :mod:`shopgym.experiments.stats`).
:func:`plot_training_runs` draws the learning curves of separate ``shopgym train`` folders, one line per
env × scenario × algorithm × budget.

(Longer than the house's 350 lines because the protocol (train, then evaluate on common shoppers), its
statistics and its report share one table of scores; issue 11's single report module is to take the report out.)
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict

from shopgym.agents import TaskInfo
from shopgym.agents.evaluation import Evaluation, evaluate
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.configs import CompareConfig, TrainConfig
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.plots import plot_comparison, plot_improvement, plot_learning_curves
from shopgym.experiments.report import figure, table
from shopgym.experiments.runs import RunDirectory, RunError, slug
from shopgym.experiments.stats import (
    MIN_SEEDS,
    format_interval,
    half_width,
    has_interval,
    iqm_summary,
    probability_of_improvement,
    shopper_summary,
)
from shopgym.experiments.training import train_or_resume
from shopgym.files import write_atomic

__all__ = [
    "ComparisonSummary",
    "PolicySummary",
    "TrainingRun",
    "plot_training_runs",
    "read_curve",
    "read_scores",
    "read_training_run",
    "run_comparison",
    "summarise",
    "write_report",
]

log = logging.getLogger("shopgym")

MEANS = (
    "revenue_per_shopper",
    "purchases_per_shopper",
    "discount_cost_per_shopper",
    "ctr",
    "conversion",
    "avg_discount",
    "retention",
)


class PolicySummary(BaseModel):
    """One policy of a comparison: its kind, runs, profit per shopper over runs (``iqm``, ``low``, ``high``, ``n``:
    :func:`~shopgym.experiments.stats.iqm_summary`) and over the evaluation shoppers (``mean``, …:
    :func:`~shopgym.experiments.stats.shopper_summary`), its mean KPIs over runs, and the promotion cost per
    incremental sale against the comparison's reference (None: not measured, or no extra sales)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["agent", "oracle", "baseline"]
    runs: int
    profit_per_shopper: dict[str, Any]
    profit_per_shopper_over_shoppers: dict[str, Any]
    revenue_per_shopper: float
    purchases_per_shopper: float
    discount_cost_per_shopper: float
    ctr: float
    conversion: float
    avg_discount: float
    retention: float
    promo_cost_per_incremental_sale: float | None = None


class ComparisonSummary(BaseModel):
    """A comparison's results (``summary.json``): the market and protocol, every policy (:class:`PolicySummary`),
    the ranking by IQM profit per shopper, the best non-learned, non-oracle baseline, and P(X > Y) for every pair
    as (point, low, high). ``minutes`` is the wall time of the run that wrote it."""

    model_config = ConfigDict(extra="forbid")

    env_id: str
    scenario: Any
    seeds: int
    n_eval: int
    eval_seed: int
    ranking: list[str]
    best_baseline: str | None
    reference: str | None
    oracle: str | None
    policies: dict[str, PolicySummary]
    probability_of_improvement: dict[str, dict[str, list[float]]]
    minutes: float | None = None


def read_curve(run: Path, column: str = "mean_return") -> tuple[list[int], list[float]]:
    """(env steps, ``column``: by default the mean evaluation return) from a run's ``evaluations.csv``; a
    missing, empty or malformed file raises :class:`RunError` naming it."""
    path = run / "evaluations.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        curve = [int(r["env_steps"]) for r in rows], [float(r[column]) for r in rows]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"cannot read {str(path)!r}: {error}") from None
    except KeyError as error:
        raise RunError(f"{str(path)!r} has no column {error}") from None
    except (TypeError, ValueError) as error:  # a short row gives None, a bad cell a ValueError
        raise RunError(f"{str(path)!r} is malformed: {error}") from None
    if not rows:
        raise RunError(f"{str(path)!r} holds no evaluations")
    return curve


def _profit_scores(result: Evaluation) -> dict[str, float]:
    """An evaluation's KPIs and the half-width of the 95 % interval of its profit per shopper over shoppers."""
    return {**result.kpis(), "profit_half_width": half_width(result.totals["profit"])}


def _train_and_score(
    config: CompareConfig, out: Path, device: str, progress_bar: bool
) -> tuple[dict[str, list[dict]], dict[str, list]]:
    scores: dict[str, list[dict]] = {}
    curves: dict[str, list] = {}
    for spec in config.agents:
        for seed in range(config.seeds):
            run = RunDirectory(out / f"{slug(spec.algo)}-{spec.n_timesteps}-seed{seed}")
            train_config = TrainConfig(
                algo=spec.algo,
                env=config.env,
                scenario=config.scenario,
                seed=seed,
                n_timesteps=spec.n_timesteps,
                eval_freq=config.eval_freq,
                n_eval=config.n_eval,
                eval_seed=config.eval_seed,
                checkpoint_freq=config.checkpoint_freq,
            )
            train_or_resume(run, train_config, device, progress_bar=progress_bar)
            agent = SB3Agent.load(run.path / "model", device=device)
            result = evaluate(agent, config.env, config.n_eval, config.eval_seed, scenario=config.scenario)
            scores.setdefault(spec.label, []).append(_profit_scores(result))
            curves.setdefault(spec.label, []).append(read_curve(run.path))
    return scores, curves


def _score_baselines(config: CompareConfig) -> dict[str, list[dict]]:
    info = TaskInfo.of(gym.make(config.env, scenario=config.scenario))
    scores: dict[str, list[dict]] = {}
    for spec in config.baselines:
        log.info("evaluating %s", spec.name)
        for seed in range(config.seeds):
            policy = spec.build(info, seed)
            if spec.learns_online:  # one online episode of other shoppers, then a frozen evaluation
                evaluate(policy, config.env, config.n_eval, seed, learn=True, scenario=config.scenario)
            result = evaluate(policy, config.env, config.n_eval, config.eval_seed, scenario=config.scenario)
            scores.setdefault(spec.name, []).append(_profit_scores(result))
    return scores


def summarise(config: CompareConfig, scores: dict[str, list[dict]]) -> ComparisonSummary:
    """Per policy: profit per shopper as the IQM over runs with its 95 % CI over runs (``profit_per_shopper``)
    and as the mean with its 95 % CI over the evaluation shoppers (``profit_per_shopper_over_shoppers``; bounds
    None for runs scored before it was recorded), mean KPIs over runs, promotion cost per incremental sale
    against the reference; the best non-learned, non-oracle baseline; P(X > Y) for every pair."""
    agents = {spec.label for spec in config.agents}
    policies: dict[str, PolicySummary] = {}
    reference = scores.get(config.reference) if config.reference else None
    for name, runs in scores.items():
        entry: dict[str, Any] = {
            "kind": "agent" if name in agents else "oracle" if name == config.oracle else "baseline",
            "runs": len(runs),
            "profit_per_shopper": iqm_summary([r["profit_per_shopper"] for r in runs]),
            "profit_per_shopper_over_shoppers": shopper_summary(
                [r["profit_per_shopper"] for r in runs], [r.get("profit_half_width") for r in runs], config.n_eval
            ),
            **{key: float(np.mean([r[key] for r in runs])) for key in MEANS},
            "promo_cost_per_incremental_sale": None,
        }
        if reference is not None and name != config.reference:
            extra_sales = entry["purchases_per_shopper"] - np.mean([r["purchases_per_shopper"] for r in reference])
            extra_cost = entry["discount_cost_per_shopper"] - np.mean(
                [r["discount_cost_per_shopper"] for r in reference]
            )
            if extra_sales > 0:
                entry["promo_cost_per_incremental_sale"] = float(extra_cost / extra_sales)
        policies[name] = PolicySummary(**entry)
    baselines = [n for n, e in policies.items() if e.kind == "baseline"]
    best = max(baselines, key=lambda n: policies[n].profit_per_shopper["iqm"]) if baselines else None
    names = sorted(policies, key=lambda n: -policies[n].profit_per_shopper["iqm"])
    improvement = {
        a: {
            b: list(
                probability_of_improvement(
                    [r["profit_per_shopper"] for r in scores[a]], [r["profit_per_shopper"] for r in scores[b]]
                )
            )
            for b in names
            if b != a
        }
        for a in names
    }
    return ComparisonSummary(
        env_id=config.env,
        scenario=config.scenario,
        seeds=config.seeds,
        n_eval=config.n_eval,
        eval_seed=config.eval_seed,
        ranking=names,
        best_baseline=best,
        reference=config.reference,
        oracle=config.oracle,
        policies=policies,
        probability_of_improvement=improvement,
    )


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def write_report(
    out: Path, config: CompareConfig, scores: dict, curves: dict, minutes: float | None
) -> ComparisonSummary:
    """Draw the figures and write ``report.md`` into ``out`` from ``scores`` and ``curves``; returns the
    summary (which the caller writes)."""
    summary = summarise(config, scores)
    policies, best = summary.policies, summary.best_baseline
    seeds_ci = f"95 % CI over the {config.seeds} seeds (percentile bootstrap of the IQM)"
    shoppers_ci = f"95 % CI over the {config.n_eval:,} evaluation shoppers (normal interval of the mean)"
    over_seeds = {n: _bounds(p.profit_per_shopper, "iqm") for n, p in policies.items()}
    over_shoppers = {n: _bounds(p.profit_per_shopper_over_shoppers, "mean") for n, p in policies.items()}
    title = f"{config.env.split('/')[-1]}, {config.scenario} market: policies on the same shoppers"
    plot_comparison(
        over_seeds,
        out / "comparison.png",
        title,
        f"profit per shopper over one episode (currency units), IQM over {config.seeds} seed(s)",
        reference=config.oracle,
        interval_label=seeds_ci,
        shopper_intervals=over_shoppers,
    )
    names = summary.ranking
    matrix = np.array([[0.5 if a == b else summary.probability_of_improvement[a][b][0] for b in names] for a in names])
    plot_improvement(names, matrix, out / "improvement.png", "Probability of improvement in profit per shopper")
    figures = [*figure("comparison", "comparison.png"), *figure("probability of improvement", "improvement.png")]
    if curves:
        references = {}
        if best is not None:
            references[f"best baseline: {best}"] = policies[best].profit_per_shopper["iqm"]
        if config.oracle:
            references[config.oracle] = policies[config.oracle].profit_per_shopper["iqm"]
        plot_learning_curves(
            {n: [(np.asarray(s), np.asarray(r)) for s, r in runs] for n, runs in curves.items()},
            out / "learning_curves.png",
            f"{config.env.split('/')[-1]}: evaluation return while training",
            references,
        )
        figures = [*figures[:2], *figure("learning curves", "learning_curves.png"), *figures[2:]]
    too_few = f" With fewer than {MIN_SEEDS} seeds: n/a." if config.seeds < MIN_SEEDS else ""
    notes = [
        f"¹ Interquartile mean over runs, {seeds_ci}: how much the result depends on the seed (a policy that"
        f" gives the same result every seed has a zero-width one).{too_few}",
        f"² Mean over runs, {shoppers_ci}: how much it depends on which shoppers were sampled. With several"
        " runs it is ± the mean of the runs' half-widths, a conservative bound for runs on the same shoppers.",
    ]
    if best:
        notes.append(
            f"³ The probability that a random run of the policy earns more than a random run of the best non-oracle"
            f" baseline, `{best}`, with its 95 % CI over the {config.seeds} seeds (percentile bootstrap, the runs of"
            f" each policy resampled separately).{too_few}"
        )
    if config.reference:
        notes.append(
            f"Promotion cost per incremental sale: extra discount given away per extra purchase, against"
            f" `{config.reference}` (n/a: no extra purchases)."
        )
    if config.oracle:
        notes.append(f"`{config.oracle}` reads the hidden shopper state: a reference, not a deployable policy.")
    lines = [
        f"# shopgym comparison: {config.env}, `{config.scenario}` market",
        "",
        f"Every policy is evaluated on the same {config.n_eval:,} shoppers (seed {config.eval_seed}, one episode"
        f" each). Agents: {config.seeds} training seeds each; baselines: {config.seeds} policy seeds. Columns"
        " without a note are means over runs." + (f" Wall time: {minutes:.1f} minutes." if minutes is not None else ""),
        "",
        *figures,
    ]
    rows = []
    for name in names:
        p = policies[name]
        if best is None or name == best:
            versus = "–"
        else:
            point, low, high = summary.probability_of_improvement[name][best]
            # P(X > Y) is the mean, over pairs of runs, of 1[X > Y] (ties ½), with an interval over runs
            pairs = min(p.runs, policies[best].runs)
            versus = format_interval({"mean": point, "low": low, "high": high, "n": pairs}, 2)
        rows.append(
            [
                name,
                format_interval(p.profit_per_shopper),
                format_interval(p.profit_per_shopper_over_shoppers),
                versus,
                f"{p.revenue_per_shopper:.1f}",
                f"{p.conversion:.3f}",
                f"{p.avg_discount:.3f}",
                f"{p.retention:.3f}",
                _money(p.promo_cost_per_incremental_sale),
            ]
        )
    header = ["policy", "profit / shopper: IQM [CI over seeds¹]", "profit / shopper: mean [CI over shoppers²]"]
    header += ["P(> best baseline)³", "revenue / shopper", "conversion", "avg discount", "retention"]
    lines += table([*header, "promo cost / incremental sale"], rows)
    for note in notes:
        lines += ["", note]
    write_atomic(out / "report.md", "\n".join(lines) + "\n")
    return summary


def _bounds(stat: dict[str, Any], point: str) -> tuple[float, float | None, float | None]:
    """(point, low, high) of a summary for a figure; no bounds where the report prints no interval."""
    if not has_interval(stat):
        return stat[point], None, None
    return stat[point], stat["low"], stat["high"]


def read_scores(folder: Path) -> dict[str, Any]:
    """A comparison's ``scores.json`` (``scores``, ``curves``, ``minutes``); :class:`RunError` naming the file when
    it cannot be read or lacks them."""
    path = folder / "scores.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"cannot read {str(path)!r}: {error}") from None
    if not (isinstance(data, dict) and isinstance(data.get("scores"), dict) and isinstance(data.get("curves"), dict)):
        raise RunError(f"{str(path)!r} is not a comparison's scores (a mapping with 'scores' and 'curves')")
    return data


def run_comparison(
    config: CompareConfig, out: str | Path, device: str = "auto", progress_bar: bool = False
) -> ComparisonSummary:
    """Run (or continue) the comparison ``config`` in the folder ``out``; returns the summary."""
    report = RunDirectory(out)
    report.begin(config.model_dump(mode="json"), "comparison", device, scenario_digests(config))
    started = time.perf_counter()
    scores, curves = _train_and_score(config, report.path, device, progress_bar)
    scores.update(_score_baselines(config))
    minutes = (time.perf_counter() - started) / 60
    report.write_json("scores.json", {"scores": scores, "curves": curves, "minutes": minutes})
    summary = write_report(report.path, config, scores, curves, minutes).model_copy(
        update={"minutes": round(minutes, 2)}
    )
    report.write_json("summary.json", summary.model_dump())
    return summary


# ---------------------------------------------------------------------- learning curves of training runs
#: Config keys in which the seeds of one line may differ (fine-tuned runs start from their own seed's model).
PER_SEED = ("seed", "init_from")


@dataclass(frozen=True)
class TrainingRun:
    """A ``shopgym train`` folder: its recorded config and hyperparameters and its evaluation curve."""

    path: Path
    config: dict[str, Any]
    hyperparams: dict[str, Any] | None
    steps: list[int]
    returns: list[float]

    @property
    def market(self) -> tuple[str, str]:
        """What one figure shows: (env id, scenario reference as JSON)."""
        return self.config["env"], json.dumps(self.config["scenario"], sort_keys=True)

    @property
    def line(self) -> str:
        """The label of the line this run is a seed of: algorithm and budget (a figure holds one market)."""
        tuned = ", fine-tuned" if self.config.get("init_from") else ""
        return f"{self.config['algo'].upper()} ({self.config['n_timesteps']:,} steps{tuned})"

    def setting(self) -> dict[str, Any]:
        """Everything that must agree between the seeds of one line."""
        shared = {k: v for k, v in self.config.items() if k not in PER_SEED}
        return {**shared, "fine-tuned": bool(self.config.get("init_from")), "hyperparams": self.hyperparams}


def read_training_run(path: Path) -> TrainingRun:
    """The training run in ``path``; :class:`RunError` naming the file when it is not one or cannot be read."""
    if not (path / "run.json").is_file() or not (path / "evaluations.csv").is_file():
        raise RunError(
            f"{str(path)!r} is neither a comparison (scores.json) nor a training run (run.json, evaluations.csv)"
        )
    recorded = RunDirectory(path).recorded()
    config = recorded.get("config") if isinstance(recorded, dict) else None
    needed = ("algo", "env", "scenario", "n_timesteps", "seed")
    if not isinstance(config, dict) or any(key not in config for key in needed):
        raise RunError(f"{str(path / 'run.json')!r} records no training config ({', '.join(needed)})")
    steps, returns = read_curve(path)
    return TrainingRun(path, config, recorded.get("hyperparams"), steps, returns)


def _scenario_name(reference: Any) -> str:
    if isinstance(reference, dict):
        return str(reference.get("name", "custom scenario"))
    name = str(reference)
    return Path(name).stem if name.endswith((".yml", ".yaml")) else name


def _seeds_of_lines(runs: list[TrainingRun], notes: list[str]) -> dict[str, list[TrainingRun]]:
    """The runs of one market as lines: the seeds of each algorithm × budget, a run repeated with the same config
    and seed counted once (noted); seeds that differ in anything else, or one seed twice, raise RunError."""
    lines: dict[str, list[TrainingRun]] = {}
    for run in runs:
        seeds = lines.setdefault(run.line, [])
        first = seeds[0] if seeds else run
        theirs, ours = first.setting(), run.setting()
        differs = sorted(k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k))
        if differs:
            key = differs[0]
            raise RunError(
                f"{str(first.path)!r} and {str(run.path)!r} are both {run.line} but differ in {key}"
                f" ({theirs.get(key)!r} vs {ours.get(key)!r}): plot them separately"
            )
        twin = next((s for s in seeds if s.config["seed"] == run.config["seed"]), None)
        if twin is None:
            seeds.append(run)
        elif twin.config == run.config:
            notes.append(f"{str(run.path)!r} repeats {str(twin.path)!r} (same config and seed): counted once")
        else:
            raise RunError(
                f"{str(twin.path)!r} and {str(run.path)!r} are both seed {run.config['seed']} of {run.line}"
                " but were trained differently: plot them separately"
            )
    return lines


def plot_training_runs(
    paths: list[Path], out: Path | None, title: str, split: bool = False
) -> tuple[list[Path], list[str]]:
    """Draw the learning curves of training runs: one figure per env × scenario (runs of several are refused with
    :class:`RunError` unless ``split``), one line per algorithm × budget whose runs are its seeds. Written to
    ``out`` (a .png; with ``split`` a folder) or by default beside the runs (the folder that holds them all), as
    ``learning_curves_<env>_<scenario>.png``. Returns (the files written, notes for the user)."""
    runs = [read_training_run(path) for path in paths]
    markets: dict[tuple[str, str], list[TrainingRun]] = {}
    for run in runs:
        markets.setdefault(run.market, []).append(run)
    names = {m: f"{m[0]}, {_scenario_name(group[0].config['scenario'])}" for m, group in markets.items()}
    if len(markets) > 1 and not split:
        raise RunError(
            f"the runs cover {len(markets)} env × scenario pairs ({'; '.join(names.values())}), which one figure"
            " cannot compare: pass --split for one figure each"
        )
    if split and out is not None and out.suffix:
        raise RunError(f"--out {str(out)!r}: with --split, --out names a folder for the figures")
    if not split and out is not None and out.suffix.lower() != ".png":
        raise RunError(f"--out {str(out)!r} must name a .png file when plotting training runs")
    folder = out if split and out is not None else Path(os.path.commonpath([p.resolve().parent for p in paths]))
    notes: list[str] = []
    written: list[Path] = []
    for market, group in markets.items():
        lines = _seeds_of_lines(group, notes)
        name = f"learning_curves_{slug(market[0].split('/')[-1])}_{slug(_scenario_name(group[0].config['scenario']))}"
        target = out if out is not None and not split else folder / f"{name}.png"
        if target in written:  # two inline scenarios of the same name
            target = folder / f"{name}-{len(written)}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        curves = {
            label: [(np.asarray(r.steps), np.asarray(r.returns)) for r in seeds] for label, seeds in lines.items()
        }
        plot_learning_curves(curves, target, f"{names[market]}: {title}")
        written.append(target)
    return written, notes
