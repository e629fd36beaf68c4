"""Collect the warnings of several runs and re-issue each once (used by :func:`compare`).

``compare`` runs one backtest per model. The warnings tsnode raises inside them would point
into tsnode (once per model); :class:`WarningCollector` records them under the user's own
filters and re-issues each distinct one once, at the caller's line, naming the models.
Warnings raised by other libraries are re-issued unchanged at their own location.

:func:`call_recording_warnings` and :func:`reissue_recorded` carry the warnings of joblib
tasks run in *other processes* (``n_jobs > 1``), which would only reach the workers' stderr,
back to the caller, under the caller's filters. In the caller's own process (sequential runs,
threads) nothing is recorded: the warnings go out as usual, and recording there would race
(``catch_warnings`` changes process-wide state).

Never imports torch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "WarningCollector",
    "add_note",
    "user_stacklevel",
    "call_recording_warnings",
    "recorded_warnings",
    "reissue_recorded",
]

# A warning recorded in a worker process: (message, category, filename, lineno, module); the
# message is the Warning instance, or its text where the instance would not survive pickling.
Recorded = tuple[Warning | str, type[Warning], str, int, str | None]

_PACKAGE = Path(__file__).resolve().parent


def _from_tsnode(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


# Libraries tsnode runs its own work through (folds, members, progress bars): their frames
# sit between tsnode's and are no user's line either.
_DISPATCH = frozenset(
    {"joblib", "tqdm", "concurrent", "threading", "contextlib", "multiprocessing", "runpy", "dask"}
)


def _internal(frame: Any) -> bool:
    """Whether ``frame`` runs tsnode's code, or a dispatcher's between tsnode's frames."""
    spec = frame.f_globals.get("__spec__")  # a worker's entry module runs as __main__
    name = str(getattr(spec, "name", None) or frame.f_globals.get("__name__", ""))
    return name.split(".")[0] in _DISPATCH or name == "tsnode" or name.startswith("tsnode.")


def _first_user_frame(frame: Any) -> tuple[Any, int]:
    """The first frame from ``frame`` outwards that is not :func:`_internal`, and how many
    frames out it is (1: ``frame`` itself); ``(None, ...)`` when there is none."""
    level = 1
    while frame is not None and _internal(frame):
        frame, level = frame.f_back, level + 1
    return frame, level


def add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``; on Python 3.10 (no ``add_note``) append to ``__notes__``.

    Python 3.10's tracebacks do not print ``__notes__``, but tsnode's CLI reads them, and
    so do tools that render exception notes.
    """
    if hasattr(error, "add_note"):  # Python >= 3.11
        error.add_note(note)
        return
    notes = getattr(error, "__notes__", None)
    with contextlib.suppress(AttributeError, TypeError):  # e.g. a read-only __dict__
        error.__notes__ = [*notes, note] if isinstance(notes, list) else [note]


def user_stacklevel(default: int = 2) -> int:
    """The ``stacklevel`` that makes ``warnings.warn``, called by this function's caller, point
    at the first frame outside tsnode (and the joblib/tqdm machinery it runs work through):
    the user's line, however deep inside tsnode the warning is raised (as pandas'
    ``find_stack_level``). ``default`` when there is no such frame (a worker's thread or
    process), whose warnings tsnode records and re-issues at the caller's line."""
    frame, level = _first_user_frame(sys._getframe(1))  # 1: the caller of warnings.warn
    return default if frame is None else level


def _user_line() -> tuple[str, int] | None:
    """(filename, lineno) of the first user frame, where :func:`user_stacklevel` points
    tsnode's warnings."""
    frame, _ = _first_user_frame(sys._getframe(1))
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


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
        here = _user_line()  # tsnode's warnings raised at user_stacklevel() point here
        for (_, text), (record, names) in seen.items():
            ours = _from_tsnode(record.filename) or (record.filename, record.lineno) == here
            if not ours:
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


def call_recording_warnings(
    caller_pid: int, fn: Callable[..., Any], *args: Any
) -> tuple[Any, list[Recorded]]:
    """``fn(*args)`` and, in a worker process other than ``caller_pid`` (on its main thread),
    every warning it raised (all of them: the worker does not know the caller's filters,
    :func:`reissue_recorded` applies them). A raised error carries the warnings recorded
    before it, see :func:`recorded_warnings`."""
    if os.getpid() == caller_pid or threading.current_thread() is not threading.main_thread():
        return fn(*args), []  # the caller's process, or a worker's thread pool: not recorded
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            result = fn(*args)
        except Exception as error:  # the warnings may explain the failure
            error.tsnode_warnings = _record(records)  # type: ignore[attr-defined]
            raise
    return result, _record(records)


def _record(records: list[warnings.WarningMessage]) -> list[Recorded]:
    modules = {
        getattr(m, "__file__", None): name for name, m in list(sys.modules.items()) if m
    }  # the module= that the caller's filters match
    return [
        (_portable(r.message), r.category, r.filename, r.lineno, modules.get(r.filename))
        for r in records
    ]


def _portable(message: Warning | str) -> Warning | str:
    """``message``, or its text if it does not survive pickling (its class needs more
    arguments than its text, say)."""
    try:
        pickle.loads(pickle.dumps(message))
    except Exception:
        return str(message)
    return message


def recorded_warnings(error: BaseException) -> list[Recorded]:
    """The warnings :func:`call_recording_warnings` recorded before ``error`` was raised."""
    return list(getattr(error, "tsnode_warnings", []))


def reissue_recorded(recorded: list[Recorded], *, stacklevel: int) -> None:
    """Issue each distinct recorded warning once, under the caller's filters: tsnode's at
    ``stacklevel`` (counted from the caller of this function), others at their own line."""
    seen = set()
    for message, category, filename, lineno, module in recorded:
        key = (category, str(message), filename, lineno)
        if key in seen:
            continue
        seen.add(key)
        if not _from_tsnode(filename):
            # module=None would hide the warning (CPython reads it as a module named None)
            where = {} if module is None else {"module": module}
            warnings.warn_explicit(message, category, filename, lineno, **where)
            continue
        if isinstance(message, str):
            text, message = message, category.__new__(category)  # not __init__: see _portable
            message.args = (text,)
        warnings.warn(message, stacklevel=stacklevel + 1)
