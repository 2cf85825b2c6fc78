"""Result files pinned across refactors of ``experiments/`` (issue 11): a tiny comparison, transfer suite and
continual suite (fixed seeds and budgets, in the tests that run them) must keep giving the same ``summary.json`` and
``report.md``.

``SHOPGYM_RECORD_FIXTURES=1 pytest tests/test_cli.py tests/test_transfer.py tests/test_continual.py`` rewrites the
fixtures in ``tests/fixtures/suites/``; otherwise the tests compare exactly. Wall-clock times and folder paths
differ between runs and are left out.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "suites"
#: Keys whose values differ between identical runs: timings and where the run was written; and, in prose, the
#: measured training-time ratios.
VOLATILE = frozenset({"minutes", "seconds", "train_seconds", "wall_seconds", "wall_minutes", "out", "path", "folder"})


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"[\d.]+× training time", "…× training time", value)
    return value


def _stable_report(text: str) -> str:
    """A report without what differs between identical runs: wall-clock times and training-time ratios."""
    text = re.sub(r"(Wall time[^:]*): [\d.]+ minutes", r"\1: … minutes", text)
    text = re.sub(r"[\d.]+× \|$", "…× |", text, flags=re.M)  # continual: training time vs naive, the last column
    return _stable(text)


def check_against_fixture(name: str, summary: dict[str, Any], report: str | None = None) -> None:
    """Compare ``summary`` (as its JSON file holds it), and ``report`` (its report.md) if given, with the recorded
    ``name`` fixtures, or record them."""
    stable = _stable(json.loads(json.dumps(summary, default=float)))
    path = FIXTURES / f"{name}.json"
    report_path = FIXTURES / f"{name}.report.md"
    if os.environ.get("SHOPGYM_RECORD_FIXTURES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stable, indent=1, sort_keys=True) + "\n")
        if report is not None:
            report_path.write_text(_stable_report(report))
        return
    recorded = json.loads(path.read_text())
    assert stable == recorded, f"{name}: the suite's results changed (see tests/suite_fixtures.py)"
    if report is not None:
        assert _stable_report(report) == report_path.read_text(), f"{name}: the report changed"
