"""Regenerate the demand tables of docs/model.md §10.1: every preset's short- and long-run price elasticity at
list price against Lerner's rule, and the decomposition of a promotion's bump on two presets.

Run: ``python benchmarks/demand_tables.py`` (about a minute on 2 cores). It rewrites docs/model.md between the
``<!-- demand:begin -->`` and ``<!-- demand:end -->`` markers.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from shopgym.demand import decompose_promotion, price_elasticities
from shopgym.scenarios import list_scenarios

MODEL = Path(__file__).resolve().parents[1] / "docs" / "model.md"
BEGIN, END = "<!-- demand:begin -->", "<!-- demand:end -->"


def tables() -> list[str]:
    """The Markdown lines of both tables, computed now."""
    lines = [
        "| preset | long-run ε | Lerner −1/m̄ | short-run ε | units per visit at list price |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in list_scenarios():
        e = price_elasticities(name, shoppers=40_000, visits=40)
        lines.append(f"| `{name}` | {e.long_run:.2f} | {e.lerner:.2f} | {e.short_run:.2f} | {e.units_per_visit:.3f} |")
    lines += [
        "",
        "| preset | bump (units per shopper) | switching | borrowed from later visits | category expansion "
        "| of the bump: extra units per purchase | category units after, visits 1-3 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("grocery", "default"):
        b = decompose_promotion(name)
        dip = ", ".join(f"{v:+.4f}" for v in b.dip_by_visit[:3])
        lines.append(
            f"| `{name}` | {b.bump:.3f} | {b.switching:.0%} | {b.borrowed:.0%} | {b.expansion:.0%} "
            f"| {b.stockpiling:.0%} | {dip} |"
        )
    return lines


def main() -> None:
    start = time.perf_counter()
    block = "\n".join([BEGIN, *tables(), END])
    text = MODEL.read_text(encoding="utf-8")
    MODEL.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
    print(block)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
