"""YAML from anyone (scenarios, configs, hyperparameters) is read by one bounded reader: every problem is a short
one-line ParameterError naming the file, in bounded time and memory; and atomically written files follow the
umask."""

from __future__ import annotations

import os
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shopgym.agents.sb3_agents import load_hyperparams
from shopgym.experiments.configs import CompareConfig, TrainConfig, load_config
from shopgym.files import MAX_YAML_BYTES, read_yaml, write_atomic
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import load_scenario

# A "billion laughs" file: 364 bytes whose aliases stand for 9^9 strings, used where an error would echo them.
BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "name: *i\nscenario: *i\n"
)

LOADERS: dict[str, Callable[[Path], Any]] = {
    "scenario": load_scenario,
    "train config": lambda path: load_config(path, TrainConfig),
    "compare config": lambda path: load_config(path, CompareConfig),
    "hyperparameters": lambda path: load_hyperparams("ppo", "shopgym/Promote-v1", path),
}


def outcome(load: Callable[[Path], Any], path: Path, seconds: float = 5.0) -> str | None:
    """The one-line message of the ParameterError ``load(path)`` raises (None if it loads), checking that nothing
    else is raised, that the message names the file and is short besides, and that it took less than ``seconds``."""
    start = time.monotonic()
    try:
        load(path)
        message = None
    except ParameterError as error:
        message = str(error)
        assert len(message.splitlines()) == 1 and len(message.replace(str(path), "")) < 500, message[:2000]
        assert repr(str(path)) in message, message
    assert time.monotonic() - start < seconds
    return message


def write(folder: Path, text: str | bytes, name: str = "doc.yml") -> Path:
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_billion_laughs_is_refused_at_once(kind, tmp_path):
    message = outcome(LOADERS[kind], write(tmp_path, BILLION_LAUGHS), seconds=2.0)
    assert "aliases stand for more than 10,000 values at line 4" in message


def test_yaml_a_few_aliases_still_work(tmp_path):
    text = "base: default\nsegments:\n  - &shopper {name: a, weight: 1.0, price_sensitivity: 1.5}\n"
    text += "  - {<<: *shopper, name: b}\n"
    scenario = load_scenario(write(tmp_path, text))
    assert [s.name for s in scenario.segments] == ["a", "b"]
    assert scenario.segments[1].price_sensitivity == 1.5


@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_thousands_of_unknown_keys_give_one_short_line(kind, tmp_path):
    text = "".join(f"unknown_{i}: {i}\n" for i in range(5_000))
    if kind == "hyperparameters":
        text = "default:\n" + text.replace("unknown", "  unknown")
    message = outcome(LOADERS[kind], write(tmp_path, text))
    assert "unknown_0" in message


@pytest.mark.parametrize(
    "text",
    [
        "catalog: {n_items: " + "9" * 100_000 + "}\n",
        "catalog: {n_items: '" + "x" * 100_000 + "'}\n",
        "catalog: {" + "x" * 100_000 + ": 1}\n",
        "name: [" + "1, " * 20_000 + "]\n",
        "base: [" + "1, " * 20_000 + "]\n",
        "base: '" + "x" * 100_000 + "'\n",
        "? [" + "1, " * 1000 + "]\n: 1\n",
    ],
    ids=["long number", "long string", "long key", "long list", "list as base", "long base", "list as key"],
)
def test_yaml_echoed_values_are_clipped(text, tmp_path):
    outcome(load_scenario, write(tmp_path, text))
    outcome(LOADERS["train config"], write(tmp_path, text.replace("catalog", "scenario").replace("base", "algo")))


@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_deep_nesting_is_a_clear_error(kind, tmp_path):
    for text in ["[" * 100_000, "- " * 10_000 + "1", "{a: " * 10_000, "".join(f"{' ' * i}a:\n" for i in range(60))]:
        message = outcome(LOADERS[kind], write(tmp_path, text))
        assert "nesting deeper than 50 levels" in message


def test_yaml_nesting_up_to_the_limit_is_read(tmp_path):
    assert read_yaml(write(tmp_path, "[" * 49 + "1" + "]" * 49), "test") == eval("[" * 49 + "1" + "]" * 49)


@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_that_is_not_utf8_names_the_byte_offset(kind, tmp_path):
    message = outcome(LOADERS[kind], write(tmp_path, b"name: caf\xe9\n"))
    assert "is not UTF-8 text: byte 0xe9 at offset 9" in message


