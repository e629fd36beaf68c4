"""Trading simulation of backtest forecasts: :func:`simulate` and :class:`Simulation`.

The rules, precisely (one price field: the one the backtest forecast, see ``target``):

* **Signal.** At each cutoff ``c`` and series ``s`` the forecast of horizon ``step``
  gives the expected return ``r_hat = forecast / origin - 1`` (``origin`` = last observed
  price at the cutoff). ``rule="sign"``: long (+1) if ``r_hat > threshold``, short (-1)
  if ``r_hat < -threshold`` and ``allow_short``, else flat (0). ``rule="quantile"``: long
  only if the *lowest* quantile column is above the origin by more than ``threshold``
  (``q_low / origin - 1 > threshold``), short only if ``allow_short`` and the *highest*
  quantile column is below it (``q_high / origin - 1 < -threshold``). A missing row or a
  NaN forecast/origin means flat, also at a cutoff where the backtest forecast no series
  at all (e.g. a sliding window over a trading halt; seen from a ``BacktestResult``'s
  ``cutoffs``, which a bare forecasts table does not carry); cutoffs after the last one with a forecast at ``step``
  (the end of a backtest, where the horizon runs past the data) decide nothing, so the
  simulation ends ``hold_last`` bars after the last decision. Expected returns within ``1e-9`` of zero
  (``abs(r_hat) <= 1e-9``, both rules) count as exactly zero, i.e. no signal: a no-change
  forecast (``NaiveForecaster``: forecast == origin) that comes back from a scaler round
  trip with floating-point noise (~1e-16) stays flat even with ``threshold=0``.
* **Execution: next bar.** A decision made with the close of bar ``t`` (the cutoff) is
  entered at the close of the *next* bar ``t+1`` and so earns the close-to-close return
  from ``t+1`` to ``t+2`` onwards. A forecast can therefore never earn the move
  ``t -> t+1`` it might already have predicted. (A cutoff that is not a bar of ``prices``
  is executed at the close of the first bar after it.)
* **Holding.** The position is held until the next decision is executed (so with cutoffs
  every ``k`` bars it is held ``k`` bars). The last decision is held ``hold_last`` bars
  (default: the median spacing of the cutoffs in bars, 1 with a single cutoff), then the
  simulation ends and every position is closed at the close of the final bar.
* **Portfolio.** Capital is split equally between the series at the start; each series'
  sleeve compounds on its own (no rebalancing) and the portfolio equity is the mean of
  the sleeves' equities. A position of +1/-1 is the whole sleeve long/short: at entry the
  sleeve buys (or sells short) shares worth its equity and holds that number of shares
  until the position changes, so a short entered at price ``P_e`` with equity ``E_e`` is
  worth ``E_e * (2 - P / P_e)`` (not re-sized every bar). A short whose price more than
  doubles loses the whole sleeve: it stays at 0, and its position at 0, from that bar on
  (``RuntimeWarning``).
* **Costs.** Every change of position pays ``(cost_bps + slippage_bps) / 1e4 * |change|``
  of the sleeve's equity, at the close of the bar where it happens: the entry, every
  change and flip (a flip from -1 to +1 pays twice), and the final exit. The total must
  be below 10000 bps (100%), or 5000 bps with ``allow_short`` (a flip trades twice).
* **Benchmark.** Buy-and-hold is the same engine with every sleeve long from the first
  execution bar to the final bar, paying the same entry and exit costs; a strategy that
  is always long therefore equals the benchmark exactly.
* Prices must be > 0 where observed; NaN (unobserved) prices are forward-filled and a
  series' return is 0 before its first price.
* **Annualisation.** By default the bars per year are inferred from the bars the simulation
  steps on: ``(n_bars - 1) / elapsed years`` (365.25-day years), about 252 for daily
  sessions, 52 for weekly and 12 for monthly bars; for intraday bars, the bars per trading
  date times the trading dates per year. Under 90 days of daily or intraday bars, the trading
  dates are counted against the weekdays spanned: 252 a year when at least 90% have a
  session (the rest may be holidays), proportionally fewer below that (see :func:`tsnode._trading_inputs.infer_periods_per_year`).

This module never imports torch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tsnode._trading_inputs import (
    _backtest_cutoffs,
    _check_costs,
    _check_int,
    _check_number,
    _check_periods_per_year,
    _check_positive_prices,
    _forecasts_table,
    _prices_frame,
    _quantile_columns,
    _resolve_target,
    _select_series,
    infer_periods_per_year,
)

__all__ = ["STAT_NAMES", "Simulation", "simulate"]

#: Row labels of :meth:`Simulation.stats`, in order.
STAT_NAMES: tuple[str, ...] = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar",
    "hit_rate",
    "turnover",
    "exposure",
    "n_trades",
)
# Expected returns with |r_hat| <= this are floating-point noise around "no change" (a
# forecast equal to the origin up to scaler round trips): no signal, flat.
_NO_SIGNAL = 1e-9


# ----------------------------------------------------------------------------- statistics


def _ratio(num: float, den: float) -> float:
    """``num / den``; ``inf``/``-inf`` for a zero denominator and non-zero numerator."""
    if not (np.isfinite(num) and np.isfinite(den)):
        return float("nan")
    if den > 0:
        return float(num / den)
    return float(np.sign(num) * np.inf) if num != 0 else float("nan")


def _max_drawdown_duration(equity: np.ndarray) -> int:
    """Longest run of consecutive bars spent below a previous equity peak."""
    underwater = equity < np.maximum.accumulate(equity)
    longest = current = 0
    for flag in underwater:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


def _statistics(
    equity: pd.Series, returns: pd.Series, positions: pd.DataFrame, periods_per_year: float
) -> dict[str, float]:
    """Performance statistics of one equity curve (see :meth:`Simulation.stats`)."""
    eq = equity.to_numpy(dtype="float64")
    r = returns.to_numpy(dtype="float64")
    pos = positions.to_numpy(dtype="float64")
    n = r.size
    total = eq[-1] / eq[0] - 1.0
    cagr = (eq[-1] / eq[0]) ** (periods_per_year / n) - 1.0 if eq[-1] > 0 else -1.0
    std = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    mean = float(np.mean(r))
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    drawdown = eq / np.maximum.accumulate(eq) - 1.0
    max_dd = float(np.min(drawdown))
    held = pos[:-1] != 0  # position held during bars 1..n
    in_market = held.any(axis=1)
    change = np.abs(np.diff(pos, axis=0, prepend=0.0))
    return {
        "total_return": float(total),
        "cagr": float(cagr),
        "annual_volatility": std * np.sqrt(periods_per_year),
        "sharpe": _ratio(mean, std) * np.sqrt(periods_per_year),
        "sortino": _ratio(mean, downside) * np.sqrt(periods_per_year),
        "max_drawdown": max_dd,
        "max_drawdown_duration": float(_max_drawdown_duration(eq)),
        "calmar": _ratio(float(cagr), abs(max_dd)),
        "hit_rate": float(np.mean(r[in_market] > 0)) if in_market.any() else float("nan"),
        "turnover": float(change.mean(axis=1).sum() / n),
        "exposure": float(held.mean()),
        "n_trades": float(np.count_nonzero(change)),
    }


@dataclass
class Simulation:
    """Result of :func:`simulate`. All series share the bar index ``equity.index``.

    Attributes
    ----------
    equity : Series
        Net portfolio equity, 1.0 at the bar of the first cutoff.
    returns : Series
        Net portfolio returns per bar (index ``equity.index[1:]``).
    gross_returns : Series
        Portfolio returns before costs (same index).
    positions : DataFrame
        Position of each series (columns) held at the close of each bar (index
        ``equity.index``): it earns the *next* bar's return. 0 at the first and last bar.
    benchmark_equity : Series
        Equal-weight buy-and-hold equity on the same bars (same costs).
    benchmark_returns : Series
        Net returns of the benchmark.
    benchmark_positions : DataFrame
        Positions of the benchmark (1 from the first execution bar, 0 at the last bar).
    periods_per_year : float
        Bars per year used by the annualised statistics: the ``periods_per_year`` given to
        :func:`simulate`, or the rate inferred from ``equity.index``.
    params : dict
        The settings of :func:`simulate`, with ``target`` (the price field traded) and
        ``periods_per_year_inferred`` (whether ``periods_per_year`` was inferred).
    """

    equity: pd.Series
    returns: pd.Series
    gross_returns: pd.Series
    positions: pd.DataFrame
    benchmark_equity: pd.Series
    benchmark_returns: pd.Series
    benchmark_positions: pd.DataFrame
    periods_per_year: float = 252.0
    params: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> pd.DataFrame:
        """Performance statistics of the strategy and of buy-and-hold.

        Returns
        -------
        DataFrame of shape (12, 2)
            Columns ``["strategy", "buy_and_hold"]``, rows (:data:`STAT_NAMES`):

            - ``total_return``: final equity - 1.
            - ``cagr``: ``equity_end ** (periods_per_year / n_bars) - 1`` (``n_bars``:
              the number of returns); with the inferred ``periods_per_year`` of daily or
              sparser bars over 90 days or more this is
              ``equity_end ** (1 / elapsed years) - 1``.
            - ``annual_volatility``: std of returns (ddof=1) * sqrt(periods_per_year).
            - ``sharpe``: mean / std * sqrt(periods_per_year), risk-free rate 0.
            - ``sortino``: mean / sqrt(mean(min(r, 0)**2)) * sqrt(periods_per_year).
            - ``max_drawdown``: most negative ``equity / running_max - 1`` (<= 0).
            - ``max_drawdown_duration``: longest run of bars below a previous peak.
            - ``calmar``: cagr / |max_drawdown|.
            - ``hit_rate``: fraction of bars holding a position whose net return is > 0.
            - ``turnover``: mean over bars of the equal-weight average |position change|.
            - ``exposure``: fraction of (bar, series) pairs holding a position.
            - ``n_trades``: number of position changes (entries, exits, flips) over all
              series.

            Ratios with a zero denominator are ``+-inf`` (or NaN for 0/0). The bars per
            year used are in ``.attrs["periods_per_year"]``.
        """
        ppy = float(self.periods_per_year)
        table = {
            "strategy": _statistics(self.equity, self.returns, self.positions, ppy),
            "buy_and_hold": _statistics(
                self.benchmark_equity, self.benchmark_returns, self.benchmark_positions, ppy
            ),
        }
        out = pd.DataFrame(table).loc[list(STAT_NAMES)]
        out.attrs["periods_per_year"] = ppy
        return out

    def plot(self, **kwargs: Any) -> Any:
        """Equity vs buy-and-hold with a drawdown panel.

        Keyword arguments go to :func:`tsnode.plotting.plot_equity`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from tsnode.plotting import plot_equity

        return plot_equity(self, **kwargs)

    def __repr__(self) -> str:
        start, end = self.equity.index[0], self.equity.index[-1]
        return (
            f"Simulation({len(self.returns)} bars {start} -> {end}, "
            f"{self.positions.shape[1]} series, final equity {self.equity.iloc[-1]:.4f} "
            f"vs buy-and-hold {self.benchmark_equity.iloc[-1]:.4f}, "
            f"{float(self.periods_per_year):.4g} bars/year)"
        )


