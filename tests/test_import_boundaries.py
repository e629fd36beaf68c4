"""House rule: the ``nn`` layer is torch only (never pandas); the data, metrics, backtesting,
trading and plotting modules never import torch (they work on any object with fit/predict)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_TORCH = (
    "tsnode",
    "tsnode.metrics",
    "tsnode.backtesting",
    "tsnode.trading",
    "tsnode.data",
    "tsnode.datasets",  # imported torch for its two tensor generators (now inside them)
    "tsnode.preprocessing",
    "tsnode.calendar",
    "tsnode.plotting",
    "tsnode.baselines",
)


def _first_importing(modules: tuple[str, ...], forbidden: str) -> str | None:
    """The first of ``modules`` (imported in order, in a fresh interpreter) that imports
    ``forbidden``, or None."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"    if {forbidden!r} in sys.modules:\n"
        "        print(name)\n"
        "        break\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip() or None


def test_modules_that_never_import_torch():
    assert _first_importing(NO_TORCH, "torch") is None


def test_the_nn_layer_never_imports_pandas():
    assert _first_importing(("tsnode.nn",), "pandas") is None
