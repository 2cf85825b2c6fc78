"""Agent results for docs/results.md: Pricing-v1 against the exact optimum, the Marketing-v1 comparison,
training speed, and the transfer and continual-learning suites.

Run: ``python -m shopgym.experiments.agent_results`` (104 minutes on 2 shared CPU cores for the Marketing-v1
comparison, plus about an hour each for the transfer and continual suites of ``experiments/configs/``; ``--quick``
for a smoke run). Every finished run is a cell of the store ``runs/agent_results/full/`` (one JSON file each,
written atomically), and the suites keep their own resumable folders in it, so a killed run resumes where it
stopped. The Marketing-v1 section is the comparison suite of ``shopgym compare`` run on
``experiments/configs/marketing.yml``, as the sections on the calibrated markets are on theirs. The page is written
to ``--out`` (default ``docs/results.md``) with its figures beside it; ``--sections`` reruns only those sections
and keeps the others as the page has them. Each section is a module of :mod:`shopgym.experiments.results`; this
one assembles the page.

The project's own acceptance targets (``experiments/configs/targets.yml``: J(π) ≥ 0.95 J* on Pricing-v1, PPO ≥
+10 % over the best non-oracle baseline on Marketing-v1, and those of the transfer and continual suites) are judged
in those sections, on this page only: the reports of ``shopgym compare``, ``shopgym transfer`` and ``shopgym
continual`` state results, not our targets.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import shopgym  # noqa: F401
from shopgym.experiments.mechanisms import mechanism_section
from shopgym.experiments.promote_bound import promote_bound_section
from shopgym.experiments.results.common import market
from shopgym.experiments.results.memory import memory_section
from shopgym.experiments.results.pricing import pricing_section
from shopgym.experiments.results.speed import speed_section
from shopgym.experiments.results.suites import marketing_target, suite_section
from shopgym.experiments.runs import CellStore, RunError
from shopgym.files import write_atomic
from shopgym.perf import tune_malloc
from shopgym.scenarios import list_scenarios

ROOT = Path(__file__).resolve().parents[1]
#: Title and budget of each section, for the page when the section was not run.
PENDING = {
    "pricing": "Pricing-v1: PPO and DQN against the exact optimum (3 presets × 5 seeds × 200,000 steps)",
    "mechanisms": "Pricing-v1: which mechanism produces which price path",
    "promote_bound": "Promote-v1 (reduced): how far from optimal?",
    "marketing": "Marketing-v1: every policy on the same shoppers (`experiments/configs/marketing.yml`, 1.7 h)",
    "memory": "Promote-v1: does memory help? (RecurrentPPO against PPO, 3 seeds × 300,000 steps)",
    "speed": "Training speed (PPO on Marketing-v1)",
    "transfer": "Transfer (`experiments/configs/transfer.yml`, about an hour)",
    "continual": "Continual learning (`experiments/configs/continual.yml`, about 20 minutes)",
    "zozotown": "Marketing-v1 on the calibrated `zozotown` market (`experiments/configs/marketing_zozotown.yml`)",
    "tafeng": "Promote-v1 on the calibrated `tafeng` market (`experiments/configs/promote_tafeng.yml`)",
}


#: The line before each section of the page, so that a run of some sections keeps the others' text.
MARKER = "<!-- section: {} -->"


def page_sections(page: Path) -> dict[str, list[str]]:
    """The sections of an existing page by name: the lines after each section's :data:`MARKER` up to the next
    (none without a page or markers)."""
    start, end = MARKER.split("{}")
    found: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for line in page.read_text().splitlines() if page.is_file() else []:
        if line.startswith(start) and line.endswith(end):
            lines = found.setdefault(line[len(start) : -len(end)], [])
        elif lines is not None:
            lines.append(line)
    return found


def bound_section(quick: bool) -> list[str]:
    """The reduced-Promote upper bound on ``default`` (:mod:`shopgym.experiments.promote_bound`)."""
    if quick:
        return promote_bound_section("default", ppo_steps=1024, n_shoppers=256, grid=(6, 3, 21))
    return promote_bound_section("default", ppo_steps=200_000, n_shoppers=100_000)


def main() -> None:
    """Write docs/results.md (or ``--out``) from the cached or newly run sections."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke test); numbers are meaningless")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="store of finished runs (default: runs/agent_results/full or quick)",
    )
    parser.add_argument("--sections", nargs="+", default=None, help="only these sections (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)  # which cells run, and how long
    tune_malloc()
    if args.quick:
        budget = {
            "seeds": 2,
            "pricing_steps": 2048,
            "n_eval": 64,
            "speed": 2048,
            "memory": 1024,
        }
    else:
        budget = {
            "seeds": 5,
            "pricing_steps": 200_000,
            "n_eval": 2000,
            "speed": 100_000,
            "memory": 300_000,
        }
    store = args.cache or ROOT / "runs" / "agent_results" / ("quick" if args.quick else "full")
    cells = CellStore(store / "cells")
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    # A section cell's key names the markets it is computed on as they are today (mechanisms: every preset).
    mechanisms = f"sections/mechanisms/{market(*list_scenarios())}"
    sections: dict[str, Callable[[], list[str]]] = {
        "pricing": lambda: pricing_section(cells, budget["seeds"], budget["pricing_steps"], 4 * budget["n_eval"]),
        "mechanisms": lambda: cells.get(mechanisms, lambda: mechanism_section(501 if args.quick else 2001)),
        "promote_bound": lambda: cells.get(
            f"sections/promote_bound/{market('default')}", lambda: bound_section(args.quick)
        ),
        "marketing": lambda: suite_section(
            "compare", store / "marketing", out_dir, args.quick, "marketing", marketing_target
        ),
        "memory": lambda: memory_section(cells, min(budget["seeds"], 3), budget["memory"], budget["n_eval"]),
        "speed": lambda: speed_section(cells, budget["speed"]),
        "transfer": lambda: suite_section("transfer", store / "transfer", out_dir, args.quick),
        "continual": lambda: suite_section("continual", store / "continual", out_dir, args.quick),
        "zozotown": lambda: suite_section(
            "compare", store / "marketing_zozotown", out_dir, args.quick, "marketing_zozotown"
        ),
        "tafeng": lambda: suite_section("compare", store / "promote_tafeng", out_dir, args.quick, "promote_tafeng"),
    }
    chosen = args.sections or list(sections)
    unknown = sorted(set(chosen) - set(sections))
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {', '.join(sections)}")
    lines = [
        "# Results: agents on shopgym",
        "",
        "Produced by `python -m shopgym.experiments.agent_results` (cached per run under `runs/agent_results/`; delete",
        "the cache to recompute) on shopper model v2 (the `-v1` ids). Machine: 2 CPU cores, no GPU.",
        "",
    ]
    kept = page_sections(args.out)
    try:  # in the order asked for; the page keeps its own
        built = {section: sections[section]() for section in chosen}
    except RunError as error:  # e.g. a cached suite made on a market that has changed since: one line, page untouched
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    for section in sections:
        lines.append(MARKER.format(section))
        if section in built:
            lines += built[section]
        elif section in kept:  # not rerun: as the page has it
            lines += kept[section]
        else:
            lines += [
                f"## {PENDING[section]}: not rerun on shopper model v2 yet",
                "",
                f"`python -m shopgym.experiments.agent_results --sections {section}` (the other sections stay as this",
                "page has them). The first model's results are in the git history of this page (shopgym 0.1.0).",
                "",
            ]
    write_atomic(args.out, "\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
