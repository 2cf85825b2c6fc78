"""What an ``--out`` folder may be: new or empty, or a run folder of the same kind. Every command that writes
refuses, in one line and before touching anything, a folder of files shopgym did not write or a run of another
kind (issue 15, item 1)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopgym.experiments.cli import app
from shopgym.experiments.runs import RunDirectory, RunError
from shopgym.scenarios import scenario_digest

TINY_TRAIN = ["--algo", "a2c", "--env", "shopgym/Promote-v1", "--n-timesteps", "256", "--eval-freq", "256"]
# Tiny configs, so that the old code, which took such folders over, finished quickly too.
TINY_CONFIGS = {
    "compare": "env: shopgym/Promote-v1\nseeds: 1\nn_eval: 16\nbaselines: [random, never_discount]\n",
    "transfer": "algo: a2c\nenv: shopgym/Promote-v1\nseeds: 1\nsource_steps: 256\ntarget_steps: 256\n"
    "eval_freq: 256\nn_eval: 8\npairs: [{name: p, source: [default], target: recession}]\n",
    "continual": "algo: a2c\nenv: shopgym/Promote-v1\nseeds: 1\nscenarios: [default, recession]\n"
    "steps_per_stage: 256\nn_eval: 8\nstrategies: [naive]\n",
    "sweep": "base: {env: shopgym/Promote-v1, algo: a2c, n_timesteps: 256, eval_freq: 256, n_eval: 8}\n"
    "grid: {seed: [0]}\n",
}
KINDS = {"train": "training run", "compare": "comparison", "quickstart": "comparison", "transfer": "transfer suite"}
KINDS |= {"continual": "continual run", "sweep": "sweep"}


@pytest.fixture(scope="module")
def commands(tmp_path_factory) -> dict[str, list[str]]:
    """Each command that writes a folder, with a tiny config (all but ``--out``)."""
    folder = tmp_path_factory.mktemp("configs")
    for name, text in TINY_CONFIGS.items():
        (folder / f"{name}.yml").write_text(text)
    quickstart = ["--seeds", "1", "--ppo-steps", "256", "--dqn-steps", "256", "--eval-freq", "256", "--n-eval", "8"]
    return {
        "train": ["train", *TINY_TRAIN, "--n-eval", "8", "--device", "cpu"],
        "compare": ["compare", str(folder / "compare.yml"), "--device", "cpu"],
        "quickstart": ["quickstart", *quickstart, "--device", "cpu"],
        "transfer": ["transfer", str(folder / "transfer.yml"), "--device", "cpu"],
        "continual": ["continual", str(folder / "continual.yml"), "--device", "cpu"],
        "sweep": ["sweep", str(folder / "sweep.yml"), "--workers", "1"],
    }


@pytest.fixture(autouse=True)
def _restore_logging():
    """The commands point the root logger at the runner's stderr, which closes when the command ends."""
    handlers = logging.root.handlers[:]
    yield
    logging.root.handlers[:] = handlers


def shopgym(*args: str):
    return CliRunner().invoke(app, list(args))


def foreign_files(folder: Path) -> dict[Path, bytes]:
    """A folder that looks like a run folder but was not written by shopgym; returns its files' contents."""
    files = {
        folder / "checkpoint" / "important.txt": b"keep\n",
        folder / "progress.csv": b"my,own\n1,2\n",
        folder / "report.md": b"# my notes\n",
        folder / "model" / "weights.bin": bytes(range(256)),
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("shopgym: error: ")
    return result.stderr


@pytest.mark.parametrize("command", KINDS)
def test_out_folder_with_foreign_files_is_refused(tmp_path, commands, command):
    out = tmp_path / "u"
    files = foreign_files(out)
    error = one_line_error(shopgym(*commands[command], "--out", str(out)))
    assert (
        "holds files shopgym did not write (checkpoint, model, progress.csv, …); choose a new or empty --out" in error
    )
    assert {path: path.read_bytes() for path in files} == files  # byte for byte
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "checkpoint",
        "checkpoint/important.txt",
        "model",
        "model/weights.bin",
        "progress.csv",
        "report.md",
    ]


