"""Real-price walk-forward benchmark (issue #8, sections 3 and 4).

Section 3 -- shipped tickers, daily closes, walk-forward. Every model forecasts the next
20 trading days at cutoffs every ``--step`` trading days over the last ``--eval-days``
trading days of the samples (default 504, i.e. 2011-03-01 .. 2013-03-01, the samples end
on 2013-03-01) and is scored at horizons 1, 5 and 20 trading days. Models: tsnode
(``TSNodeForecaster``), the random walk (``NaiveForecaster``), ``DriftForecaster``,
``GBMForecaster`` and ``GRUForecaster``. One global model is fitted over all tickers
(a wide frame, one column per ticker). Each refit trains on the last ``--train-days``
trading days before its cutoff (sliding window); between refits the models are only
conditioned on the new rows with ``update`` (weights unchanged).

Section 4 -- calibration under irregular sampling. 30% of the trading days of every
ticker are dropped at random (independently per ticker, seeded) and section 3 is re-run
for tsnode and the GRU on the *same* cutoffs and the *same* trading-day horizons (the
rows stay in the frame as NaN, so "5 steps" still means 5 trading days). The full-data
and thinned-data scores are compared on the forecasts whose target is observed in the
thinned data.

Guarding against self-deception: nothing is tuned on the evaluation period. Every
forecaster runs with its library defaults; tsnode's default solver (midpoint, step 0.5)
was chosen with ``benchmarks/tune_prices.py`` on the same protocol over the two years
*before* the evaluation period (2009-03-02 .. 2011-02-28), the form and strength of its
post-hoc calibration (``calibrate=True``) over the six years before it (2005-03 ..
2011-02, a rule written down before that run; results in ``results/tune_prices_*.md``),
and neither was revisited after this benchmark ran. Each tsnode fit's calibration map is
recorded (``calibration_maps`` in the JSON, one line per seed in the markdown). Exceptions to the library defaults: the
training budget of the neural models (``epochs``, fixed from the compute budget before any
evaluation: tsnode 12 x 25 Adam steps instead of 20 x 25, the GRU 8 passes over its ~3000
windows, ~375 steps, instead of 30, so that the whole script stays well under 25 minutes on
2 shared CPU cores: 11 min measured with the former rk4 default, 4.4 min with midpoint) and
``random_state``; the training window (3 years), the cutoff spacing and the refit schedule
were fixed a priori. The
neural models are run with several seeds and the seed spread is reported.

Scores (per model and horizon):

- ``mase``: mean absolute error scaled by the in-sample one-step naive MAE of each
  cutoff's training window; ``mase_rel`` = MASE / MASE of the random walk.
- ``crps``: quantile-score CRPS in price units (pooled over tickers, dominated by the
  expensive ones); ``crps_scaled``: the same per row divided by the MASE scale (unit
  free, every ticker weighs the same) -- the CRPS target is judged on it.
- ``coverage_80`` / ``coverage_90``: share of targets inside the (0.1, 0.9) / (0.05, 0.95)
  quantile interval.
- ``directional_accuracy``: share of correctly predicted signs of ``actual - origin``.
- ``dm_stat`` / ``dm_pvalue``: Diebold-Mariano test (HLN corrected) of squared scaled
  errors against the random walk; the long-run variance uses lags up to
  ``ceil(h / step) - 1`` (consecutive forecasts overlap for h > step).
- ``sharpe`` / ``sharpe_buy_and_hold``: :func:`tsnode.trading.simulate`, long/flat on the
  sign of the horizon-h forecast, decisions every ``step`` bars executed at the next
  close, 5 bps costs; buy-and-hold on the same bars with the same costs.

Run:  python benchmarks/bench_prices.py [--quick] [--out benchmarks/results]
Writes ``prices.json`` and ``prices.md`` to the output folder (``--render-only`` rewrites
``prices.md`` from an existing ``prices.json``). About 5 minutes on 2 shared CPU cores.

The settings constants live in ``_prices_settings.py`` and the verdicts and Markdown report
in ``_prices_report.py``; this script re-exports them (``__all__``).
"""

from __future__ import annotations

