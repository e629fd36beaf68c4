"""Provenance of a benchmark run: which code produced it (shared by the benchmark scripts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def git_state(paths: tuple[str, ...] = ("tsnode",)) -> str:
    """Short commit of the working tree, with the uncommitted files under ``paths`` if any."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except OSError:
        return "unknown (git not available)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    return commit + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")
