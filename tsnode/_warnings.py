"""Collect the warnings of several runs and re-issue each once (used by :func:`compare`).

``compare`` runs one backtest per model. The warnings tsnode raises inside them would point
into tsnode (once per model); :class:`WarningCollector` records them under the user's own
filters and re-issues each distinct one once, at the caller's line, naming the models.
Warnings raised by other libraries are re-issued unchanged at their own location.

Never imports torch.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WarningCollector"]

_PACKAGE = Path(__file__).resolve().parent


def _from_tsnode(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


class WarningCollector:
    """Records warnings per named run (:meth:`collecting`), re-issues them (:meth:`reissue`)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[type[Warning], str], tuple[warnings.WarningMessage, list[str]]] = {}

    @contextlib.contextmanager
    def collecting(self, name: str) -> Iterator[None]:
        """Record the warnings of the block (the caller's filters apply: ignored ones are not
        recorded, "error" ones raise); kept even when the block raises."""
        records: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as records:
                yield
        finally:
            for record in records:
                key = (record.category, str(record.message))
                self._seen.setdefault(key, (record, []))[1].append(name)

    def reissue(self, *, stacklevel: int) -> None:
        """Issue each recorded warning once: tsnode's at ``stacklevel`` (counted from the
        caller of this method) with ``[compare: models ...]`` appended, others as they were."""
        seen, self._seen = self._seen, {}
        for (_, text), (record, names) in seen.items():
            if not _from_tsnode(record.filename):
                warnings.warn_explicit(
                    record.message, record.category, record.filename, record.lineno
                )
                continue
            names = list(dict.fromkeys(names))
            shown = ", ".join(repr(n) for n in names)
            # record.message is the Warning instance: keep its class and attributes, without
            # calling its __init__ (a subclass may need more arguments)
            message = record.message
            renamed = type(message).__new__(type(message))
            renamed.__dict__.update(message.__dict__)
            renamed.args = (f"{text} [compare: model{'s' * (len(names) > 1)} {shown}]",)
            warnings.warn(renamed, stacklevel=stacklevel + 1)
