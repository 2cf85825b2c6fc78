"""Simulator throughput: single-env steps/s per task, and batched Marketing-v1 shopper-steps/s against a
Gymnasium ``SyncVectorEnv`` of single envs, with glibc's default allocator and with :func:`tune_malloc`.

Run: ``python benchmarks/bench_core.py`` (about 4 minutes on 2 cores). Writes ``docs/benchmarks.md`` (with
``benchmarks/model_comparison.md``, the recorded runs of ``compare_models.py``, appended), ``docs/benchmarks.json``
and ``docs/scaling.png``. The allocator setting is process-wide and glibc's default
behaviour differs from process to process, so the batched measurements run in several fresh processes per
setting and the page reports the median and the range.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1, 64, 1024, 16384)
TASKS = (
    "shopgym/Recommend-v1",
    "shopgym/RecommendSlate-v1",
    "shopgym/Promote-v1",
    "shopgym/Marketing-v1",
    "shopgym/Pricing-v1",
)


def measure(part: str, seconds: float) -> dict:
    """One process's measurements: ``single`` (steps/s per task), ``native`` or ``sync`` (per N)."""
    import gymnasium as gym

    from shopgym.experiments.bench import rate, stepper, vector_throughput

    results: dict = {}
    if part == "single":
        for env_id in TASKS:
            env = gym.make(env_id)
            env.reset(seed=0)
            env.action_space.seed(0)
            actions = [env.action_space.sample() for _ in range(256)]
            results[env_id] = rate(stepper(env, actions, reset_when_done=True), 1, seconds)
        return results
    mode = "vector_entry_point" if part == "native" else "sync"
    for n in SIZES:
        results[str(n)] = vector_throughput("shopgym/Marketing-v1", n, seconds, mode)
    return results


