"""The distribution: `python -m build` makes an sdist and a wheel that add one import name, ``shopgym``, and ship
the configs, scenarios and hyperparameter files the commands read."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("build") is None, reason="the 'build' package is not installed (pip install build)"
)

SMOKE = """
import gymnasium as gym, shopgym, sys
from pathlib import Path
site = Path(sys.argv[1]).resolve()
assert Path(shopgym.__file__).resolve().is_relative_to(site), shopgym.__file__
from shopgym.agents.sb3_agents import load_hyperparams
from shopgym.experiments.configs import CONFIG_DIR, CompareConfig, TransferConfig, load_config
from shopgym.experiments.cli import app
load_config(CONFIG_DIR / "quickstart.yml", CompareConfig)
load_config(CONFIG_DIR / "transfer.yml", TransferConfig)  # names a scenario file beside it
assert load_hyperparams("dqn", "shopgym/Marketing-v1").gamma == 0.95
env = gym.make("shopgym/Promote-v1", scenario="zozotown")  # a calibrated preset: YAML shipped in the package
env.reset(seed=0)
env.step(env.action_space.sample())
for name in ("agents", "experiments"):
    try:
        __import__(name)
    except ModuleNotFoundError:
        continue
    raise AssertionError(f"installing shopgym made {name!r} importable")
print("ok")
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_wheel_adds_only_the_shopgym_import_name(dist: Path) -> None:
    (wheel,) = dist.glob("shopgym-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = archive.read(next(n for n in names if n.endswith(".dist-info/top_level.txt"))).decode()
    assert top_level.split() == ["shopgym"]
    assert {name.split("/", 1)[0] for name in names} == {"shopgym", wheel.name.split("-py3")[0] + ".dist-info"}
    for data in (
        "agents/hyperparams/dqn.yml",
        "experiments/configs/quickstart.yml",
        "experiments/configs/scenarios",
        "presets/zozotown.yml",
    ):
        assert any(name.startswith(f"shopgym/{data}") for name in names), data


def test_installed_wheel_runs_outside_the_repository(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("shopgym-*.whl")
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", SMOKE, str(site)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
    help_text = subprocess.run(
        [sys.executable, "-m", "shopgym.experiments.cli", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert help_text.returncode == 0 and "quickstart" in help_text.stdout


def test_sdist_holds_the_package_with_its_data(dist: Path) -> None:
    """The sdist stores the linked folders as real files (shopgym/agents, shopgym/experiments), so it builds
    the same wheel on any system."""
    import tarfile

    (sdist,) = dist.glob("shopgym-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {member.name.split("/", 1)[1]: member for member in archive.getmembers() if "/" in member.name}
    wanted = {"pyproject.toml", "README.md", "shopgym/core.py", "shopgym/agents/base.py", "shopgym/experiments/cli.py"}
    wanted |= {"shopgym/agents/hyperparams/dqn.yml", "shopgym/experiments/configs/quickstart.yml"}
    wanted |= {"shopgym/presets/zozotown.yml"}
    assert wanted <= set(members)
    assert not any(member.issym() or member.islnk() for member in members.values())