@pytest.mark.parametrize("command", ["train", "compare", "transfer", "continual", "sweep"])
def test_out_folder_with_a_run_of_another_kind_is_refused(tmp_path, commands, command):
    other = "compare" if command != "compare" else "train"
    out = tmp_path / "other"
    RunDirectory(out).start({"from": "another command"}, KINDS[other])
    before = (out / "run.json").read_bytes()
    error = one_line_error(shopgym(*commands[command], "--out", str(out)))
    assert f"holds a {KINDS[other]}, not a {KINDS[command]}; choose another --out" in error
    assert (out / "run.json").read_bytes() == before and [p.name for p in out.iterdir()] == ["run.json"]


def test_resume_into_a_folder_of_another_kind_is_refused(tmp_path):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "manifest.json").write_text('{"jobs": {}}\n')
    error = one_line_error(shopgym("train", "--resume", "--out", str(tmp_path / "sweep")))
    assert "holds a sweep, not a training run" in error


def test_empty_existing_out_folder_is_accepted(tmp_path, commands):
    out = tmp_path / "empty"
    out.mkdir()
    result = shopgym(*commands["train"], "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["kind"] == "training run"
    assert (out / "summary.json").is_file()
    # the finished run is now a training run folder: train refuses it, compare names both kinds
    assert "already holds a finished run" in one_line_error(shopgym(*commands["train"], "--out", str(out)))
    error = one_line_error(shopgym(*commands["compare"], "--out", str(out)))
    assert "holds a training run, not a comparison" in error


def test_empty_existing_out_folder_is_accepted_by_compare(tmp_path, commands):
    out = tmp_path / "empty"
    out.mkdir()
    result = shopgym(*commands["compare"], "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["kind"] == "comparison"
    assert (out / "summary.json").is_file()


def test_what_a_folder_holds(tmp_path):
    folder = RunDirectory(tmp_path / "f")
    assert folder.claim("training run") is False  # new
    folder.path.mkdir()
    (folder.path / ".run.json.x1y2.tmp").write_text("{")  # a run killed while writing run.json
    assert folder.claim("comparison") is False  # empty but for that
    (folder.path / "run.json").write_text('{"config": {}}\n')  # a training run from before kinds were recorded
    assert folder.claim("training run") is True
    with pytest.raises(RunError, match="holds a training run, not a sweep"):
        folder.claim("sweep")
    (folder.path / "run.json").write_text('{"mine": 1}\n')  # a run.json that shopgym did not write
    with pytest.raises(RunError, match=r"holds files shopgym did not write \(run.json\)"):
        folder.claim("training run")
    (folder.path / "run.json").unlink()
    (folder.path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match=r"holds files shopgym did not write \(notes.txt\)"):
        folder.claim("training run")


def test_a_run_keeps_its_market_when_the_scenario_file_moves_or_changes(tmp_path):
    """run.json records the market itself: resuming after the scenario file was edited and then removed trains
    and evaluates in the recorded market, to the same final numbers."""
    scenario = tmp_path / "my_market.yml"
    scenario.write_text("base: default\nname: my_market\nchoice: {outside_utility: 1.2}\n")
    out = tmp_path / "run"
    args = ["--scenario", str(scenario), "--checkpoint-freq", "128", "--out", str(out)]
    assert shopgym("train", *TINY_TRAIN, "--n-eval", "8", "--device", "cpu", *args).exit_code == 0
    recorded = json.loads((out / "run.json").read_text())["markets"]["scenario"]
    assert recorded["name"] == "my_market" and recorded["content"]["choice"]["outside_utility"] == 1.2
    first = json.loads((out / "summary.json").read_text())
    scenario.write_text("base: default\nname: my_market\nchoice: {outside_utility: 3.0}\n")
    scenario.rename(tmp_path / "moved.yml")
    (out / "summary.json").unlink()  # as if killed after its last checkpoint
    result = shopgym("train", "--resume", "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    again = json.loads((out / "summary.json").read_text())
    assert again["final_mean_return"] == first["final_mean_return"] and again["resumes"] == 1


# ---------------------------------------------------------------------- markets that change under a run
MY_MARKET = "base: default\nname: my_market\nchoice: {{outside_utility: {}}}\n"


def _suite_on_my_market(tmp_path: Path, command: str) -> tuple[Path, list[str]]:
    """A tiny ``command`` suite whose config names the scenario file ``my_market.yml``; returns the file and the
    command line (all but ``--out``)."""
    market = tmp_path / "my_market.yml"
    market.write_text(MY_MARKET.format(1.2))
    text = TINY_CONFIGS[command]
    text = text + f"scenario: {market}\n" if command == "compare" else text.replace("recession", str(market))
    (tmp_path / f"{command}.yml").write_text(text)
    return market, [command, str(tmp_path / f"{command}.yml"), "--device", "cpu"]


@pytest.mark.parametrize("command", ["compare", "transfer", "continual"])
def test_resuming_a_suite_whose_market_changed_is_refused(tmp_path, command):
    """run.json records the sha256 of every market a suite's config names; an unfinished suite continues only on
    the same markets. Editing the scenario file (as recalibrating a preset does) makes a rerun refuse, in one line
    naming the folder and the scenario; a run.json from before fingerprints were recorded is refused too."""
    market, args = _suite_on_my_market(tmp_path, command)
    out = tmp_path / "out"
    assert shopgym(*args, "--out", str(out)).exit_code == 0
    assert json.loads((out / "run.json").read_text())["scenarios"][str(market)] == scenario_digest(market)
    (out / "summary.json").unlink()  # as if killed before the end
    assert shopgym(*args, "--out", str(out)).exit_code == 0, "the same market: the run continues"
    (out / "summary.json").unlink()
    market.write_text(MY_MARKET.format(3.0))
    error = one_line_error(shopgym(*args, "--out", str(out)))
    assert f"{str(out)!r} holds a {KINDS[command]} made on scenario {str(market)!r}" in error
    assert "has changed since it started" in error and "choose another --out" in error
    assert not (out / "summary.json").exists()

    market.write_text(MY_MARKET.format(1.2))
    recorded = json.loads((out / "run.json").read_text())
    del recorded["scenarios"]
    (out / "run.json").write_text(json.dumps(recorded))
    error = one_line_error(shopgym(*args, "--out", str(out)))
    assert f"{str(out)!r} holds a {KINDS[command]} that recorded no fingerprint of scenario" in error


def test_the_results_page_refuses_a_cached_suite_whose_market_changed(tmp_path):
    """The results page reads a finished suite folder back instead of rerunning it only if the markets it was
    made on are unchanged: after an edit of its scenario file, or without fingerprints (a folder from before they
    were recorded), it refuses, naming the folder, the scenario and what to delete."""
    from shopgym.experiments.results.suites import suite_section

    market, args = _suite_on_my_market(tmp_path, "compare")
    folder, page = tmp_path / "cache" / "promote_tafeng", tmp_path / "page"
    page.mkdir()
    assert shopgym(*args, "--out", str(folder)).exit_code == 0
    section = suite_section("compare", folder, page, quick=True, name="promote_tafeng")
    assert "my_market" in section[0]  # unchanged: read back

    market.write_text(MY_MARKET.format(3.0))
    expected = f"{str(folder)!r} holds a comparison made on scenario {str(market)!r}, which has changed since it"
    with pytest.raises(RunError, match=re.escape(expected) + ".*delete the folder to rerun this section"):
        suite_section("compare", folder, page, quick=True, name="promote_tafeng")

    market.write_text(MY_MARKET.format(1.2))
    recorded = json.loads((folder / "run.json").read_text())
    del recorded["scenarios"]
    (folder / "run.json").write_text(json.dumps(recorded))
    with pytest.raises(RunError, match=re.escape(f"recorded no fingerprint of scenario {str(market)!r}")):
        suite_section("compare", folder, page, quick=True, name="promote_tafeng")


def test_scenario_digests_cover_every_market_a_config_names():
    """Every scenario reference of every suite config (nested pairs, lists, an optional drift market and the
    preset it drifts to) is fingerprinted."""
    from shopgym.experiments.configs import ContinualConfig, TransferConfig
    from shopgym.experiments.markets import scenario_digests

    transfer = TransferConfig(pairs=[{"name": "p", "source": ["default", "fashion"], "target": "recession"}])
    assert list(scenario_digests(transfer)) == ["default", "fashion", "recession"]
    drift = {"base": "default", "name": "drifting", "drift": [{"kind": "switch", "at": 5, "to": "holiday"}]}
    continual = ContinualConfig(scenarios=["default", "grocery"], drift_scenario=drift)
    digests = scenario_digests(continual)
    assert list(digests)[:2] == ["default", "grocery"] and digests["holiday"] == scenario_digest("holiday")
    assert len(digests) == 4 and all(len(d) == 64 for d in digests.values())


def test_a_results_cell_key_names_its_markets_content(tmp_path, monkeypatch):
    """The results page keys its cells by the markets they are computed on with their content, so a cell made
    before a preset changed is not read back as today's: the changed market is another key, computed afresh."""
    from shopgym import scenarios
    from shopgym.experiments.results.common import market
    from shopgym.experiments.runs import CellStore

    assert market("tafeng") == f"tafeng.{scenario_digest('tafeng')[:12]}"
    assert market("new_market") == f"new-market.{scenario_digest('new_market')[:12]}"
    assert market("default", "fashion") != market("default", "grocery")
    cells, calls = CellStore(tmp_path), []
    assert cells.get(f"pricing/{market('grocery')}/dp", lambda: calls.append(1) or 1.0) == 1.0
    recalibrated = scenarios.SCENARIOS["grocery"].model_copy(update={"description": "recalibrated"})
    monkeypatch.setitem(scenarios.SCENARIOS, "grocery", recalibrated)
    assert cells.get(f"pricing/{market('grocery')}/dp", lambda: calls.append(2) or 2.0) == 2.0 and calls == [1, 2]


# ---------------------------------------------------------------------- the cells of a suite
def test_cell_store_computes_a_cell_once_and_reads_it_back(tmp_path):
    from shopgym.experiments.runs import CellStore

    calls = []

    def compute():
        calls.append(1)
        return {"mean": 1.5, "pair": (1, 2)}

    store = CellStore(tmp_path / "cells")
    first = store.get("marketing/ppo-1000/run0", compute)
    again = CellStore(tmp_path / "cells").get("marketing/ppo-1000/run0", compute)  # a later run: read back
    assert calls == [1]
    assert first == again == {"mean": 1.5, "pair": [1, 2]}  # a first run sees what a resumed one reads
    assert (tmp_path / "cells" / "marketing" / "ppo-1000" / "run0.json").is_file()
    assert "marketing/ppo-1000/run0" in store and "marketing/ppo-1000/run1" not in store


def test_a_cell_put_again_replaces_it(tmp_path):
    from shopgym.experiments.runs import CellStore

    store = CellStore(tmp_path)
    assert store.put("manifest", {"jobs": {"a": (1, "pending")}}) == {"jobs": {"a": [1, "pending"]}}
    store.put("manifest", {"jobs": {"a": [2, "done"]}})
    assert CellStore(tmp_path).read("manifest") == {"jobs": {"a": [2, "done"]}}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary file left


@pytest.mark.parametrize("key", ["../outside", "a//b", "/abs", "a/.hidden", "with space", "", "a/"])
def test_cell_keys_that_could_escape_or_clash_are_refused(tmp_path, key):
    from shopgym.experiments.runs import CellStore

    with pytest.raises(ValueError, match="cell key"):
        CellStore(tmp_path).get(key, dict)
    assert not any(tmp_path.iterdir())


def test_an_unreadable_cell_names_its_file(tmp_path):
    from shopgym.experiments.runs import CellStore

    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(RunError, match=r"broken\.json"):
        CellStore(tmp_path).get("broken", dict)