__all__ = [  # the report and settings modules' names are re-exported for tune_prices and tests
    "ALL_MODELS",
    "BASELINES",
    "CODE_PATHS",
    "COVERAGE_TOLERANCE",
    "MASE_TARGET",
    "NEURAL",
    "QUANTILES",
    "SCORES",
    "TSNODE_MEMBERS",
    "_fmt",
    "_jsonable",
    "degradation",
    "evaluate",
    "git_state",
    "main",
    "make_models",
    "mase_rel_by_series",
    "observed_rows",
    "parse_args",
    "run_backtest",
    "forecast_table",
    "score_step",
    "targets",
    "thin",
    "with_scale",
    "write_markdown",
]

import argparse
import json
import math
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _prices_report import (  # noqa: E402
    _fmt,
    _jsonable,
    degradation,
    targets,
    write_markdown,
)
from _prices_settings import (  # noqa: E402
    ALL_MODELS,
    BASELINES,
    COVERAGE_TOLERANCE,
    MASE_TARGET,
    NEURAL,
    QUANTILES,
    SCORES,
    TSNODE_MEMBERS,
)
from _provenance import git_state  # noqa: E402

from tsnode import metrics as m  # noqa: E402
from tsnode.backtesting import BacktestResult, backtest  # noqa: E402
from tsnode.baselines import DriftForecaster, GBMForecaster, NaiveForecaster  # noqa: E402
from tsnode.data import load_sample  # noqa: E402
from tsnode.ensemble import EnsembleForecaster  # noqa: E402
from tsnode.forecaster import TSNodeForecaster  # noqa: E402
from tsnode.trading import simulate  # noqa: E402

# What a run's recorded ``code`` covers: uncommitted changes here are listed in it.
CODE_PATHS = (
    "tsnode",
    "benchmarks/bench_prices.py",
    "benchmarks/_prices_report.py",
    "benchmarks/_prices_settings.py",
    "benchmarks/_provenance.py",
)
FITTED_MAPS: list[dict[str, Any]] = []  # appended by _RecordingTSNode.fit, read per backtest


class _RecordingTSNode(TSNodeForecaster):
    """``TSNodeForecaster`` that records each fit's calibration map (backtests fit clones)."""

    def fit(self, y: pd.DataFrame) -> _RecordingTSNode:
        super().fit(y)
        keys = ("log_spread", "slope", "drift", "n_points")
        record = {"train_end": str(pd.Timestamp(y.index[-1]).date())}
        FITTED_MAPS.append(record | {k: self.calibration_.get(k) for k in keys})
        return self


# ----------------------------------------------------------------------------- settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line settings (``--quick``: a tiny smoke-test configuration)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--tickers", nargs="+", default=["AAPL", "MSFT", "IBM", "GOOG"])
    p.add_argument("--eval-days", type=int, default=504, help="evaluation period (rows)")
    p.add_argument("--train-days", type=int, default=756, help="sliding training window")
    p.add_argument("--step", type=int, default=5, help="trading days between cutoffs")
    p.add_argument("--horizons", type=int, nargs="+", default=[1, 5, 20])
    p.add_argument("--refit-every", type=int, default=None, help="default: 2 folds")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=12, help="TSNodeForecaster epochs")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="default: library's")
    p.add_argument("--gru-epochs", type=int, default=8, help="GRUForecaster epochs")
    p.add_argument(
        "--tsnode-members",
        type=int,
        default=TSNODE_MEMBERS,
        help="seed-ensemble members of tsnode (1: a single TSNodeForecaster)",
    )
    p.add_argument("--drop-fraction", type=float, default=0.3)
    p.add_argument("--models", nargs="+", default=list(ALL_MODELS), choices=ALL_MODELS)
    p.add_argument("--no-irregular", action="store_true", help="skip section 4")
    p.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    p.add_argument("--render-only", action="store_true", help="rewrite prices.md from prices.json")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default benchmarks/results; benchmarks/results/quick with --quick, so a smoke run never overwrites the committed results)",
    )
    args = p.parse_args(argv)
    if args.out is None:
        args.out = Path(__file__).parent / "results" / ("quick" if args.quick else "")
    if args.quick:
        args.eval_days, args.train_days, args.step = 12, 100, 6
        args.horizons = [1, 3]
        args.seeds, args.epochs, args.steps_per_epoch, args.gru_epochs = [0], 1, 2, 1
    if args.tsnode_members < 1:
        raise ValueError(f"--tsnode-members must be >= 1, got {args.tsnode_members}.")
    if args.step < 1 or args.eval_days < 2 or args.train_days < 10:
        raise ValueError(
            f"--step must be >= 1, --eval-days >= 2 and --train-days >= 10; got "
            f"{args.step}, {args.eval_days}, {args.train_days}."
        )
    return args


