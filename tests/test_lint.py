"""The guard rails hold on every change: ruff's rules in pyproject.toml (complexity at most 15, docstrings on
public classes and functions, imports, style), its formatting, and the house's module size (a module over 400
lines says in its docstring why it is long)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")

pytestmark = pytest.mark.skipif(RUFF is None, reason="ruff is not installed (pip install 'shopgym[dev]')")


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run([RUFF, *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


#: A module longer than this says why in its docstring (the house's rule is ~350 lines).
LONG = 400
REASON = "Longer than the house's 350 lines because"


def test_long_modules_say_why_in_their_docstring() -> None:
    import ast

    long = []
    for folder in ("shopgym", "agents", "experiments"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_symlink() or any(p.is_symlink() for p in path.parents if p != ROOT and ROOT in p.parents):
                continue
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > LONG and REASON not in " ".join((ast.get_docstring(ast.parse(text)) or "").split()):
                long.append(str(path.relative_to(ROOT)))
    assert not long, f"modules over {LONG} lines without '{REASON} …' in their docstring: {long}"
