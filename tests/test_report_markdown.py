"""The one Markdown module every report uses (issue 11): tables and embedded figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopgym.experiments.report import figure, table

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_table_aligns_numbers_right_and_keeps_empty_cells_empty():
    lines = table(["policy", "J", "note"], [["PPO", 1.5, ""], ["`dp`", "2.0 [1.0, 3.0]", "x"]], "lrl")
    assert lines == ["| policy | J | note |", "|---|---:|---|", "| PPO | 1.5 | |", "| `dp` | 2.0 [1.0, 3.0] | x |"]
    assert table(["a", "b"], [])[1] == "|---|---:|"  # default: first column left, the rest right


@pytest.mark.parametrize(
    ("header", "rows", "align", "message"),
    [(["a", "b"], [["only one"]], None, "a row of 1 cells"), (["a", "b"], [], "lrx", "align 'lrx'")],
)
def test_a_malformed_table_is_refused(header, rows, align, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        table(header, rows, align)


def test_figure_embeds_a_file_beside_the_report():
    assert figure("R matrices", "matrices.png") == ["![R matrices](matrices.png)", ""]


@pytest.mark.parametrize("path", sorted(p for p in EXPERIMENTS.rglob("*.py") if p.name != "report.py"), ids=str)
def test_reports_build_tables_with_the_one_module(path):
    rules = re.findall(r"\|-{3}:?\|", path.read_text(encoding="utf-8"))
    assert not rules, f"{path.name} writes a Markdown table rule itself: use shopgym.experiments.report.table"
