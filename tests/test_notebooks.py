"""Execute the example notebooks end to end with tiny settings (TSNODE_QUICK=1).

The kernel is the ``python3`` kernel spec pointed at this interpreter (``sys.executable``): a
temporary kernel spec directory is put first on ``JUPYTER_PATH``, so the notebooks run in the
same environment as the tests even when the environment is not activated. The repository root
goes on ``PYTHONPATH`` (tsnode need not be installed) and the notebooks run in a temporary
directory, so nothing is written into the source tree.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = ["backtest.ipynb", "irregular_data.ipynb"]
CELL_TIMEOUT_S = 240  # generous for a loaded 2-core machine; each notebook takes ~30 s alone


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernel spec running ``sys.executable``, and quick settings for it."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tsnode tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TSNODE_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # keep the kernel's inline backend
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel shares 2 cores with the suite
    monkeypatch.setenv("TSNODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return tmp_path


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: commit notebooks with cleared outputs"
            assert cell.execution_count is None
    source = "\n".join(cell.source for cell in nb.cells)
    assert "TSNODE_QUICK" in source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, kernel_env):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(kernel_env)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the traceback) if any cell fails
    elapsed = time.perf_counter() - start
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 3, f"{name} should draw its plots"
    text = "".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in outputs
    )
    assert "quick mode" in text  # TSNODE_QUICK reached the kernel
    assert "tsnode" in text
    print(f"{name}: executed in {elapsed:.1f} s")