def make_models(args: argparse.Namespace, seed: int, names: tuple[str, ...]) -> dict[str, Any]:
    """Forecasters at their library defaults; only the neural training budget and seed set."""
    quick = dict(context_length=20, forecast_length=5, n_predict_samples=100) if args.quick else {}
    tsnode_kw: dict[str, Any] = dict(epochs=args.epochs, random_state=seed, progress=False)
    if args.steps_per_epoch is not None:
        tsnode_kw["steps_per_epoch"] = args.steps_per_epoch
    gru_kw: dict[str, Any] = dict(random_state=seed, progress=False)
    if args.gru_epochs is not None:
        gru_kw["epochs"] = args.gru_epochs
    if args.quick:
        gru_kw["context_length"] = 20
    if "gru" in names:
        from tsnode.baselines import GRUForecaster

    def tsnode() -> Any:
        if args.tsnode_members == 1:
            return _RecordingTSNode(**tsnode_kw, **quick)
        template = _RecordingTSNode(**{**tsnode_kw, "random_state": None}, **quick)
        return EnsembleForecaster(
            template, n_members=args.tsnode_members, random_state=seed, progress=False
        )

    factories = {
        "tsnode": tsnode,
        "tsnode_single": lambda: TSNodeForecaster(**tsnode_kw, **quick),
        "naive": NaiveForecaster,
        "drift": DriftForecaster,
        "gbm": GBMForecaster,
        "gru": lambda: GRUForecaster(**gru_kw),
    }
    return {name: factories[name]() for name in names}


def load_data(args: argparse.Namespace) -> pd.DataFrame:
    """Closes of the tickers, the last ``train_days + eval_days`` rows, (n_rows, n_tickers)."""
    frame = load_sample(args.tickers)
    n = args.train_days + args.eval_days
    if len(frame) < n:
        raise ValueError(
            f"the samples have {len(frame)} rows, fewer than --train-days + --eval-days = {n}."
        )
    frame = frame.iloc[-n:]
    short = [c for c in frame.columns if frame[c].iloc[: args.train_days].notna().sum() < 100]
    if short:
        raise ValueError(
            f"tickers {short} have fewer than 100 prices in the first training window; "
            "drop them from --tickers (FB, listed 2012-05, cannot be backtested over 2 years)."
        )
    return frame