# ----------------------------------------------------------------------------- engine


def _decisions(
    table: pd.DataFrame,
    series: list[str],
    *,
    rule: str,
    threshold: float,
    allow_short: bool,
    step: int,
    all_cutoffs: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Positions decided at each cutoff: DataFrame (cutoffs x series) of -1/0/+1.

    ``all_cutoffs``: every cutoff of the backtest (``BacktestResult.cutoffs``); those inside
    the table's span without a row (nothing forecast there) decide flat instead of letting
    the previous decision run on."""
    cutoffs = pd.DatetimeIndex(table["cutoff"].unique()).sort_values()
    if all_cutoffs is not None and len(all_cutoffs):
        inside = all_cutoffs[(all_cutoffs >= cutoffs[0]) & (all_cutoffs <= cutoffs[-1])]
        cutoffs = cutoffs.union(inside)
    rows = table[table["step"] == step]
    # The last cutoffs of a backtest have no step-`step` forecast (the horizon runs past the
    # data): they decide nothing, rather than going flat while the benchmark stays long.
    if len(rows):
        cutoffs = cutoffs[cutoffs <= rows["cutoff"].max()]
    if rows.duplicated(["cutoff", "series"]).any():
        raise ValueError(
            "`result`'s forecasts table has several rows for one (cutoff, series, step); "
            "pass the forecasts of a single backtest."
        )
    origin = rows["origin"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        if rule == "sign":
            up = rows["forecast"].to_numpy(dtype="float64") / origin - 1.0
            down = up
        else:
            levels = _quantile_columns(table)
            if not levels:
                raise ValueError(
                    "`rule`='quantile' needs quantile columns (q0.1, ...) in the forecasts "
                    f"table, found none in {list(table.columns)}; use rule='sign'."
                )
            up = rows[levels[0][1]].to_numpy(dtype="float64") / origin - 1.0
            down = rows[levels[-1][1]].to_numpy(dtype="float64") / origin - 1.0
    up = np.where(np.abs(up) <= _NO_SIGNAL, 0.0, up)
    down = np.where(np.abs(down) <= _NO_SIGNAL, 0.0, down)
    valid = np.isfinite(origin) & (origin > 0)
    pos = np.where(valid & (up > threshold), 1.0, 0.0)
    if allow_short:
        pos = np.where(valid & (down < -threshold), -1.0, pos)
    decided = pd.DataFrame(
        {"cutoff": rows["cutoff"].to_numpy(), "series": rows["series"].to_numpy(), "pos": pos}
    )
    grid = decided.pivot(index="cutoff", columns="series", values="pos")
    return grid.reindex(index=cutoffs, columns=series).fillna(0.0)


def _sleeves(
    growth: np.ndarray, positions: np.ndarray, cost_paid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Equity of each sleeve (n_bars, n_series) and the bar each was wiped out (-1: never).

    A position is a number of shares bought (or sold short) with the sleeve's whole equity
    when it is entered and held unchanged until the position changes: over a holding period
    entered at bar ``e`` the sleeve is worth ``E_e * (1 + pos * (growth_t / growth_e - 1))``.
    For a long this is the bar-by-bar compounding of the price; a short is not re-sized
    every bar. A sleeve whose equity reaches 0 (a short whose price more than doubled) is
    wiped out and stays at 0.
    """
    n_bars, n_series = growth.shape
    equity = np.zeros((n_bars, n_series))
    value = np.ones(n_series)
    entry_value = np.ones(n_series)
    entry_growth = growth[0].copy()
    held = np.zeros(n_series)
    ruined_at = np.full(n_series, -1)
    for i in range(n_bars):
        if i:
            holding = held != 0
            marked = entry_value * (1.0 + held * (growth[i] / entry_growth - 1.0))
            value = np.where(holding, marked, value)
            newly_ruined = (value <= 0.0) & (ruined_at < 0)
            ruined_at[newly_ruined] = i
        value = np.where(ruined_at >= 0, 0.0, value * (1.0 - cost_paid[i]))
        changed = positions[i] != held
        entry_value = np.where(changed, value, entry_value)
        entry_growth = np.where(changed, growth[i], entry_growth)
        held = np.where(changed, positions[i], held)
        equity[i] = value
    return equity, ruined_at


def _run(prices: np.ndarray, positions: np.ndarray, cost: float) -> tuple[np.ndarray, ...]:
    """Portfolio net equity, net returns, gross returns and the bar each sleeve was wiped out.

    ``prices`` and ``positions`` are (n_bars, n_series); ``positions[i]`` is held from the
    close of bar i to the close of bar i+1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        bar_returns = prices[1:] / prices[:-1] - 1.0
    bar_returns = np.nan_to_num(bar_returns, nan=0.0, posinf=0.0, neginf=0.0)
    growth = np.vstack([np.ones(prices.shape[1]), np.cumprod(1.0 + bar_returns, axis=0)])
    change = np.abs(np.diff(positions, axis=0, prepend=0.0))
    # The cost is a fraction of the equity at the close where the change happens, i.e. after
    # that bar's return: (1 + gross) * (1 - cost * change).
    sleeves_net, ruined_at = _sleeves(growth, positions, cost * change)
    sleeves_gross, _ = _sleeves(growth, positions, np.zeros_like(change))
    equity = sleeves_net.mean(axis=1)
    gross_equity = sleeves_gross.mean(axis=1)
    return equity, _returns(equity), _returns(gross_equity), ruined_at


def _returns(equity: np.ndarray) -> np.ndarray:
    """Bar returns of an equity curve; 0 once it is at 0 (every sleeve wiped out)."""
    out = np.zeros(len(equity) - 1)
    np.divide(equity[1:], equity[:-1], out=out, where=equity[:-1] > 0)
    return np.where(equity[:-1] > 0, out - 1.0, 0.0)


def simulate(
    result: Any,
    prices: pd.DataFrame | pd.Series,
    *,
    rule: Literal["sign", "quantile"] = "sign",
    threshold: float = 0.0,
    allow_short: bool = False,
    cost_bps: float = 5.0,
    slippage_bps: float = 0.0,
    step: int = 1,
    periods_per_year: float | None = None,
    hold_last: int | None = None,
    target: str | None = None,
) -> Simulation:
    """Trade the forecasts of a backtest and compare with buy-and-hold.

    See the module docstring for the exact rules (signal, next-bar execution, holding,
    equal-weight sleeves, costs).

    Parameters
    ----------
    result : BacktestResult or DataFrame
        A backtest (anything with a ``.forecasts`` attribute) or its forecasts table with
        columns ``cutoff, series, step, forecast, origin`` (and ``q<level>`` columns for
        ``rule="quantile"``).
    prices : DataFrame or Series
        Prices on a DatetimeIndex covering the cutoffs and the bars after them, > 0 where
        observed (NaN = unobserved), in any layout :func:`tsnode.backtest` accepts: a
        Series (a single series), a wide frame with one column per series of the
        forecasts, or a yfinance frame (``yf.download`` or ``Ticker.history()``), converted
        exactly as the backtest converted it and read at ``target``. Pass the frame the
        backtest was run on. Not modified.
    rule : {"sign", "quantile"}, default "sign"
    threshold : float, default 0.0
        Minimum expected return (as a fraction) to take a position: long needs
        ``r_hat > threshold``. Expected returns with ``abs(r_hat) <= 1e-9`` are treated as
        exactly 0 (no signal, flat), so floating-point noise around a no-change forecast
        never trades, even with the default ``threshold=0``.
    allow_short : bool, default False
    cost_bps, slippage_bps : float, default 5.0 and 0.0
        Costs in basis points of the traded amount, added together; each >= 0 and their
        sum < 10000 (< 5000 with ``allow_short=True``, as a flip trades twice).
    step : int, default 1
        Forecast horizon (the ``step`` column) whose forecast drives the decision.
    periods_per_year : float, optional
        Bars per year, for the annualised statistics; positive and finite. Default: inferred
        from the bars the simulation steps on: for daily or sparser bars ``(n_bars - 1) /
        elapsed years`` with 365.25-day years (about 252 for daily sessions, 52 weekly, 12
        monthly); for intraday bars the bars per session times the sessions per year; under 90
        days of daily or intraday bars 252 sessions a year when at least 90% of the weekdays
        spanned have a session, ``252 * share / 0.9`` below that (calendar days when over 10%
        of the sessions fall on weekends); 252 with a warning if it cannot be inferred. The value used is ``Simulation.periods_per_year``.
    hold_last : int, optional
        Bars the last decision is held after it is executed (default: the median spacing
        of the cutoffs in bars, 1 with a single cutoff).
    target : str, optional
        Price field of a yfinance ``prices`` frame to trade (e.g. ``"Adj Close"``). Default:
        the field the backtest forecast (``BacktestResult.target``, or the forecasts table's
        ``attrs["target"]``), else ``"Close"``. Ignored for a Series or a wide frame, as in
        :func:`tsnode.backtest`.

    Returns
    -------
    Simulation

    Raises
    ------
    TypeError
        ``result``, ``prices``, ``target`` or a setting of the wrong type.
    ValueError
        Costs of 100% or more (50% with shorts), a non-positive observed price, a missing
        series or price field, or prices that do not cover the cutoffs.

    Warns
    -----
    UserWarning
        When ``periods_per_year`` cannot be inferred (252 is used).
    RuntimeWarning
        When a short position loses its whole sleeve (the price more than doubled since the
        entry): the sleeve stays at 0 and flat from that bar on.
    """
    table = _forecasts_table(result)
    target, source = _resolve_target(target, result)
    frame = _prices_frame(prices, target, source)
    if rule not in ("sign", "quantile"):
        raise ValueError(f"`rule` must be 'sign' or 'quantile', got {rule!r}.")
    threshold = _check_number(threshold, "threshold", minimum=0.0)
    if not isinstance(allow_short, bool | np.bool_):
        raise TypeError(f"`allow_short` must be a bool, got {allow_short!r}.")
    cost = _check_costs(cost_bps, slippage_bps, allow_short=bool(allow_short))
    ppy = _check_periods_per_year(periods_per_year)
    step = _check_int(step, "step")
    steps = set(table["step"].unique().tolist())
    if step not in steps:
        raise ValueError(
            f"`step`={step} is not in the forecasts table (steps {sorted(steps)}); choose a "
            "forecast horizon the backtest produced."
        )

    names = [str(s) for s in pd.unique(table["series"])]
    frame = _select_series(frame, prices, names)
    _check_positive_prices(frame)
    frame = frame.ffill()

    grid = _decisions(
        table,
        names,
        rule=rule,
        threshold=threshold,
        allow_short=bool(allow_short),
        step=step,
        all_cutoffs=_backtest_cutoffs(result, table),
    )
    try:
        execute = frame.index.searchsorted(grid.index, side="right")
    except TypeError as exc:
        raise ValueError(
            "`prices`' index and the forecasts' cutoffs are not comparable (time zones "
            f"differ?): {frame.index.dtype} vs {grid.index.dtype}."
        ) from exc
    if execute[0] == 0:
        raise ValueError(
            f"`prices` starts at {frame.index[0]}, after the first cutoff {grid.index[0]}; "
            "pass prices that cover the whole backtest."
        )
    start = int(execute[0]) - 1
    tradable = execute < len(frame)
    if not tradable.any():
        raise ValueError(
            f"`prices` ends at {frame.index[-1]}, at or before the first cutoff; no decision "
            "can be executed. Pass prices that extend past the cutoffs."
        )
    grid, execute = grid[tradable], execute[tradable]
    if hold_last is None:
        gaps = np.diff(np.unique(execute))
        hold_last = int(np.median(gaps)) if gaps.size else 1
    hold_last = _check_int(hold_last, "hold_last")
    end = min(len(frame) - 1, int(execute[-1]) + hold_last)

    bars = frame.index[start : end + 1]
    inferred = ppy is None
    if ppy is None:  # stacklevel 3: infer_periods_per_year <- simulate <- the user's call
        ppy = infer_periods_per_year(bars, stacklevel=3)
    decided = pd.DataFrame(grid.to_numpy(), index=frame.index[execute], columns=names)
    decided = decided[~decided.index.duplicated(keep="last")]
    pos = decided.reindex(bars).ffill().fillna(0.0)
    pos.iloc[-1] = 0.0  # everything is closed at the final bar
    bench = pd.DataFrame(0.0, index=bars, columns=names)
    bench.iloc[int(execute[0]) - start : -1] = 1.0

    values = frame.loc[bars].to_numpy(dtype="float64")
    equity, net, gross, ruined_at = _run(values, pos.to_numpy(), cost)
    b_equity, b_net, _, _ = _run(values, bench.to_numpy(), cost)
    for j, (name, bar) in enumerate(zip(names, ruined_at, strict=True)):
        if bar >= 0:
            pos.iloc[bar:, j] = 0.0  # a wiped-out sleeve holds nothing from there on
            warnings.warn(
                f"simulate: the short position in series {name!r} lost the whole sleeve at "
                f"{bars[bar]} (its price more than doubled since the entry); the sleeve stays "
                "at 0 from there. Use allow_short=False, or a `threshold`, to avoid it.",
                RuntimeWarning,
                stacklevel=2,
            )
    params = dict(
        rule=rule,
        threshold=threshold,
        allow_short=bool(allow_short),
        cost_bps=float(cost_bps),
        slippage_bps=float(slippage_bps),
        step=step,
        hold_last=hold_last,
        periods_per_year=ppy,
        periods_per_year_inferred=inferred,
        target=target,
    )
    return Simulation(
        equity=pd.Series(equity, index=bars, name="equity"),
        returns=pd.Series(net, index=bars[1:], name="returns"),
        gross_returns=pd.Series(gross, index=bars[1:], name="gross_returns"),
        positions=pos,
        benchmark_equity=pd.Series(b_equity, index=bars, name="buy_and_hold"),
        benchmark_returns=pd.Series(b_net, index=bars[1:], name="buy_and_hold"),
        benchmark_positions=bench,
        periods_per_year=ppy,
        params=params,
    )
