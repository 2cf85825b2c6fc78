"""The Markdown of every report (comparison, transfer, continual, sweep, tuning, the results page): tables and
embedded figures. Intervals are printed by the one formatter, :func:`shopgym.experiments.stats.format_interval`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["figure", "table"]


def _row(cells: Sequence[object]) -> str:
    return "|" + "|".join(f" {cell} " if str(cell) else " " for cell in cells) + "|"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None) -> list[str]:
    """A Markdown table as lines: the ``header``, the rule, then one line per row (cells printed with ``str``; an
    empty one stays empty). ``align`` gives one letter per column, ``l`` (left) or ``r`` (right: numbers);
    by default the first column is left-aligned and the others right. A row of another width raises ValueError."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align {align!r} must give 'l' or 'r' for each of the {len(header)} columns")
    lines = [_row(header), "|" + "".join("---|" if a == "l" else "---:|" for a in align)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(header)} columns: {row!r}")
        lines.append(_row(row))
    return lines


def figure(caption: str, file: str) -> list[str]:
    """An embedded figure (a file beside the report) and the blank line after it."""
    return [f"![{caption}]({file})", ""]