def thin(frame: pd.DataFrame, fraction: float, seed: int = 12345) -> pd.DataFrame:
    """Copy of ``frame`` with ``fraction`` of each column's observed rows set to NaN."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for j, column in enumerate(out.columns):
        observed = np.flatnonzero(out[column].notna().to_numpy())
        drop = rng.choice(observed, size=int(round(fraction * observed.size)), replace=False)
        out.iloc[drop, j] = np.nan
    return out


# ----------------------------------------------------------------------------- scoring


def _dm(model: pd.DataFrame, naive: pd.DataFrame, h: int, step: int) -> tuple[float, float]:
    """DM test of squared scaled step-h errors against the random walk's, same rows, on the
    per-cutoff mean loss differential."""
    keys = ["series", "cutoff"]
    a = model.loc[
        (model["step"] == h) & model["actual"].notna(), [*keys, "actual", "forecast", "scale"]
    ]
    b = naive.loc[naive["step"] == h, [*keys, "forecast"]]
    joined = a.merge(b, on=keys, suffixes=("", "_naive")).sort_values(keys)
    horizon = max(1, math.ceil(h / step))
    e_model = (joined["actual"] - joined["forecast"]) / joined["scale"]
    e_naive = (joined["actual"] - joined["forecast_naive"]) / joined["scale"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identical forecasts -> NaN
        # one loss differential per cutoff, averaged over the tickers (they are correlated
        # at the same cutoff, so treating ticker rows as independent overstates the evidence)
        try:
            res = m.diebold_mariano(
                e_model.to_numpy(),
                e_naive.to_numpy(),
                horizon=horizon,
                groups=joined["cutoff"].to_numpy(),
            )
        except ValueError:  # too few cutoffs for the test (quick runs)
            return math.nan, math.nan
    return float(res.statistic), float(res.pvalue)


def score_step(table: pd.DataFrame, h: int) -> dict[str, float]:
    """Scores of the step-``h`` rows of a forecasts table (no baseline-relative ones)."""
    rows = table[(table["step"] == h) & table["actual"].notna()]  # observed values only
    y = rows["actual"].to_numpy(dtype="float64")
    f = rows["forecast"].to_numpy(dtype="float64")
    q = rows[[f"q{level:g}" for level in QUANTILES]].to_numpy(dtype="float64")
    scale = rows["scale"].to_numpy(dtype="float64")[:, None]
    return {
        "mase": float(m.mase(y, f, scale=scale[:, 0])),
        "crps": float(m.crps_from_quantiles(y, q, QUANTILES)),
        "crps_scaled": float(m.crps_from_quantiles(y / scale[:, 0], q / scale, QUANTILES)),
        "coverage_80": float(m.coverage(y, rows["q0.1"], rows["q0.9"])),
        "coverage_90": float(m.coverage(y, rows["q0.05"], rows["q0.95"])),
        "directional_accuracy": float(
            m.directional_accuracy(y, f, rows["origin"].to_numpy(dtype="float64"))
        ),
        "count": int(len(rows)),
    }


def score_run(
    table: pd.DataFrame,
    naive: pd.DataFrame,
    prices: pd.DataFrame,
    horizons: list[int],
    step: int,
) -> dict[int, dict[str, float]]:
    """Per-horizon scores of one backtest, DM vs ``naive`` and the trading Sharpe."""
    out = {}
    for h in horizons:
        row = score_step(table, h)
        row["dm_stat"], row["dm_pvalue"] = _dm(table, naive, h, step)
        stats = simulate(table, prices, cost_bps=5.0, step=h).stats()
        row["sharpe"] = float(stats.loc["sharpe", "strategy"])
        row["sharpe_buy_and_hold"] = float(stats.loc["sharpe", "buy_and_hold"])
        out[h] = row
    return out


def add_relative(scores: dict[str, dict[int, dict[str, float]]]) -> None:
    """Add ``mase_rel`` (vs naive) and ``crps_rel_gbm`` (scaled CRPS vs GBM) in place."""
    for rows in scores.values():
        for h, row in rows.items():
            naive = scores.get("naive", {}).get(h)
            gbm = scores.get("gbm", {}).get(h)
            row["mase_rel"] = row["mase"] / naive["mase"] if naive else math.nan
            row["crps_rel_gbm"] = row["crps_scaled"] / gbm["crps_scaled"] if gbm else math.nan


def aggregate(per_seed: list[dict[int, dict[str, float]]]) -> dict[int, dict[str, Any]]:
    """Mean over seeds of every score, plus ``<score>_std/_min/_max`` for several seeds."""
    out: dict[int, dict[str, Any]] = {}
    for h in per_seed[0]:
        row: dict[str, Any] = {}
        for key in per_seed[0][h]:
            values = np.array([run[h][key] for run in per_seed], dtype="float64")
            if key == "count":
                row[key] = int(values.max())
                continue
            row[key] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            if len(per_seed) > 1:
                row[f"{key}_std"] = float(np.nanstd(values, ddof=1))
                row[f"{key}_min"] = float(np.nanmin(values))
                row[f"{key}_max"] = float(np.nanmax(values))
        out[h] = row
    return out


# ----------------------------------------------------------------------------- running


def run_backtest(model: Any, data: pd.DataFrame, args: argparse.Namespace) -> BacktestResult:
    """Sliding-window walk-forward backtest over the evaluation period."""
    return backtest(
        model,
        data,
        horizon=max(args.horizons),
        initial_window=args.train_days,
        step=args.step,
        window="sliding",
        train_length=args.train_days,
        refit_every=args.refit_every,
        quantiles=QUANTILES,
        n_jobs=1,
        progress=False,
    )


def forecast_table(model: Any, data: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """:func:`run_backtest`'s forecasts, those of unobserved values included (NaN actual):
    the trading simulation decides on every forecast, the scores use observed rows only."""
    return run_backtest(model, data, args).forecasts


def run_section(
    data: pd.DataFrame,
    names: tuple[str, ...],
    args: argparse.Namespace,
    label: str,
) -> tuple[dict[str, list[pd.DataFrame]], dict[str, float], dict[str, list[dict]]]:
    """Backtest ``names`` (neural ones once per seed) on ``data``.

    Returns the forecasts, the wall times and, per seed, tsnode's fitted calibration maps.
    """
    tables: dict[str, list[pd.DataFrame]] = {}
    seconds: dict[str, float] = {}
    maps: dict[str, list[dict]] = {}
    for name in names:
        seeds = args.seeds if name in NEURAL else [args.seeds[0]]
        tables[name] = []
        start = time.perf_counter()
        for seed in seeds:
            t0 = time.perf_counter()
            model = make_models(args, seed, (name,))[name]
            FITTED_MAPS.clear()
            tables[name].append(forecast_table(model, data, args))
            if name == "tsnode":
                maps[str(seed)] = list(FITTED_MAPS)
            print(
                f"[{label}] {name} seed={seed}: {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        seconds[name] = time.perf_counter() - start
    return tables, seconds, maps


def evaluate(
    tables: dict[str, list[pd.DataFrame]],
    naive: pd.DataFrame,
    prices: pd.DataFrame,
    args: argparse.Namespace,
) -> tuple[dict[str, dict[int, dict[str, Any]]], dict[str, list[dict[int, dict[str, float]]]]]:
    """Seed-mean scores per model and horizon, and the per-seed scores."""
    per_seed = {
        name: [score_run(t, naive, prices, args.horizons, args.step) for t in runs]
        for name, runs in tables.items()
    }
    # relative scores per seed against the (deterministic) baselines
    for k in range(max(len(v) for v in per_seed.values())):
        add_relative({name: runs[min(k, len(runs) - 1)] for name, runs in per_seed.items()})
    return {name: aggregate(runs) for name, runs in per_seed.items()}, per_seed


def mase_rel_by_series(
    tables: dict[str, list[pd.DataFrame]], horizons: list[int]
) -> dict[str, dict[int, dict[str, float]]]:
    """MASE / random walk's MASE of each ticker, per model and horizon (mean over seeds).

    Shows which tickers drive a model's pooled MASE/RW; the random walk is ``tables["naive"]``.
    """
    naive = tables["naive"][0]
    walk = {
        (series, h): score_step(rows, h)["mase"]
        for series, rows in naive.groupby("series")
        for h in horizons
    }
    out: dict[str, dict[int, dict[str, float]]] = {}
    for name, runs in tables.items():
        if name == "naive":
            continue
        out[name] = {}
        for h in horizons:
            per_seed = [
                {
                    str(series): score_step(rows, h)["mase"] / walk[series, h]
                    for series, rows in table.groupby("series")
                }
                for table in runs
            ]
            out[name][h] = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
    return out


def observed_rows(table: pd.DataFrame, thinned: pd.DataFrame) -> pd.DataFrame:
    """Rows of a forecasts table whose target is observed in ``thinned``."""
    mask = thinned.notna().stack()
    mask.index.names = ["timestamp", "series"]
    keep = mask[mask].index
    index = pd.MultiIndex.from_arrays([table["timestamp"], table["series"]])
    return table[index.isin(keep)]


def with_scale(table: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the ``scale`` of ``reference`` at the same (cutoff, series).

    The thinned data's own scale (one-step naive MAE between *observed* neighbours) is
    larger than the full data's, which would flatter every scaled score; section 4 uses
    the full-data scale so that full and thinned scores are comparable.
    """
    keys = ["cutoff", "series"]
    scale = reference[[*keys, "scale"]].drop_duplicates(keys)
    out = table.drop(columns="scale").merge(scale, on=keys, how="left", validate="many_to_one")
    if out["scale"].isna().any():
        raise ValueError("the reference table lacks the scale of some (cutoff, series).")
    return out