def run_worker(part: str, tuned: bool, seconds: float) -> dict:
    command = [sys.executable, __file__, "--worker", part, "--seconds", str(seconds)] + (["--tuned"] if tuned else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def collect(seconds: float, repeats: int) -> dict:
    """All measurements: per allocator setting, single-env rates and ``repeats`` processes of batched rates."""
    data: dict = {"seconds": seconds, "repeats": repeats}
    for setting, tuned in (("default", False), ("tuned", True)):
        data[setting] = {
            "single": run_worker("single", tuned, seconds),
            "native": [run_worker("native", tuned, seconds) for _ in range(repeats)],
        }
    data["sync"] = run_worker("sync", False, seconds / 2)
    data["cli"] = cli_startup()
    return data


def cli_startup(repeats: int = 5) -> dict[str, float]:
    """Median wall seconds of ``shopgym --help`` and of a bad flag, each a fresh process (``repeats`` times)."""
    timings = {}
    for name, args in (("help", ["--help"]), ("bad_flag", ["train", "--algo", "nope"])):
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "shopgym.experiments.cli", *args], cwd=ROOT, capture_output=True)
            runs.append(time.perf_counter() - started)
        timings[name] = sorted(runs)[repeats // 2]
    return timings


def _median(runs: list[dict], n: int) -> float:
    return float(np.median([run[str(n)] for run in runs]))


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=130)
    sizes = np.array(SIZES)
    for setting, label, style in (
        ("tuned", "batched core, malloc tuned", "o-"),
        ("default", "batched core, default malloc", "s--"),
    ):
        runs = data[setting]["native"]
        median = np.array([_median(runs, n) for n in SIZES])
        low = np.array([min(run[str(n)] for run in runs) for n in SIZES])
        high = np.array([max(run[str(n)] for run in runs) for n in SIZES])
        line = ax.plot(sizes, median, style, label=f"{label} (median, range of {len(runs)} runs)", linewidth=2)
        ax.fill_between(sizes, low, high, color=line[0].get_color(), alpha=0.2)
    ax.plot(sizes, [data["sync"][str(n)] for n in SIZES], "^:", label="SyncVectorEnv of N single envs", linewidth=2)
    ax.axhline(1e6, color="grey", linewidth=1, linestyle="-.", label="target: 1M shopper-steps/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("shoppers stepped per call, N (log scale)")
    ax.set_ylabel("shopper-steps per second (log scale)")
    ax.set_title("Marketing-v1 throughput on 2 CPU cores (K = 20 candidates, d = 16)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path)


def report(data: dict) -> str:
    import gymnasium

    def fmt(x: float) -> str:
        return f"{x:,.0f}"

    def cell(runs: list[dict], n: int) -> str:
        values = [run[str(n)] for run in runs]
        return f"{fmt(np.median(values))} ({fmt(min(values))}–{fmt(max(values))})"

    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    default, tuned, sync = data["default"], data["tuned"], data["sync"]
    lines = [
        "# Benchmarks",
        "",
        "Produced by `python benchmarks/bench_core.py` (`make bench`); rerun it to refresh this page,",
        "`benchmarks.json` and `scaling.png`.",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, NumPy {np.__version__},",
        f"Gymnasium {gymnasium.__version__}. A rate is steps over at least {data['seconds']:g} s of wall time",
        "after three warm-up steps, with random valid actions. Batched rates: median and range over",
        f"{data['repeats']} fresh processes per allocator setting.",
        "",
        "## Single env (`gymnasium.make`, default wrappers), steps/s",
        "",
        "| task | default malloc | malloc tuned |",
        "|---|---:|---:|",
    ]
    for env_id in TASKS:
        lines.append(f"| `{env_id}` | {fmt(default['single'][env_id])} | {fmt(tuned['single'][env_id])} |")
    lines += [
        "",
        "## Batched Marketing-v1, shopper-steps/s",
        "",
        "K = 20 candidates, d = 16, the full model: choice, dynamics, candidate generation, observations.",
        "",
        "| N | native vector env, default malloc | native, malloc tuned | SyncVectorEnv of N single envs |"
        " tuned median / sync |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in SIZES:
        ratio = _median(tuned["native"], n) / sync[str(n)]
        lines.append(
            f"| {n:,} | {cell(default['native'], n)} | {cell(tuned['native'], n)} | {fmt(sync[str(n)])} |"
            f" {ratio:,.0f}× |"
        )
    best = max(max(_median(data[s]["native"], n) for n in SIZES if n >= 1024) for s in ("default", "tuned"))
    ratio_1024 = _median(tuned["native"], 1024) / sync["1024"]
    tuning = _median(tuned["native"], 1024) / _median(default["native"], 1024)
    tuning_large = _median(tuned["native"], 16384) / _median(default["native"], 16384)
    lines += [
        "",
        "![throughput against N](scaling.png)",
        "",
        "## Reading the numbers",
        "",
        f"- Target ≥ 1,000,000 shopper-steps/s at N ≥ 1024: **{'met' if best >= 1e6 else 'not met'}** (best"
        f" median {fmt(best)}).",
        f"- Target ≥ 50× a SyncVectorEnv at equal N: **{'met' if ratio_1024 >= 50 else 'not met'}** at N = 1024"
        f" ({ratio_1024:,.0f}×).",
        "- `malloc tuned` is `shopgym.perf.tune_malloc()`. With glibc's default, multi-MB observation and",
        "  candidate arrays can be unmapped when freed and page-faulted back in on the next step. In this run",
        f"  tuning changed the median at N = 1024 by {tuning:.1f}× and at N = 16,384 by {tuning_large:.1f}×.",
        "- The SyncVectorEnv baseline builds N full single envs (each with its own catalog), so its rate stays at",
        "  the single-env rate while the batched core amortises NumPy's per-call overhead over all shoppers.",
        "- Where the time went at N = 1024 on the first model (line profiler, shopgym 0.1.0; not rerun):",
        "  observation writing and candidate generation took about a quarter each, the visit (choice and state",
        "  update) most of the rest. A compiled fused kernel would be the next step toward the 1M target.",
    ]
    if "cli" in data:
        lines += [
            "",
            "## Command-line start-up",
            "",
            f"`shopgym --help` answers in {data['cli']['help']:.2f} s and a bad flag (`shopgym train --algo nope`)",
            f"in {data['cli']['bad_flag']:.2f} s (median of 5 fresh processes, `python -m shopgym.experiments.cli`):",
            "torch, stable-baselines3, matplotlib and scipy are imported only by the commands that use them.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="minimum timed wall seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per allocator setting")
    parser.add_argument("--worker", choices=("single", "native", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--tuned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, str(ROOT))
        if args.tuned:
            from shopgym.perf import tune_malloc

            tune_malloc()
        print(json.dumps(measure(args.worker, args.seconds)))
        return
    data = collect(args.seconds, args.repeats)
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "benchmarks.json").write_text(json.dumps(data, indent=1) + "\n")
    plot(data, docs / "scaling.png")
    # The model comparison comes from benchmarks/compare_models.py runs, recorded by hand in model_comparison.md.
    comparison = ROOT / "benchmarks" / "model_comparison.md"
    extra = "\n" + comparison.read_text() if comparison.is_file() else ""
    (docs / "benchmarks.md").write_text(report(data) + extra)
    print((docs / "benchmarks.md").read_text())


if __name__ == "__main__":
    main()