@pytest.mark.parametrize("text", ["a: \x00\n", "a: \x1b[31m\n", "a: !!python/object/apply:os.system ['true']\n"])
def test_yaml_syntax_errors_are_one_line(text, tmp_path):
    assert "is not valid YAML" in outcome(load_scenario, write(tmp_path, text))


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="POSIX special files")
@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_from_a_device_fifo_or_folder_is_refused(kind, tmp_path):
    (tmp_path / "zero.yml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.yml")  # opening it would wait for a writer forever
    (tmp_path / "folder.yml").mkdir()
    for name in ("zero.yml", "fifo.yml", "folder.yml"):
        assert "is not a regular file" in outcome(LOADERS[kind], tmp_path / name, seconds=2.0)


@pytest.mark.parametrize("kind", LOADERS)
def test_yaml_larger_than_the_limit_is_refused(kind, tmp_path):
    message = outcome(LOADERS[kind], write(tmp_path, "#" * MAX_YAML_BYTES + "\n"))
    assert "larger than the limit of 256 KiB" in message


def test_yaml_missing_file_names_it(tmp_path):
    assert "cannot read scenario file" in outcome(load_scenario, tmp_path / "nope.yml")


# ---------------------------------------------------------------------------------------------- fuzzing
KEYS = [*Scenario.model_fields, *TrainConfig.model_fields, *CompareConfig.model_fields, "base", "default"]
KEYS += ["n_items", "weight", "name", "kind", "at", "to", "period", "policy", "algo", "shopgym/Promote-v1"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["default", "fashion", "ppo", "dqn", "random", "x.yml", "2024-02-30", "1e400"])
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=40,
)


def _all_loaders(path: Path) -> None:
    for load in (lambda p: read_yaml(p, "document"), *LOADERS.values()):
        outcome(load, path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.fuzz
@given(data=st.binary(max_size=300) | st.text(alphabet=string.printable + "&*!|>-:[]{}#'\"\x00é\u2028", max_size=300))
def test_fuzz_random_bytes_only_give_parameter_errors(data, folder):
    _all_loaders(write(folder, data))


@pytest.mark.fuzz
@given(document=DOCUMENTS)
def test_fuzz_random_documents_only_give_parameter_errors(document, folder):
    _all_loaders(write(folder, yaml.safe_dump(document, allow_unicode=True)))


ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    path.read_text(encoding="utf-8")
    for pattern in ("experiments/configs/**/*.yml", "agents/hyperparams/*.yml")
    for path in ROOT.glob(pattern)
)


@pytest.mark.fuzz
@given(
    text=st.sampled_from(SHIPPED),
    at=st.integers(0, 5000),
    cut=st.integers(0, 20),
    insert=st.text(alphabet=string.printable + "&*!|>-:[]{}#'\"é", max_size=20),
)
def test_fuzz_mutated_shipped_files_only_give_parameter_errors(text, at, cut, insert, folder):
    at = min(at, len(text))
    _all_loaders(write(folder, text[:at] + insert + text[at + cut :]))


@pytest.mark.fuzz
@given(
    levels=st.integers(1, 12),
    width=st.integers(1, 12),
    where=st.sampled_from(["catalog", "segments", "base", "scenario", "default", "agents", "name", "extra"]),
    merge=st.booleans(),
)
def test_fuzz_alias_heavy_documents_are_bounded(levels, width, where, merge, folder):
    lines = ["x0: &x0 {name: lol, weight: 1.0}" if merge else "x0: &x0 [lol, lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"<<: *x{level - 1}" if merge else f"*x{level - 1}"] * (1 if merge else width))
        lines.append(f"x{level}: &x{level} " + (f"{{{refs}, n{level}: {level}}}" if merge else f"[{refs}]"))
    lines.append(f"{where}: *x{levels - 1}")
    _all_loaders(write(folder, "\n".join(lines) + "\n"))


# ---------------------------------------------------------------------------------------------- write_atomic
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomically_written_files_follow_the_umask(umask, mode, tmp_path):
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "summary.json", "{}\n")
        write_atomic(tmp_path / "summary.json", "{}\n")  # replacing a file, too
    finally:
        os.umask(previous)
    assert (tmp_path / "summary.json").stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
