"""Regenerate the README's quickstart results from a run of the main job.

Run: ``python benchmarks/readme_quickstart.py`` (runs ``shopgym quickstart`` into ``runs/readme-quickstart``,
about 4 minutes on 2 cores) or ``python benchmarks/readme_quickstart.py --from runs/quickstart-<time>`` (an
existing run). It copies the run's figures into ``docs/quickstart/`` and rewrites the README between the
``<!-- quickstart:begin -->`` and ``<!-- quickstart:end -->`` markers: where and how long it ran, the figures,
the report's table and notes as the run wrote them, and each agent's final profit per seed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- quickstart:begin -->", "<!-- quickstart:end -->"
FIGURES = ("comparison.png", "learning_curves.png", "improvement.png")


def report_table(report: str) -> tuple[list[str], list[str]]:
    """(table lines, note paragraphs) of a comparison's report.md: its one Markdown table and what follows it."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| policy |"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    notes = [line for line in lines[end:] if line.strip()]
    return lines[start:end], notes


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _per_seed(folder: Path) -> list[str]:
    scores = json.loads((folder / "scores.json").read_text())["scores"]
    config = json.loads((folder / "run.json").read_text())["config"]
    agents = {f"{a['algo'].upper()} ({a['n_timesteps']:,} steps)" for a in config["agents"]}
    return [
        f"{name}: " + ", ".join(f"{run['profit_per_shopper']:.1f}" for run in runs)
        for name, runs in scores.items()
        if name in agents
    ]


def section(folder: Path, minutes: float | None) -> str:
    """The README block for the quickstart run in ``folder``."""
    table, notes = report_table((folder / "report.md").read_text(encoding="utf-8"))
    took = f"it took {minutes:.1f} minutes" if minutes is not None else "it ran"
    versions = f"Python {platform.python_version()}, torch {metadata.version('torch')}"
    lines = [
        f"Produced by `python benchmarks/readme_quickstart.py` on {_cpu()} ({os.cpu_count()} cores, {versions}):"
        f" {took}. Same seed, same numbers on the same machine; another CPU or library build gives other numbers,"
        " since floating-point sums differ. Final profit per shopper of each training seed: "
        + "; ".join(_per_seed(folder))
        + ".",
        "",
        *(
            f"![quickstart {name.removesuffix('.png').replace('_', ' ')}](docs/quickstart/{name})" + "\n"
            for name in FIGURES[:2]
        ),
        *table,
        "",
        *(note + "\n" for note in notes),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="an existing quickstart folder")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "readme-quickstart")
    args = parser.parse_args()
    minutes = None
    folder = args.source
    if folder is None:
        folder = args.out
        started = time.perf_counter()
        command = [sys.executable, "-m", "shopgym.experiments.cli", "quickstart", "--out", str(folder)]
        subprocess.run(command, cwd=ROOT, check=True)
        minutes = (time.perf_counter() - started) / 60
    for name in FIGURES:
        shutil.copyfile(folder / name, ROOT / "docs" / "quickstart" / name)
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {BEGIN} … {END} block")
    README.write_text(pattern.sub(lambda _: f"{BEGIN}\n{section(folder, minutes)}{END}", text), encoding="utf-8")
    print(f"README.md and docs/quickstart/ updated from {folder}")


if __name__ == "__main__":
    main()
