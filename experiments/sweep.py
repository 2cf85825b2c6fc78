"""Sweeps: a grid of training runs (algorithms × scenarios × seeds × budgets) and whole suites, expanded into
independent jobs that run on local processes or on a Ray cluster.

Each job writes only its own folder under ``out/jobs/<job id>/``. The job table ``out/manifest.json``, a cell of
the sweep's :class:`~shopgym.experiments.runs.CellStore` that the driver (never a job) rewrites as jobs end, lists
every planned job with its status: ``pending``, ``running``, ``done`` (with its summary) or ``failed`` with the
error. Rerunning the sweep into the same folder skips ``done`` jobs and runs the rest; a job
whose folder holds a killed training run resumes it from its checkpoint. A job holds an exclusive lock on its
folder while it runs, so two drivers never run the same job at once. Local worker processes die with their
driver, even one killed by SIGKILL (so do Ray's on a node that the driver started), so a rerun after a kill
finds no job still running. ``out`` must be new, empty or a sweep's folder (its manifest marks it).
When every job has ended, the results of the training jobs are gathered into one comparison report
(``report.md``, ``summary.json``).
"""

from __future__ import annotations

import ctypes
import fcntl
import itertools
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from shopgym.experiments.configs import SweepConfig, TrainConfig, scenario_label
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.report import figure, table
from shopgym.experiments.runs import SWEEP, SWEEP_MARKER, CellStore, RunDirectory, RunError, slug
from shopgym.files import write_atomic

__all__ = ["expand_jobs", "run_job", "run_sweep"]

log = logging.getLogger("shopgym")
BACKENDS = ("local", "ray")
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
JOBS = SWEEP_MARKER.removesuffix(".json")  # the job table's cell in the sweep's store: out/manifest.json


def _name(value: Any) -> str:
    """A grid value as part of a job id."""
    return slug(value if isinstance(value, str) else json.dumps(value, sort_keys=True))[:60]


