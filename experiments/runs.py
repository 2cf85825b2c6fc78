"""The one run store: run directories (what produced a run: config, seeds, versions, git revision, command line;
and its outputs) and the cells of a suite inside them (each finished result one JSON file, computed once and read
back on every later run, so a killed suite resumes where it stopped). Every file is written atomically (temporary
file, then rename)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from shopgym.files import write_atomic

__all__ = ["SWEEP", "TRAINING", "CellStore", "RunDirectory", "RunError", "slug"]

log = logging.getLogger("shopgym")

TRAINING = "training run"  # the kind of run that `train` writes
SWEEP = "sweep"
SWEEP_MARKER = "manifest.json"  # a sweep folder holds no run.json; its manifest marks it

PACKAGES = ("shopgym", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "numpy", "scipy", "matplotlib")


def slug(text: str) -> str:
    """``text`` as a safe folder- or file-name part: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class RunError(RuntimeError):
    """A run cannot start or continue; the message says why in one line."""


def _versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _git_revision() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


class RunDirectory:
    """A folder that holds one run. ``summary.json`` is written last: its presence marks a finished run.

    A run starts only in a new or empty folder and continues only in a folder that holds a run of its own kind
    (see :meth:`claim`), so shopgym never overwrites, truncates or deletes files it did not write."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"--out {str(self.path)!r} is a file, not a folder")

    @property
    def finished(self) -> bool:
        return (self.path / "summary.json").exists()

    def recorded(self) -> dict[str, Any] | None:
        """The contents of ``run.json`` (what produced the run), or None if the folder holds no run."""
        path = self.path / "run.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise RunError(f"cannot read {str(path)!r}: {error}") from None

    def claim(self, kind: str) -> bool:
        """Whether this folder already holds a ``kind`` (a training run, a comparison, …, a sweep); False if it is
        new or empty, so a run can start here. Refuses (:class:`RunError`) a folder that holds files shopgym did
        not write, or a run of another kind. Call it before writing anything here."""
        if not self.path.exists():
            return False
        # Leftover temporary files of write_atomic (a run killed while writing run.json) do not count.
        names = sorted(p.name for p in self.path.iterdir() if not (p.name[0] == "." and p.name.endswith(".tmp")))
        if not names:
            return False
        if (self.path / SWEEP_MARKER).is_file():
            found = SWEEP
        else:
            recorded = self.recorded()
            if not (isinstance(recorded, dict) and "config" in recorded):  # no run.json that shopgym wrote
                shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
                raise RunError(
                    f"{str(self.path)!r} holds files shopgym did not write ({shown}); choose a new or empty --out"
                )
            found = recorded.get("kind", TRAINING)  # a training run from before kinds were recorded has none
        if found != kind:
            raise RunError(f"{str(self.path)!r} holds a {found}, not a {kind}; choose another --out")
        return True

    def start(self, config: dict[str, Any], kind: str = TRAINING, **extra: Any) -> None:
        """Create the folder and record what produces the run: ``config``, its ``kind`` and ``extra`` top-level
        entries. Refuses a folder that is not new or empty (see :meth:`claim`): one that holds a finished run of
        this kind, or an unfinished one (which ``--resume`` continues)."""
        if self.claim(kind):
            if self.finished:
                raise RunError(f"{str(self.path)!r} already holds a finished run (summary.json); choose another --out")
            raise RunError(
                f"{str(self.path)!r} holds an unfinished run; pass --resume to continue it, or choose another --out"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_json(
            "run.json",
            {
                "config": config,
                "kind": kind,
                **extra,
                "versions": _versions(),
                "git_revision": _git_revision(),
                "command": sys.argv,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )

    def begin(self, config: dict[str, Any], what: str, device: str, scenarios: dict[str, str], **pinned: Any) -> None:
        """Start a run of ``config`` (a ``what``: comparison, transfer suite, …) here, or continue the unfinished
        one of the same config and ``pinned`` entries; a finished run or another config is refused. ``scenarios``
        (:func:`~shopgym.experiments.markets.scenario_digests`: the sha256 of every market the config names) is
        recorded, and a run whose markets have changed since it started is refused (:meth:`check_scenarios`)."""
        if not self.claim(what):
            self.start(config, what, device=device, scenarios=scenarios, **pinned)
            return
        if self.finished:
            raise RunError(f"{str(self.path)!r} already holds a finished {what} (summary.json); choose another --out")
        recorded = self.recorded()
        if recorded.get("config") != config or any(recorded.get(k) != v for k, v in pinned.items()):
            differs = "config" + "".join(f" or {k}" for k in pinned)
            raise RunError(f"{str(self.path)!r} holds an unfinished {what} of another {differs}; choose another --out")
        self.check_scenarios(scenarios, what, "choose another --out, or delete the folder to start afresh")
        self.note_resume()

    def check_scenarios(self, scenarios: dict[str, str], what: str, remedy: str) -> None:
        """Refuse (:class:`RunError`, ending in ``remedy``) the ``what`` here if a market it was made on has
        changed since it started: its ``scenarios`` (reference → sha256, as :meth:`begin` records them) differ from
        today's, or it recorded none (a run from before they were recorded, whose markets are unknown)."""
        recorded = (self.recorded() or {}).get("scenarios")
        for ref, digest in scenarios.items():
            # a preset name or a file path in full (what the user must find); an inline mapping cut short
            shown = ref if not ref.startswith("{") or len(ref) <= 80 else ref[:77] + "..."
            if not isinstance(recorded, dict) or ref not in recorded:
                raise RunError(
                    f"{str(self.path)!r} holds a {what} that recorded no fingerprint of scenario {shown!r}, which may"
                    f" have changed since it started; {remedy}"
                )
            if recorded[ref] != digest:
                raise RunError(
                    f"{str(self.path)!r} holds a {what} made on scenario {shown!r}, which has changed since it started"
                    f" (its sha256 differs); {remedy}"
                )

    def note_resume(self) -> None:
        """Add this command line and time to the ``resumes`` list in ``run.json``."""
        recorded = self.recorded()
        resumes = recorded.setdefault("resumes", [])
        resumes.append({"command": sys.argv, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        self.write_json("run.json", recorded)

    def write_json(self, name: str, data: Any) -> None:
        write_atomic(self.path / name, json.dumps(data, indent=1, default=float) + "\n")


#: A cell key: names of letters, digits, ``_ . = -`` (not starting with ``.`` or ``-``) joined by ``/``.
_KEY = re.compile(r"[A-Za-z0-9_=][A-Za-z0-9_.=-]*(/[A-Za-z0-9_=][A-Za-z0-9_.=-]*)*")


class CellStore:
    """The cells of a suite: the cell ``key`` is the file ``folder/<key>.json``, always written atomically. A
    finished result (a training seed's scores, an evaluation, a section of a page) is computed once and read back
    by every later run (:meth:`get`); a table the suite keeps up to date as it goes (a sweep's jobs and their
    status) is rewritten whole (:meth:`put`). Keys are ``/``-separated names (see :meth:`path`), so the layout on
    disk is the keys'."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """The file of ``key``; a key that is not ``/``-separated names of letters, digits, ``_ . = -`` raises
        ValueError (it could escape the folder or clash with another key's file)."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"cell key {key!r} must be '/'-separated names of letters, digits, '_', '.', '=', '-'")
        return self.folder / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def read(self, key: str) -> Any:
        """The finished cell ``key``; :class:`RunError` naming its file when it cannot be read."""
        path = self.path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RunError(f"cannot read {str(path)!r}: {error}") from None

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cell ``key``: read back if an earlier run finished it, else ``compute()`` (JSON-serialisable),
        written, and returned as it reads back (tuples as lists, so a first and a resumed run see the same)."""
        if key in self:
            log.info("%s: finished earlier", key)
            return self.read(key)
        log.info("%s: running", key)
        start = time.perf_counter()
        value = self.put(key, compute())
        log.info("%s: %.0f s", key, time.perf_counter() - start)
        return value

    def put(self, key: str, value: Any) -> Any:
        """Write ``value`` (JSON-serialisable) as the cell ``key``, replacing it; returns it as it reads back."""
        text = json.dumps(value, indent=1, default=float) + "\n"
        write_atomic(self.path(key), text)
        return json.loads(text)
