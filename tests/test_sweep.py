"""Sweeps: jobs on the local backend and on a real local Ray node, a failing job, and a killed sweep that a
rerun completes without running anything twice."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopgym.experiments.configs import SweepConfig
from shopgym.experiments.runs import RunError
from shopgym.experiments.sweep import _locked, expand_jobs, run_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = {"env": "shopgym/Promote-v1", "algo": "a2c", "n_timesteps": 512, "eval_freq": 512, "n_eval": 8}


def sweep_config(**grid) -> SweepConfig:
    return SweepConfig(base={**BASE, "checkpoint_freq": 0}, grid=grid)


def sweep_command(config: Path, out: Path) -> list[str]:
    """``shopgym sweep CONFIG --out OUT`` with one worker, as a subprocess command line."""
    return [sys.executable, "-m", "shopgym.experiments.cli", "sweep", str(config), "--out", str(out), "--workers", "1"]


def test_grid_expansion_and_validation():
    jobs = expand_jobs(
        SweepConfig(base={"env": "shopgym/Promote-v1"}, grid={"algo": ["ppo", "dqn"], "seed": [0, 1, 2]})
    )
    assert len(jobs) == 6 and "algo=dqn_seed=2" in jobs
    assert jobs["algo=ppo_seed=1"]["config"]["seed"] == 1
    with pytest.raises(ValueError, match="unknown train config keys \\['sed'\\]"):
        SweepConfig(grid={"sed": [1]})
    with pytest.raises(ValueError, match="job algo=sac"):
        expand_jobs(SweepConfig(grid={"algo": ["sac"]}))


def test_two_jobs_on_the_local_backend_and_a_failing_one(tmp_path):
    config = sweep_config(seed=[0, 1], init_from=[None, "/nonexistent"])
    summary = run_sweep(config, tmp_path, backend="local", workers=2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())["jobs"]
    assert summary["jobs"] == {"done": 2, "failed": 2, "pending": 0}
    failed = {k: v for k, v in manifest.items() if v["status"] == "failed"}
    assert sorted(failed) == ["seed=0_init_from=nonexistent", "seed=1_init_from=nonexistent"]
    assert all("holds no saved model" in v["error"] for v in failed.values())
    assert all((tmp_path / "jobs" / k / "run" / "summary.json").is_file() for k in manifest if k not in failed)
    assert "Failed jobs" in (tmp_path / "report.md").read_text()
    # a rerun retries only the failed ones
    run_sweep(config, tmp_path, backend="local", workers=2)
    after = json.loads((tmp_path / "manifest.json").read_text())["jobs"]
    assert [after[k]["attempts"] for k in sorted(after)] == [2 if k in failed else 1 for k in sorted(after)]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the ray extra is not installed")
def test_the_same_sweep_on_a_local_ray_node(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    summary = run_sweep(sweep_config(seed=[0, 1]), tmp_path, backend="ray", workers=2)
    assert summary["jobs"]["done"] == 2 and summary["backend"] == "ray"
    local = run_sweep(sweep_config(seed=[0, 1]), tmp_path / "local", backend="local", workers=2)
    assert summary["groups"] == local["groups"]  # the same numbers from either backend


def test_a_killed_sweep_reruns_only_the_missing_jobs(tmp_path):
    config = tmp_path / "sweep.yml"
    config.write_text(
        "base: {env: shopgym/Promote-v1, algo: a2c, n_timesteps: 512, eval_freq: 512, n_eval: 8, checkpoint_freq: 0}\n"
        "grid: {seed: [0, 1, 2, 3]}\n"
    )
    out = tmp_path / "out"
    command = sweep_command(config, out)
    driver = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True)
    manifest = out / "manifest.json"

    def done() -> list[str]:
        if not manifest.exists():
            return []
        return sorted(k for k, v in json.loads(manifest.read_text())["jobs"].items() if v["status"] == "done")

    deadline = time.monotonic() + 300
    while not done():
        assert driver.poll() is None, driver.communicate()[1][-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its worker processes
    driver.wait()
    finished = done()
    assert 1 <= len(finished) < 4, "the sweep finished before it was killed"
    stamps = {k: (out / "jobs" / k / "run" / "summary.json").stat().st_mtime_ns for k in finished}

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    jobs = json.loads(manifest.read_text())["jobs"]
    assert all(job["status"] == "done" for job in jobs.values())
    assert all(jobs[k]["attempts"] == 1 for k in finished)  # nothing run twice
    assert stamps == {k: (out / "jobs" / k / "run" / "summary.json").stat().st_mtime_ns for k in finished}
    assert f"{4 - len(finished)} to run" in again.stderr


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started and that still run (from /proc, Linux)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(child) for child in task.read_text().split()}
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie (dead, not yet reaped by its new parent) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads processes from /proc")
def test_workers_die_with_a_killed_sweep_and_a_rerun_completes(tmp_path):
    config = tmp_path / "sweep.yml"
    config.write_text(  # one job of several seconds (a2c runs about 50,000 steps a second here)
        "base: {env: shopgym/Promote-v1, algo: a2c, n_timesteps: 300000, eval_freq: 100000, n_eval: 8,"
        " checkpoint_freq: 50000}\ngrid: {seed: [0]}\n"
    )
    out = tmp_path / "out"
    out.mkdir()  # an empty existing --out is accepted
    command = sweep_command(config, out)
    driver = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "jobs" / "seed=0" / "run" / "run.json").exists():  # the worker is training
            assert driver.poll() is None, driver.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        workers = _children(driver.pid)
        assert workers, "the sweep runs its job in a worker process"
        # Only the driver, as `kill -9 <pid>` does: killing its process group would kill the workers directly,
        # where the defect was that they outlived their driver.
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "worker processes outlived the killed driver"
    finally:
        with contextlib.suppress(ProcessLookupError):  # anything left of the group, should the test fail
            os.killpg(driver.pid, signal.SIGKILL)

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    job = json.loads((out / "manifest.json").read_text())["jobs"]["seed=0"]
    assert job["status"] == "done" and job["summary"]["env_steps"] >= 300_000


def test_a_job_being_run_names_the_process_that_runs_it(tmp_path):
    holder = rf"is being run by another process \(pid {os.getpid()}\)$"
    with _locked(tmp_path), pytest.raises(RunError, match=holder), _locked(tmp_path):
        pass
    with _locked(tmp_path):  # released when its holder let go (or died)
        pass


def test_bad_sweep_input(tmp_path):
    config = tmp_path / "sweep.yml"
    config.write_text("grid: {algo: [ppo]}\nworkers: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "shopgym.experiments.cli", "sweep", str(config), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "workers: unknown key; allowed: base, grid, suites" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_suite_runs_as_one_job(tmp_path):
    suite = tmp_path / "compare.yml"
    suite.write_text("env: shopgym/Promote-v1\nseeds: 2\nn_eval: 16\nbaselines: [random, never_discount]\n")
    summary = run_sweep(SweepConfig(suites=[{"kind": "compare", "config": str(suite)}]), tmp_path / "out", workers=1)
    assert summary["jobs"]["done"] == 1
    folder = tmp_path / "out" / "jobs" / "compare-compare" / "suite"
    assert json.loads((folder / "summary.json").read_text())["ranking"] == ["never discount", "random"]
    assert "compare-compare/suite/report.md" in (tmp_path / "out" / "report.md").read_text()


def test_a_sweep_whose_markets_changed_is_refused(tmp_path):
    """A rerun of a sweep would skip its done jobs and gather their results with the new ones as today's: a job
    (training run or suite) made on a scenario file that has changed since is refused at planning, naming its
    folder and the scenario, before anything runs."""
    market = tmp_path / "my_market.yml"
    market.write_text("base: default\nname: my_market\nchoice: {outside_utility: 1.2}\n")
    suite = tmp_path / "compare.yml"
    suite.write_text(f"env: shopgym/Promote-v1\nseeds: 1\nn_eval: 8\nbaselines: [random]\nscenario: {market}\n")
    config = SweepConfig(
        base={**BASE, "checkpoint_freq": 0, "scenario": str(market)},
        grid={"seed": [0]},
        suites=[{"kind": "compare", "config": str(suite)}],
    )
    out = tmp_path / "out"
    assert run_sweep(config, out, workers=1)["jobs"]["done"] == 2
    run_sweep(config, out, workers=1)  # the same markets: nothing to run, nothing refused
    market.write_text("base: default\nname: my_market\nchoice: {outside_utility: 3.0}\n")
    with pytest.raises(RunError, match=r"jobs/seed=0/run' holds a training run made on scenario '.*my_market\.yml'"):
        run_sweep(config, out, workers=1)
    expected = r"jobs/compare-compare/suite' holds a comparison made on scenario '.*my_market\.yml', which has changed"
    with pytest.raises(RunError, match=expected):
        run_sweep(SweepConfig(suites=config.suites), out, workers=1)


def test_every_suite_a_sweep_can_name_is_registered():
    from typing import get_args

    from shopgym.experiments.configs import SuiteJob
    from shopgym.experiments.suites import SUITES

    assert set(get_args(SuiteJob.model_fields["kind"].annotation)) == set(SUITES)
    for suite in SUITES.values():  # every runner resolves to a function taking (config, out, device)
        module, function = suite.runner.split(":")
        runner = getattr(__import__(module, fromlist=[function]), function)
        assert list(inspect.signature(runner).parameters)[:3] == ["config", "out", "device"]