def expand_jobs(config: SweepConfig) -> dict[str, dict[str, Any]]:
    """Job id → job (``kind`` and ``config``): the cartesian product of the grid on top of ``base`` (each a
    validated :class:`TrainConfig`), then the suites. Raises ``ValueError`` naming the job of a bad config."""
    jobs: dict[str, dict[str, Any]] = {}
    keys = list(config.grid)
    if keys or config.base:
        for values in itertools.product(*(config.grid[k] for k in keys)):
            changes = dict(zip(keys, values, strict=True))
            job_id = "_".join(f"{k}={_name(v)}" for k, v in changes.items()) or "train"
            try:
                train = TrainConfig.model_validate({**config.base, **changes})
            except ValueError as error:
                raise ValueError(f"job {job_id}: {error}") from None
            jobs[job_id] = {"kind": "train", "config": train.model_dump(mode="json")}
    for suite in config.suites:
        jobs[f"{suite.kind}-{_name(Path(suite.config).stem)}"] = {"kind": suite.kind, "config": suite.config}
    return jobs


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` (which names the holder's process id) while the job runs. The kernel releases the
    lock when its holder dies, so a lock is never stale."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:  # not "w": that would erase the holder's id before the check
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunError(f"{str(folder)!r} is being run by another process (pid {holder})") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def _die_with(driver: int) -> None:
    """Pool initializer: end this worker when its driver process dies, even by SIGKILL, so that no job runs on
    alone (holding its folder's lock against a rerun)."""
    if sys.platform == "linux":
        # The kernel sends SIGKILL when the thread that spawned us ends: the driver's main thread, which submits.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_driver, args=(driver,), daemon=True).start()
    if os.getppid() != driver:  # the driver died before the line above
        os._exit(1)


def _watch_driver(driver: int) -> None:
    while os.getppid() == driver:
        time.sleep(1.0)
    os._exit(1)


def _run_suite(kind: str, config_path: str, folder: Path, device: str) -> dict[str, Any]:
    from shopgym.experiments.configs import load_config
    from shopgym.experiments.suites import SUITES

    suite = SUITES[kind]
    return suite.run(load_config(config_path, suite.config), folder, device)


def run_job(job: dict[str, Any], folder: str, device: str = "cpu", threads: int = 1) -> dict[str, Any]:
    """Run one job in ``folder`` (in a worker process or a Ray task). Never raises: returns ``{"summary": …}``
    or ``{"error": "…"}``."""
    import torch

    from shopgym.experiments.training import train_or_resume

    torch.set_num_threads(threads)
    path = Path(folder)
    started = time.perf_counter()
    try:
        with _locked(path):
            if job["kind"] == "train":
                config = TrainConfig.model_validate(job["config"])
                summary = train_or_resume(RunDirectory(path / "run"), config, device)
            else:
                summary = _run_suite(job["kind"], job["config"], path / "suite", device)
    except Exception as error:  # a job's failure is recorded, not raised: the other jobs go on
        last = traceback.extract_tb(error.__traceback__)[-1]
        where = f" ({Path(last.filename).name}:{last.lineno})"
        return {"error": f"{type(error).__name__}: {error}{where}", "seconds": time.perf_counter() - started}
    return {"summary": summary, "seconds": time.perf_counter() - started}


def _check_markets(folder: Path, job: dict[str, Any]) -> None:
    """Refuse (:class:`RunError`) a job whose folder holds a run (done or not) made on markets that have changed
    since it started, or that recorded none (:meth:`~shopgym.experiments.runs.RunDirectory.check_scenarios`):
    the sweep would otherwise gather its old results with new ones as today's."""
    from shopgym.experiments.configs import load_config
    from shopgym.experiments.suites import SUITES

    run = RunDirectory(folder / ("run" if job["kind"] == "train" else "suite"))
    recorded = run.recorded()
    if recorded is None:  # not started
        return
    if job["kind"] == "train":
        config = TrainConfig.model_validate(job["config"])
    else:
        config = load_config(job["config"], SUITES[job["kind"]].config)
    run.check_scenarios(scenario_digests(config), recorded.get("kind", job["kind"]), "choose another --out")


def _plan(store: CellStore, jobs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The job table: every job of ``jobs`` with its status and attempts as the sweep's earlier runs recorded them
    (``pending`` and 0 for a new job). A job recorded with another config, or whose run was made on markets that
    have changed since, is refused."""
    recorded = store.read(JOBS)["jobs"] if JOBS in store else {}
    planned: dict[str, dict[str, Any]] = {}
    for job_id, job in jobs.items():
        entry = recorded.get(job_id, {})
        if entry and entry.get("config") != job["config"]:
            where = str(store.path(JOBS))
            raise RunError(f"job {job_id} in {where!r} was planned with another config; choose another --out")
        _check_markets(store.folder / "jobs" / job_id, job)
        planned[job_id] = {"status": "pending", "attempts": 0, **entry, **job}
    return planned


def _local(jobs: list[tuple[str, dict]], out: Path, device: str, threads: int, workers: int, done: Callable) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, initializer=_die_with, initargs=(os.getpid(),)) as pool:
        futures: dict[Future, str] = {
            pool.submit(run_job, job, str(out / "jobs" / job_id), device, threads): job_id for job_id, job in jobs
        }
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                job_id = futures.pop(future)
                try:
                    done(job_id, future.result())
                except Exception as error:  # the worker process died (e.g. out of memory)
                    done(job_id, {"error": f"{type(error).__name__}: {error}"})


def _ray(
    jobs: list[tuple[str, dict]],
    out: Path,
    device: str,
    config: SweepConfig,
    workers: int,
    address: str | None,
    done: Callable,
) -> None:
    try:
        import ray
    except ImportError:
        raise RunError("the ray backend needs Ray: pip install 'shopgym[ray]'") from None
    address = address or os.environ.get("RAY_ADDRESS")
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **options)  # join a running cluster
        else:
            ray.init(num_cpus=workers * config.cpus_per_job, **options)  # start a local node
    try:
        remote = ray.remote(num_cpus=config.cpus_per_job, num_gpus=config.gpus_per_job)(run_job)
        pending = {
            remote.remote(job, str(out.resolve() / "jobs" / job_id), device, config.cpus_per_job): job_id
            for job_id, job in jobs
        }
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            job_id = pending.pop(finished[0])
            try:
                done(job_id, ray.get(finished[0]))
            except Exception as error:  # the task's worker died
                done(job_id, {"error": f"{type(error).__name__}: {error}"})
    finally:
        if started_here:
            ray.shutdown()


def _gather(jobs: dict[str, dict[str, Any]], out: Path) -> dict[str, Any]:
    """One comparison of the finished training jobs: final evaluation return per (algo, scenario, budget) over
    seeds (IQM, 95 % CI), learning curves, and the status of every job."""
    from shopgym.experiments.compare import read_curve
    from shopgym.experiments.plots import plot_comparison, plot_learning_curves
    from shopgym.experiments.stats import MIN_SEEDS, SEEDS_CI, format_interval, iqm_summary

    groups: dict[str, list[float]] = {}
    curves: dict[str, list] = {}
    for job_id, job in jobs.items():
        if job["kind"] != "train" or job["status"] != "done":
            continue
        config = job["config"]
        label = f"{config['algo'].upper()} {scenario_label(config['scenario'])} ({config['n_timesteps']:,} steps)"
        groups.setdefault(label, []).append(float(job["summary"]["final_mean_return"]))
        steps, returns = read_curve(out / "jobs" / job_id / "run")
        curves.setdefault(label, []).append((np.asarray(steps), np.asarray(returns)))
    summary = {
        "jobs": {s: sum(j["status"] == s for j in jobs.values()) for s in ("done", "failed", "pending")},
        "groups": {label: iqm_summary(v) for label, v in groups.items()},
        "runs": {label: len(v) for label, v in groups.items()},
    }
    lines = [
        "# Sweep",
        "",
        f"Jobs: {summary['jobs']['done']} done, {summary['jobs']['failed']} failed, "
        f"{summary['jobs']['pending']} not run. Training jobs are grouped by algorithm, scenario and budget; seeds"
        " are the runs of a group. Final evaluation return (profit per shopper): interquartile mean over seeds"
        f" [{SEEDS_CI}; n/a below {MIN_SEEDS} seeds].",
        "",
    ]
    if groups:
        intervals = {label: tuple(v.values()) for label, v in summary["groups"].items()}
        plot_comparison(intervals, out / "comparison.png", "Sweep: final evaluation return", "profit per shopper")
        plot_learning_curves(curves, out / "learning_curves.png", "Sweep: evaluation return while training")
        lines += [*figure("comparison", "comparison.png"), *figure("learning curves", "learning_curves.png")]
        ranked = sorted(groups, key=lambda n: -summary["groups"][n]["iqm"])
        rows = [[label, len(groups[label]), format_interval(summary["groups"][label])] for label in ranked]
        lines += table(["group", "runs", "final return [95 % CI]"], rows)
    failed = [(job_id, job["error"]) for job_id, job in jobs.items() if job["status"] == "failed"]
    if failed:
        lines += ["", "## Failed jobs", ""] + [f"- `{job_id}`: {error}" for job_id, error in failed]
    suites = [job_id for job_id, job in jobs.items() if job["kind"] != "train" and job["status"] == "done"]
    if suites:
        lines += ["", "## Suites", ""] + [f"- [{job_id}](jobs/{job_id}/suite/report.md)" for job_id in suites]
    write_atomic(out / "report.md", "\n".join(lines) + "\n")
    return summary


def run_sweep(
    config: SweepConfig,
    out: str | Path,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Run every job of ``config`` that is not done yet, ``workers`` at a time (default: the machine's cores
    divided by ``cpus_per_job``), then gather the results. Returns the summary (also in ``summary.json``)."""
    if backend not in BACKENDS:
        raise RunError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    out = Path(out)
    run = RunDirectory(out)
    run.claim(SWEEP)  # a new or empty folder, or a sweep's: never files shopgym did not write
    workers = workers or max(1, (os.cpu_count() or 1) // config.cpus_per_job)
    store = CellStore(out)
    planned = _plan(store, expand_jobs(config))
    todo = [(job_id, job) for job_id, job in planned.items() if job["status"] != "done"]
    log.info("%d jobs, %d to run, %d at a time (%s)", len(planned), len(todo), workers, backend)
    for job_id, _ in todo:
        planned[job_id].update(status="running", started=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    store.put(JOBS, {"jobs": planned})

    def done(job_id: str, result: dict[str, Any]) -> None:
        attempts = planned[job_id].get("attempts", 0) + 1
        seconds = round(result.get("seconds", 0.0), 2)
        if "error" in result:
            log.warning("job %s failed: %s", job_id, result["error"])
            planned[job_id].update(status="failed", error=result["error"], attempts=attempts, seconds=seconds)
        else:
            log.info("job %s done in %.1f s", job_id, seconds)
            fields = {"error": None, "attempts": attempts, "seconds": seconds, "summary": result["summary"]}
            planned[job_id].update(status="done", **fields)
        store.put(JOBS, {"jobs": planned})

    jobs = [(job_id, {"kind": job["kind"], "config": job["config"]}) for job_id, job in todo]
    started = time.perf_counter()
    if backend == "local":
        _local(jobs, out, device, config.cpus_per_job, workers, done)
    else:
        _ray(jobs, out, device, config, workers, address, done)
    summary = _gather(planned, out)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["workers"], summary["backend"] = workers, backend
    run.write_json("summary.json", summary)
    return summary