# ----------------------------------------------------------------------------- main


def _budget(model: Any) -> dict[str, Any] | None:
    """Training-budget parameters of a neural forecaster (None if it was not run)."""
    if model is None:
        return None
    model = getattr(model, "estimator", None) or model  # an ensemble's members' budget
    keys = ("epochs", "steps_per_epoch", "batch_size", "context_length", "hidden_size")
    return {k: v for k, v in model.get_params().items() if k in keys}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; write ``prices.json`` and ``prices.md``; return the report."""
    args = parse_args(argv)
    if args.render_only:
        report = json.loads((args.out / "prices.json").read_text())
        write_markdown(report, args.out / "prices.md")
        return report
    torch.set_num_threads(1)
    started, code = time.perf_counter(), git_state(CODE_PATHS)
    data = load_data(args)
    n_cutoffs = len(range(args.train_days - 1, len(data) - 1, args.step))
    if args.refit_every is None:
        args.refit_every = math.ceil(n_cutoffs / 2)
    names = tuple(n for n in ALL_MODELS if n in args.models)
    if args.tsnode_members == 1:
        names = tuple(n for n in names if n != "tsnode_single")  # it would equal "tsnode"
    for required in ("naive",):
        if required not in names:
            names = (*names, required)  # the random walk is the reference of MASE and DM

    tables, seconds, maps = run_section(data, names, args, "section 3")
    scores, per_seed = evaluate(tables, tables["naive"][0], data, args)
    probe = make_models(args, args.seeds[0], tuple(n for n in NEURAL if n in names))
    settings = {
        "tickers": list(data.columns),
        "eval_days": args.eval_days,
        "eval_start": str(data.index[args.train_days].date()),
        "eval_end": str(data.index[-1].date()),
        "train_days": args.train_days,
        "step": args.step,
        "horizons": args.horizons,
        "n_cutoffs": n_cutoffs,
        "refit_every": args.refit_every,
        "n_folds": math.ceil(n_cutoffs / args.refit_every),
        "seeds": args.seeds,
        "quantiles": list(QUANTILES),
        "drop_fraction": args.drop_fraction,
        "tsnode_params": _budget(probe.get("tsnode")),
        "gru_params": _budget(probe.get("gru")),
        "models": list(names),
        "tsnode_members": args.tsnode_members,
        "default_epochs": {
            name: type(getattr(model, "estimator", None) or model)().get_params()["epochs"]
            for name, model in probe.items()
            if name != "tsnode_single"
        },
    }
    report: dict[str, Any] = {
        "command": " ".join(["python benchmarks/bench_prices.py", *(argv or sys.argv[1:])]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread, "
        f"torch {torch.__version__}",
        "settings": settings,
        "section3": {
            "scores": scores,
            "per_seed": per_seed,
            "targets": targets(scores, args.horizons) if "tsnode" in scores else [],
            "mase_rel_by_series": mase_rel_by_series(tables, args.horizons),
            "seconds": seconds,
            "calibration_maps": maps,
        },
    }

    neural = tuple(n for n in NEURAL if n in names and n != "tsnode_single")
    if not args.no_irregular and neural:
        sparse = thin(data, args.drop_fraction)
        thin_names = (*neural, "naive", "gbm")
        thin_tables, thin_seconds, thin_maps = run_section(sparse, thin_names, args, "section 4")
        reference = tables["naive"][0]
        thin_tables = {
            name: [with_scale(t, reference) for t in runs] for name, runs in thin_tables.items()
        }
        thin_scores, thin_seed = evaluate(thin_tables, thin_tables["naive"][0], data, args)
        full_same = {
            name: [observed_rows(t, sparse) for t in tables[name]]
            for name in thin_names
            if name in tables
        }
        full_scores, _ = evaluate(full_same, full_same["naive"][0], data, args)
        degraded = degradation(full_scores, thin_scores, args.horizons)
        verdicts = []
        if {"tsnode", "gru"} <= set(neural):
            for h in args.horizons:
                by = {r["model"]: r for r in degraded if r["horizon"] == h}
                ts, gru = by["tsnode"], by["gru"]
                verdicts.append(
                    {
                        "horizon": h,
                        "what": f"CRPS ratio ({_fmt(ts['crps_ratio'])} vs "
                        f"{_fmt(gru['crps_ratio'])})",
                        "met": bool(ts["crps_ratio"] < gru["crps_ratio"]),
                    }
                )
                verdicts.append(
                    {
                        "horizon": h,
                        "what": f"coverage error change ({_fmt(ts['coverage_error_change'], 1)}"
                        f" vs {_fmt(gru['coverage_error_change'], 1)} pp)",
                        "met": bool(ts["coverage_error_change"] < gru["coverage_error_change"]),
                    }
                )
        report["section4"] = {
            "scores": thin_scores,
            "per_seed": thin_seed,
            "full_data_same_rows": full_scores,
            "degradation": degraded,
            "verdicts": verdicts,
            "seconds": thin_seconds,
            "calibration_maps": thin_maps,
        }
    report["wall_seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    report = _jsonable(report)
    (args.out / "prices.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, args.out / "prices.md")
    print(f"wrote {args.out / 'prices.json'} and prices.md in {report['wall_seconds']:.0f} s")
    return report


if __name__ == "__main__":
    main()
