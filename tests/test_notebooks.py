"""The notebooks in notebooks/: each runs top to bottom with its small default budgets (papermill, in a fresh
kernel, from the repository root), and the committed files carry no outputs and a ``parameters`` cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"


def test_the_notebooks_are_found():
    expected = {"01_quickstart", "02_pricing_and_reference_prices", "03_transfer", "04_continual"}
    assert expected <= {p.stem for p in NOTEBOOKS}


@pytest.fixture(scope="module")
def kernel_name() -> str:
    """The ``python3`` kernel must already be installed (ipykernel provides it); the test does not register one."""
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.fail(f"no Jupyter kernel named {KERNEL!r}: install the dev extra (ipykernel) into this environment")
    return KERNEL


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook: Path, kernel_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The kernel inherits this: the notebooks' tiny networks run several times faster on one thread, above all
    # on a busy 2-core machine, and the test stays on one core.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    output = tmp_path / notebook.name
    papermill.execute_notebook(  # raises PapermillExecutionError if a cell fails
        str(notebook), str(output), kernel_name=kernel_name, cwd=str(ROOT), progress_bar=False
    )
    executed = nbformat.read(output, as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_clean(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"outputs left in: {cell.source[:60]!r}"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
