"""`EnsembleForecaster`: an equally weighted mixture of independently seeded forecasters.

A deep ensemble (Lakshminarayanan et al. 2017) for any tsnode forecaster with a
``random_state``: ``n_members`` clones of ``estimator`` are fitted on the same data with
different seeds, and the forecast distribution is their equal-weight mixture. Each member
contributes the same number of sample paths, so ``sample``, ``predict`` (the mixture median),
``predict_quantiles`` and ``predict_interval`` all describe the one mixture. Averaging over
seeds removes the part of a neural forecaster's error that is due to its initialisation and
training noise; the price is ``n_members`` fits (parallel with ``n_jobs``).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from tsnode._forecaster_io import _index_config, usable_device
from tsnode._serialization import (
    ENSEMBLE_CONFIG,
    SerializationError,
    from_jsonable,
    make_save_dir,
    missing_config,
    params_to_jsonable,
    read_config,
    save_path,
    saveable_params,
    write_config,
)
from tsnode._validation import _is_int
from tsnode._warnings import call_recording_warnings, recorded_warnings, reissue_recorded
from tsnode.base import _LIVE_PARAMS, BaseForecaster

__all__ = ["EnsembleForecaster"]

_CONFIG_FILE = ENSEMBLE_CONFIG
_FORMAT_VERSION = 1
_SEED_BOUND = 2**31 - 1


def _fit_member(member: BaseForecaster, frame: pd.DataFrame) -> BaseForecaster:
    return member.fit(frame)


class EnsembleForecaster(BaseForecaster):
    """Equal-weight mixture of ``n_members`` forecasters that differ only in their seed.

    Parameters
    ----------
    estimator : forecaster, optional
        The unfitted template (default ``TSNodeForecaster()``). It needs a ``random_state``
        parameter (deterministic models would give identical members) and is cloned, never
        fitted itself.
    n_members : int, default 3
        Number of members (>= 1).
    random_state : int, numpy Generator or None
        Draws the members' seeds (``member_seeds_``) and shuffles the pooled sample paths. The
        same int gives the same members and the same forecasts; another int set after fit
        gives other (reproducible) draws from the same members, and None or a Generator fresh
        draws at every forecast, like a single forecaster.
    n_jobs : int or None, default None
        Members fitted in parallel with joblib (None: one at a time; -1: every core). Each
        member keeps its own ``num_threads``. Warnings raised in worker processes (which
        would only reach their stderr) are re-issued once each under the caller's filters:
        tsnode's at the caller's line, other code's at its own location.
    progress : bool, default True
        Show a tqdm bar over the members while fitting (sequential or parallel). Members' own
        bars are switched off when they have a ``progress`` parameter.

    Attributes
    ----------
    members_ : list of fitted forecasters, length n_members
    member_seeds_ : list of int, length n_members
        The ``random_state`` each member was fitted with.

    Notes
    -----
    ``sample(h, n)`` pools ``n`` paths, split as evenly as possible over the members (``n %
    n_members`` members drawn at random draw one more, so that even one path is a draw from
    the mixture), in random order. Quantiles come from
    ``sum(member._n_quantile_samples())`` pooled paths: 200 per ``TSNodeForecaster`` member by
    default. The target field and calendar are the template's.

    Examples
    --------
    >>> from tsnode import EnsembleForecaster, TSNodeForecaster, load_sample
    >>> y = load_sample(["AAPL", "MSFT"])
    >>> model = EnsembleForecaster(TSNodeForecaster(epochs=5), n_members=3, random_state=0)
    >>> forecast = model.fit(y).predict_quantiles(20)  # doctest: +SKIP
    """

    # the members are re-seeded from member_seeds_ and never show progress bars: the
    # template's own random_state and progress play no part once fitted
    _live_params = _LIVE_PARAMS | {"estimator__random_state", "estimator__progress"}

    def __init__(
        self,
        estimator: BaseForecaster | None = None,
        *,
        n_members: int = 3,
        random_state: int | np.random.Generator | None = None,
        n_jobs: int | None = None,
        progress: bool = True,
    ) -> None:
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress

    # ------------------------------------------------------------------ template
    def set_params(self, **params: Any) -> EnsembleForecaster:
        """scikit-learn's ``set_params``; ``estimator__<name>`` needs an ``estimator`` set (with
        the default ``estimator=None`` there is no object to set it on)."""
        nested = sorted(k for k in params if k.startswith("estimator__"))
        if nested and params.get("estimator", self.estimator) is None:
            raise ValueError(
                f"cannot set {nested[0]} while estimator=None (the default TSNodeForecaster()); "
                f"pass the estimator itself, e.g. set_params(estimator=TSNodeForecaster("
                f"{nested[0].removeprefix('estimator__')}=...))."
            )
        return super().set_params(**params)

    def _template(self) -> BaseForecaster:
        if self.estimator is None:
            from tsnode.forecaster import TSNodeForecaster

            return TSNodeForecaster()
        estimator = self.estimator
        if not isinstance(estimator, BaseForecaster):
            raise TypeError(
                f"estimator must be a tsnode forecaster (a BaseForecaster such as "
                f"TSNodeForecaster()), got {estimator!r} of type {type(estimator).__name__}."
            )
        if "random_state" not in estimator.get_params(deep=False):
            raise ValueError(
                f"estimator {type(estimator).__name__} has no random_state parameter, so every "
                "member would be the same model; ensemble a seeded forecaster such as "
                "TSNodeForecaster or GRUForecaster."
            )
        return estimator

    def _with_defaults(self) -> EnsembleForecaster:
        template = self.estimator
        if template is None:
            from tsnode.forecaster import TSNodeForecaster

            template = TSNodeForecaster()
        if not isinstance(template, BaseForecaster):
            return self  # refused by fit; after fit, set_params only warns
        resolved = copy.copy(self)  # shares the other parameters: a Generator stays the same
        resolved.estimator = template._with_defaults()
        return resolved

    @property
    def target(self) -> str:
        """Price field picked from yfinance-shaped frames (the template's)."""
        return getattr(self._template(), "target", "Close")

    @property
    def calendar(self) -> str | None:
        """Exchange calendar of integer horizons (the template's)."""
        return getattr(self._template(), "calendar", "XNYS")

    def _fitted_param(self, name: str, default: Any = None) -> Any:
        """The template's fit-time ``name`` (e.g. calendar, target), frozen like its others."""
        fitted = getattr(self, "_fit_params_", {})
        key = f"estimator__{name}"
        return fitted[key] if key in fitted else getattr(self, name, default)

    def _check_params(self) -> None:
        n = self.n_members
        if not _is_int(n) or n < 1:
            raise (ValueError if _is_int(n) else TypeError)(
                f"n_members must be an int >= 1, got {n!r}; pass e.g. n_members=3 (1 is a "
                "single model)."
            )
        jobs = self.n_jobs
        if jobs is not None and (not _is_int(jobs) or jobs == 0):
            raise (ValueError if _is_int(jobs) else TypeError)(
                f"n_jobs must be a non-zero int or None, got {jobs!r}; pass None (sequential), "
                "a number of processes such as 2, or -1 (every core)."
            )
        if not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")

    # ------------------------------------------------------------------ hooks
    def _min_observations(self) -> int:
        self._check_params()
        return self._template()._min_observations()

    def _n_quantile_samples(self) -> int:
        return int(sum(m._n_quantile_samples() for m in self.members_))

    def _fit(self, frame: pd.DataFrame) -> None:
        template = self._template()
        n = int(self.n_members)
        seeds = [int(s) for s in self._rng().integers(0, _SEED_BOUND, size=n)]
        members = []
        for seed in seeds:
            member = clone(template).set_params(random_state=seed)
            if "progress" in member.get_params(deep=False):
                member.set_params(progress=False)
            members.append(member)
        if self.n_jobs is None or self.n_jobs == 1:
            fitted = ((_fit_member(m, frame), []) for m in members)
        else:  # an ordered generator: the bar advances as members finish, in member order
            # Worker processes record their warnings (they would only reach their stderr).
            parallel = Parallel(n_jobs=self.n_jobs, return_as="generator")
            pid = os.getpid()
            fitted = parallel(
                delayed(call_recording_warnings)(pid, _fit_member, m, frame) for m in members
            )
        bar = tqdm(
            fitted, total=n, desc="tsnode ensemble", unit="member", disable=not self.progress
        )
        fitted_members, recorded = [], []
        try:
            for member, member_warnings in bar:
                fitted_members.append(member)
                recorded.extend(member_warnings)
        except Exception as error:  # the warnings may explain the failure
            reissue_recorded(recorded + recorded_warnings(error), stacklevel=3)
            raise
        # stacklevel 3: _fit <- BaseForecaster.fit <- the user's line
        reissue_recorded(recorded, stacklevel=3)
        self.members_ = fitted_members
        self.member_seeds_ = seeds
        if n > 1 and self._identical_members():
            warnings.warn(
                f"the {n} members are identical fits: {type(template).__name__}'s fit does not "
                "depend on random_state (it only seeds sampling), so the ensemble forecasts "
                "exactly as one of them. Use the forecaster alone, or members whose training "
                "is random (TSNodeForecaster, GRUForecaster).",
                UserWarning,
                stacklevel=3,
            )

    def _identical_members(self) -> bool:
        """Whether every member's fitted arrays (``_fitted_arrays``, closed-form baselines)
        equal the first's: the mixture is then that member's own distribution."""
        first = self.members_[0]
        names = getattr(first, "_fitted_arrays", ())
        return bool(names) and all(
            np.array_equal(getattr(m, name), getattr(first, name), equal_nan=True)
            for m in self.members_[1:]
            for name in names
        )

    def _predict_quantiles(
        self, index: pd.DatetimeIndex, quantiles: tuple[float, ...]
    ) -> np.ndarray:
        """The mixture's quantiles (n_steps, n_series, n_quantiles): exact for identical
        members (their own), else empirical over the pooled member samples."""
        if self._identical_members():
            return self.members_[0]._predict_quantiles(index, quantiles)
        return super()._predict_quantiles(index, quantiles)

    def _sample(self, index: pd.DatetimeIndex, n_samples: int) -> np.ndarray:
        k = len(self.members_)
        rng = self._rng()
        counts = np.full(k, n_samples // k)
        if n_samples % k:  # the members that draw one more path, at random
            counts[rng.permutation(k)[: n_samples % k]] += 1
        members = self._sampling_members(rng)
        paths = [m.sample(index, c) for m, c in zip(members, counts, strict=True) if c > 0]
        pooled = np.concatenate(paths, axis=0)
        return pooled[rng.permutation(len(pooled))]

    def _sampling_members(self, rng: np.random.Generator) -> list[BaseForecaster]:
        """The members to draw from: as fitted (their own seeds) while ``random_state`` is the
        int they were seeded from; otherwise copies sharing their fitted state, re-seeded from
        ``rng`` (None or a Generator: fresh draws at every call; another int: other,
        reproducible draws)."""
        k = len(self.members_)
        if _is_int(self.random_state):
            seeds = [int(s) for s in self._rng().integers(0, _SEED_BOUND, size=k)]
            if seeds == [int(s) for s in self.member_seeds_]:
                return self.members_
        members = [copy.copy(m) for m in self.members_]
        for member, seed in zip(members, rng.integers(0, _SEED_BOUND, k), strict=True):
            member.random_state = int(seed)
        return members

    def _update(self, frame: pd.DataFrame) -> None:
        # All members or none: copies (sharing their fitted state; update only reassigns it)
        # are updated and swapped in together, so an error or Ctrl-C midway changes nothing.
        updated = [copy.copy(member) for member in self.members_]
        for member in updated:
            member.update(frame)
        self.members_ = updated

    def reconstruct(self, index: pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Median of the mixture's posterior at in-sample timestamps, filling missing values.

        Pools every member's posterior draws (``n_predict_samples`` each) and takes their
        median, the counterpart of :meth:`TSNodeForecaster.reconstruct` for the mixture.

        Parameters
        ----------
        index : DatetimeIndex, optional
            Timestamps to reconstruct; default the fitted (and updated) index.

        Returns
        -------
        DataFrame of shape (len(index), n_series) in price units.

        Raises
        ------
        TypeError
            If the members cannot reconstruct (only ``TSNodeForecaster`` can).
        FloatingPointError
            If a reconstructed value is NaN or inf (an overflowing member).
        """
        check_is_fitted(self)
        self._warn_changed_params()
        if not hasattr(self.members_[0], "_reconstruction_samples"):
            raise TypeError(
                f"{type(self.members_[0]).__name__} members cannot reconstruct in-sample values; "
                "only an ensemble of TSNodeForecaster can."
            )
        n_draws = sum(int(member.n_predict_samples) for member in self.members_)
        return self._blockwise_median(index, self._sampling_members(self._rng()), n_draws)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted ensemble to the directory ``path`` (created if needed).

        Writes ``ensemble.json`` (the ensemble's parameters and seeds) and one directory per
        member, ``member_<i>``, with the member's own ``save`` (pickle-free for
        ``TSNodeForecaster``, ``GRUForecaster`` and the closed-form ``NaiveForecaster``,
        ``DriftForecaster`` and ``GBMForecaster``).

        Returns
        -------
        Path
            The directory.

        Raises
        ------
        SerializationError
            If a parameter frozen by ``fit`` was changed since (set it back or refit), or
            ``path`` is a file or holds files that are not a tsnode save; nothing is written.
            TypeError (ValueError) if ``path`` is not a str or PathLike (is empty).
        """
        check_is_fitted(self)
        self._check_unchanged_params()
        if not hasattr(type(self.members_[0]), "load"):
            raise TypeError(
                f"{type(self.members_[0]).__name__} members cannot be saved: the class has no "
                "save/load; refit the ensemble instead, or ensemble a forecaster that can be "
                "saved (TSNodeForecaster, GRUForecaster, NaiveForecaster, DriftForecaster or "
                "GBMForecaster)."
            )
        params = saveable_params(self)
        template = clone(self._template())
        # a Generator seed of the template never reaches the members (they get integer seeds)
        params["estimator"] = template.set_params(**saveable_params(template))
        # Converted before any file is written: an unsaveable parameter leaves no directory.
        body = {"params": params_to_jsonable(params), "member_seeds": self.member_seeds_}
        path = save_path(path, action="save")
        _index_config(self.y_)  # the members' own pre-write check: a refused save writes nothing
        make_save_dir(path)  # removes an old config: an interrupted overwrite is incomplete
        for i, member in enumerate(self.members_):
            member.save(path / f"member_{i}")
        write_config(
            path / _CONFIG_FILE,
            body,
            class_name="EnsembleForecaster",
            format_version=_FORMAT_VERSION,
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EnsembleForecaster:
        """Load an ensemble saved with :meth:`save`; its forecasts equal the original's.

        Returns
        -------
        EnsembleForecaster
            Fitted, with the saved members.

        Raises
        ------
        SerializationError
            If the directory is missing files or they are corrupted or tampered with.
        """
        path = save_path(path, action="load")
        if not (path / _CONFIG_FILE).is_file():
            raise missing_config(path, _CONFIG_FILE, "EnsembleForecaster", "ensemble")
        config = read_config(
            path / _CONFIG_FILE, class_name="EnsembleForecaster", format_version=_FORMAT_VERSION
        )
        try:
            params = from_jsonable(config["params"])
            estimator = params.get("estimator") if isinstance(params, dict) else None
            live = ("device", "num_threads")
            template = estimator.get_params() if hasattr(estimator, "get_params") else {}
            saved = {k: v for k, v in template.items() if k in live}
            if saved:  # a GPU save loads on the CPU, more threads than allowed here are capped,
                # as for its members (warnings: user -> load -> here)
                estimator.set_params(**usable_device(saved, path, stacklevel=3))
            ensemble = cls(**params)
            ensemble._check_params()
            member_cls = type(ensemble._template())
            seeds = config["member_seeds"]
            if not all(_is_int(s) for s in seeds):
                raise ValueError(f"'member_seeds' must be integers, got {seeds!r}")
        except (KeyError, TypeError, ValueError) as error:  # a SerializationError is a ValueError
            raise SerializationError(
                f"cannot load the ensemble saved in {path} ({_CONFIG_FILE}): {error}"
            ) from error
        if len(seeds) != ensemble.n_members or not hasattr(member_cls, "load"):
            raise SerializationError(
                f"{path / _CONFIG_FILE} lists {len(seeds)} member seeds for n_members="
                f"{ensemble.n_members} of class {member_cls.__name__}; the file is corrupted."
            )
        with warnings.catch_warnings():  # said once above for the whole ensemble
            warnings.filterwarnings("ignore", message=".*which this machine lacks", append=False)
            warnings.filterwarnings("ignore", message=".*more than this machine allows")
            ensemble.members_ = [member_cls.load(path / f"member_{i}") for i in range(len(seeds))]
        first = ensemble.members_[0]
        for i, member in enumerate(ensemble.members_):
            if not (
                member.columns_.equals(first.columns_)
                and member.y_.index.equals(first.y_.index)
                and member.get_params().get("random_state") == seeds[i]
            ):
                raise SerializationError(
                    f"{path / f'member_{i}'} does not belong to the ensemble saved in {path}: "
                    "its series, history or random_state differ from member_0's and the "
                    f"listed seed {seeds[i]}. Save the ensemble again."
                )
        ensemble.member_seeds_ = [int(s) for s in seeds]
        ensemble._set_fitted_frame(ensemble.members_[0].y_)
        ensemble._record_fit_params()
        return ensemble
