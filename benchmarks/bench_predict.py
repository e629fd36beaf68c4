"""Prediction latency and end-to-end wall time of TSNodeForecaster.

Measures
- latency of ``predict_quantiles(20)`` with 100 posterior samples for 1 series;
- the same call for 500 series at once (throughput);
- wall time of ``TSNodeForecaster().fit(df)`` with default settings on the last 10 years of a
  shipped ticker;
- wall time of a 50-cutoff walk-forward backtest with ``refit_every=10`` (the rest ``update``).

Run:  python benchmarks/bench_predict.py [--quick] [--skip-backtest] [--out benchmarks/results]
Writes ``predict.json`` and ``predict.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from tsnode import TSNodeForecaster, backtest
from tsnode.data import load_sample
from tsnode.datasets import make_gbm


def _median_time(fn, repeats: int) -> float:
    """Median process CPU seconds of ``fn`` (tsnode runs single-threaded by default, so CPU
    time is the latency an idle machine would show; wall time on a shared machine is not)."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke run")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--ticker", default="AAPL")
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default benchmarks/results; benchmarks/results/quick with --quick, so a smoke run never overwrites the committed results)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        results = Path(__file__).resolve().parent / "results"
        args.out = str(results / "quick" if args.quick else results)
    tiny = dict(epochs=1, steps_per_epoch=1, progress=False, random_state=0)
    results: dict = {"torch": torch.__version__, "threads": torch.get_num_threads()}

    for n_series, repeats in ((1, 3 if args.quick else 20), (500, 1 if args.quick else 5)):
        data = make_gbm(n_series, n_days=300, random_state=0)
        model = TSNodeForecaster(n_predict_samples=100, **tiny).fit(data)
        seconds = _median_time(lambda model=model: model.predict_quantiles(20), repeats)
        results[f"predict_quantiles_20_{n_series}_series_s"] = seconds
        print(f"predict_quantiles(20), 100 samples, {n_series} series: {seconds * 1e3:.1f} ms")

    prices = load_sample(args.ticker)
    prices = prices.loc[prices.index >= prices.index[-1] - pd.DateOffset(years=10)]
    settings = tiny if args.quick else dict(progress=False, random_state=0)
    start, cpu = time.perf_counter(), time.process_time()
    model = TSNodeForecaster(**settings).fit(prices)
    results["fit_10y_wall_s"] = time.perf_counter() - start
    results["fit_10y_s"] = time.process_time() - cpu
    results["fit_10y_rows"] = len(prices)
    results["fit_10y_epochs"] = len(model.history_["loss"])
    print(
        f"fit on {len(prices)} rows: {results['fit_10y_s']:.1f} s "
        f"({results['fit_10y_epochs']} epochs)"
    )

    if not args.skip_backtest:
        n_cutoffs = 5 if args.quick else 50
        start, cpu = time.perf_counter(), time.process_time()
        result = backtest(
            TSNodeForecaster(**settings),
            prices,
            horizon=20,
            initial_window=len(prices) - n_cutoffs - 1,
            refit_every=10,
            progress=False,
        )
        results["backtest_50_cutoffs_wall_s"] = time.perf_counter() - start
        results["backtest_50_cutoffs_s"] = time.process_time() - cpu
        results["backtest_cutoffs"] = int(result.forecasts["cutoff"].nunique())
        print(
            f"backtest, {results['backtest_cutoffs']} cutoffs, refit every 10: "
            f"{results['backtest_50_cutoffs_s']:.1f} s"
        )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "predict_quick" if args.quick else "predict"
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# Prediction and end-to-end timings (torch {results['torch']})",
        "",
        "Process CPU seconds (tsnode fits and samples on one thread by default, so this is the",
        "latency of an idle machine; the shared benchmark machine's wall times are in the JSON).",
        "",
        "| measurement | value | target |",
        "|---|---|---|",
        f"| predict_quantiles(20), 100 samples, 1 series | "
        f"{results['predict_quantiles_20_1_series_s'] * 1e3:.1f} ms | ≤ 50 ms |",
        f"| predict_quantiles(20), 100 samples, 500 series | "
        f"{results['predict_quantiles_20_500_series_s']:.2f} s | ≤ 2 s |",
        f"| default fit, 10 years of {args.ticker} ({results['fit_10y_rows']} rows) | "
        f"{results['fit_10y_s']:.1f} s | ≤ 60 s |",
    ]
    if "backtest_50_cutoffs_s" in results:
        lines.append(
            f"| backtest, {results['backtest_cutoffs']} cutoffs, refit every 10 | "
            f"{results['backtest_50_cutoffs_s']:.0f} s | ≤ 600 s |"
        )
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
