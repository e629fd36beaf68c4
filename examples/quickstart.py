"""Quickstart: forecast a shipped price series with tsnode and save a fan chart.

    python examples/quickstart.py [--ticker AAPL] [--horizon 20] [--plot forecast.png]

Runs offline on the sample data shipped with tsnode. ``TSNODE_QUICK=1`` (used by the tests)
shrinks the training budget to a few seconds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402

from tsnode import TSNodeForecaster  # noqa: E402
from tsnode.data import list_samples, load_sample  # noqa: E402
from tsnode.plotting import plot_forecast  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticker",
        default="AAPL",
        type=lambda name: name.strip().upper(),  # samples are named, and labelled, upper-case
        help="shipped sample, case-insensitive (see tsnode.data.list_samples())",
    )
    parser.add_argument("--horizon", type=int, default=20, help="trading sessions ahead")
    parser.add_argument("--years", type=float, default=10.0, help="years of history to fit on")
    parser.add_argument(
        "--plot", default="forecast.png", help="where to save the fan chart (folder must exist)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # checked before the training, not after it
    if args.horizon < 1:
        parser.error(f"--horizon must be at least 1 session, got {args.horizon}")
    if not args.years > 0:
        parser.error(f"--years must be positive, got {args.years}")
    names = list_samples()["name"].tolist()
    if args.ticker not in names:
        parser.error(f"--ticker {args.ticker!r} is not a shipped sample; choose from {names}")
    plot = Path(args.plot)
    if plot.is_dir() or not plot.parent.is_dir():
        where = "it is a folder" if plot.is_dir() else f"the folder {plot.parent} does not exist"
        parser.error(f"--plot {args.plot}: {where}; pass an image path such as forecast.png")
    formats = set(FigureCanvasBase.get_supported_filetypes()) - {"pgf"}  # pgf needs LaTeX
    if plot.suffix[1:].lower() not in formats:
        kind = f"{plot.suffix!r} images" if plot.suffix else "a path without an extension"
        parser.error(
            f"--plot {args.plot}: cannot save {kind}; use one of "
            f"{', '.join('.' + f for f in sorted(formats))}, e.g. forecast.png"
        )

    quick = os.environ.get("TSNODE_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    prices = load_sample(args.ticker)
    # a Timedelta takes --years 2.5 (a DateOffset does not); over 200 years: all the data
    start = prices.index[-1] - pd.Timedelta(days=365.25 * min(args.years, 200.0))
    prices = prices.loc[prices.index >= start]

    settings = dict(epochs=2, steps_per_epoch=3, n_predict_samples=50) if quick else {}
    model = TSNodeForecaster(random_state=args.seed, **settings).fit(prices)

    quantiles = model.predict_quantiles(
        args.horizon, quantiles=(0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    )
    print(
        f"tsnode {args.horizon}-session forecast for {args.ticker} "
        f"(last close {prices.iloc[-1, 0]:.2f} on {prices.index[-1].date()}):"
    )
    print(quantiles.xs(args.ticker, axis=1, level="series")[[0.1, 0.5, 0.9]].round(2).to_string())

    fig = plot_forecast(prices, quantiles, title=f"{args.ticker}: tsnode forecast", n_history=250)
    fig.savefig(args.plot, dpi=120, bbox_inches="tight")
    print(f"fan chart saved to {args.plot}")
    return {"quantiles": quantiles, "plot": args.plot}


if __name__ == "__main__":
    main()
