"""Future timestamps for forecasts: exchange trading sessions or the observed spacing.

:func:`future_index` turns a forecast ``horizon`` (a number of steps, or explicit timestamps)
into the DatetimeIndex a forecast is reported on. Integer horizons follow an exchange calendar
from the `exchange-calendars <https://github.com/gerrymanoim/exchange_calendars>`_ library (so
weekends and holidays such as Christmas or Good Friday are skipped) or, with ``calendar=None``,
continue the observed spacing: the regular calendar frequency of the last observations when
there is one (month ends, weekly closes, business days; ``pd.infer_freq``, or the offset
every observed date lies on when a few are missing), else their median spacing.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import numbers
import warnings
from typing import Any

import exchange_calendars as xcals
import numpy as np
import pandas as pd

__all__ = ["future_index", "get_calendar"]

_DAY = pd.Timedelta(days=1)
_MAX_HORIZON = 100_000
# Data this sparse (weekly, monthly) with a daily exchange calendar get a warning.
_SPARSE = pd.Timedelta(days=4)
# Observations pd.infer_freq looks at to continue a regular calendar frequency (calendar=None).
_FREQ_WINDOW = 60


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


@functools.lru_cache(maxsize=64)
def _cached_calendar(name: str, start: str, end: str) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange-calendars triggers pandas deprecation warnings that users cannot act on.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return xcals.get_calendar(name, start=start, end=end)


def _short(error: BaseException, limit: int = 300) -> str:
    """An upstream message cut to ``limit`` characters (some list hundreds of dates)."""
    text = str(error)
    return text if len(text) <= limit else text[:limit] + " ..."


def check_calendar(calendar: Any) -> None:
    """Raise a helpful error unless ``calendar`` is None, a known name or an ExchangeCalendar.

    Cheap (no calendar is built): forecasters call it before a long fit.
    """
    if calendar is None or isinstance(calendar, xcals.ExchangeCalendar):
        return
    if not isinstance(calendar, str):
        raise TypeError(
            f"calendar must be an exchange name such as 'XNYS', an ExchangeCalendar or None, "
            f"got {calendar!r} of type {type(calendar).__name__}."
        )
    names = xcals.get_calendar_names(include_aliases=True)
    if calendar not in names:
        close = difflib.get_close_matches(calendar, names, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown calendar={calendar!r}.{hint} Valid names include 'XNYS' (alias 'NYSE'), "
            "'XNAS', 'XLON', 'XTKS', 'XHKG', '24/7' (see exchange_calendars."
            "get_calendar_names()); use calendar=None to continue the observed spacing."
        )


def get_calendar(
    calendar: str | xcals.ExchangeCalendar, *, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> xcals.ExchangeCalendar:
    """Exchange calendar covering at least ``[start, end]`` (cached per name and decade; per
    year or for the exact dates for calendars recorded for part of a decade, e.g. XSHG).

    Parameters
    ----------
    calendar : str or ExchangeCalendar
        An exchange-calendars name or alias ("XNYS", "NYSE", "XLON", "24/7", ...) or an instance,
        which is returned unchanged if it covers the range.
    start, end : Timestamp
        Dates the calendar must cover (a string such as "2024-01-05", or a Timestamp).

    Raises
    ------
    ValueError
        Unknown name (with a close match), or dates outside the calendar's supported range.
    TypeError
        ``calendar`` is neither a str nor an ExchangeCalendar.

    Returns
    -------
    ExchangeCalendar
    """
    start, end = _check_last_timestamp(start, "start"), _check_last_timestamp(end, "end")
    start, end = start.tz_localize(None), end.tz_localize(None)
    if isinstance(calendar, xcals.ExchangeCalendar):
        if start < calendar.first_session or end > calendar.last_session:
            raise ValueError(
                f"the ExchangeCalendar {calendar.name!r} covers {calendar.first_session.date()} "
                f"to {calendar.last_session.date()} but the forecast needs {start.date()} to "
                f"{end.date()}; build it with a later end (xcals.get_calendar(name, start=..., "
                f"end=...)) or pass the name, calendar={calendar.name!r}."
            )
        return calendar
    check_calendar(calendar)
    # Round to decades so that nearby requests (e.g. backtest folds) share one cached object;
    # calendars whose holidays are recorded for fewer years (XSHG to 2026, XSAU from 2021)
    # fall back to whole years, then to the exact dates.
    ranges = [
        (f"{start.year - start.year % 10}-01-01", f"{end.year - end.year % 10 + 9}-12-31"),
        (f"{start.year}-01-01", f"{end.year}-12-31"),
        (f"{start.date()}", f"{end.date()}"),
    ]
    for lo, hi in dict.fromkeys(ranges):
        try:
            return _cached_calendar(calendar, lo, hi)
        except (ValueError, xcals.errors.CalendarError) as error:
            failure = error
    raise ValueError(
        f"calendar {calendar!r} cannot cover {start.date()} to {end.date()}; "
        f"exchange-calendars says: {_short(failure)} Use a horizon within the dates the "
        "calendar records, an explicit DatetimeIndex, or calendar=None (continue the "
        "observed spacing)."
    ) from failure


def _check_last_timestamp(value: Any, name: str = "last_timestamp") -> pd.Timestamp:
    """``value`` as a Timestamp; TypeError for non-dates (numbers are not epoch offsets here)."""
    if not isinstance(value, (datetime.date, np.datetime64, str)):  # pd.NaT is a datetime
        raise TypeError(
            f"{name} must be a timestamp (pandas Timestamp, datetime, numpy datetime64 "
            f"or a date string such as '2024-01-05'), got {value!r} of type "
            f"{type(value).__name__}; numbers are refused, not read as nanoseconds since 1970. "
            "Pass e.g. series.index[-1]."
        )
    try:
        last = pd.Timestamp(value)
    except (ValueError, OverflowError) as error:
        raise ValueError(
            f"{name}={value!r} is not a date pandas can read ({error}); pass a "
            "Timestamp or an ISO date string such as '2024-01-05'."
        ) from error
    if last is pd.NaT:
        raise ValueError(
            f"{name} is missing (got {value!r}): pass the last observed timestamp, "
            "e.g. series.last_valid_index() of a series that has at least one value."
        )
    return last


def _check_observed_index(observed_index: Any) -> None:
    """TypeError unless ``observed_index`` is None or a DatetimeIndex; ValueError for NaT."""
    if observed_index is None:
        return
    if not isinstance(observed_index, pd.DatetimeIndex):
        raise TypeError(
            f"observed_index must be a pandas DatetimeIndex (the observed timestamps) or None, "
            f"got {type(observed_index).__name__}; convert with pd.DatetimeIndex(...)."
        )
    if observed_index.hasnans:
        raise ValueError("observed_index contains missing timestamps (NaT); drop them.")


def _wall(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Wall-clock (tz-naive local) times, so that daily steps survive DST changes."""
    return index.tz_localize(None) if index.tz is not None else index


def _regular_frequency(
    observed_index: pd.DatetimeIndex, last: pd.Timestamp
) -> pd.tseries.offsets.BaseOffset | None:
    """The calendar frequency of the last observations (up to ``_FREQ_WINDOW`` of them,
    ending at ``last``): ``pd.infer_freq``'s, or :func:`_offset_with_gaps`' when rows are
    missing (pandas then finds none, or a week-of-month rule such as "first Mondays" for
    quarter starts 13 weeks apart); None if they are not regular.

    Month ends, weekly closes or business days then continue on their calendar (April 30 after
    March 31), where the median spacing (31 days) would skip or repeat months.
    """
    tail = observed_index[-_FREQ_WINDOW:]
    if len(tail) < 3 or tail[-1] != last:
        return None
    try:
        with warnings.catch_warnings():  # pandas 3 announces an offset instead of a string
            warnings.filterwarnings("ignore", message="A future version of pandas will return")
            freq = pd.infer_freq(tail)
    except (TypeError, ValueError):
        return None
    if freq is None:
        return _offset_with_gaps(tail)
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, (pd.offsets.WeekOfMonth, pd.offsets.LastWeekOfMonth)):
        offset = _offset_with_gaps(tail) or offset  # a calendar offset, if one fits
    return offset if offset.is_on_offset(last) else None


def _offset_with_gaps(tail: pd.DatetimeIndex) -> pd.tseries.offsets.BaseOffset | None:
    """The calendar offset that every date of ``tail`` lies on when a few are missing (where
    ``pd.infer_freq`` gives up): business days, weekly closes, month/quarter/year ends or
    starts, chosen by the median spacing; None if there is none.

    One missing row then changes no forecast date (NaN rows and missing rows are the same gap).
    """
    days = pd.Series(tail[1:] - tail[:-1]).median() / _DAY
    last = tail[-1]
    offsets = pd.offsets
    if 0.9 <= days <= 1.1 and (tail.day_of_week < 5).all():
        candidates = [offsets.BDay()]
    elif 6 <= days <= 8:
        candidates = [offsets.Week(weekday=last.day_of_week)]
    elif 27 <= days <= 32:
        candidates = [offsets.MonthEnd(), offsets.BMonthEnd(), offsets.MonthBegin()]
        candidates.append(offsets.BMonthBegin())
    elif 88 <= days <= 93:
        m = last.month
        candidates = [offsets.QuarterEnd(startingMonth=m), offsets.BQuarterEnd(startingMonth=m)]
        candidates += [
            offsets.QuarterBegin(startingMonth=m),
            offsets.BQuarterBegin(startingMonth=m),
        ]
    elif 360 <= days <= 370:
        m = last.month
        candidates = [offsets.YearEnd(month=m), offsets.BYearEnd(month=m)]
        candidates += [offsets.YearBegin(month=m), offsets.BYearBegin(month=m)]
    else:
        return None
    for offset in candidates:
        if all(offset.is_on_offset(t) for t in tail):
            return offset
    return None


def _observed_step(
    observed_index: pd.DatetimeIndex | None, *, elapsed: bool = False
) -> pd.Timedelta:
    """Median positive difference of ``observed_index``.

    On the wall clock by default (a daily series stays one day apart across DST changes);
    ``elapsed=True`` measures absolute (UTC) time instead, as intraday steps are taken.
    """
    if observed_index is None:
        raise ValueError(
            "calendar=None continues the observed spacing and needs observed_index (the fitted "
            "timestamps); pass observed_index=... or a calendar name such as 'XNYS'."
        )
    if not observed_index.is_monotonic_increasing:
        raise ValueError(
            "observed_index must be sorted in increasing order (oldest first) to infer the "
            "spacing of future timestamps; pass observed_index.sort_values()."
        )
    wall = observed_index if elapsed else _wall(observed_index)
    diffs = np.diff(np.asarray(wall.asi8, dtype=np.int64))
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        raise ValueError(
            "cannot infer the spacing of future timestamps: observed_index needs at least two "
            "distinct timestamps. Pass a calendar name or an explicit DatetimeIndex horizon."
        )
    return pd.Timedelta(int(np.median(diffs)), unit=wall.unit)


def _localize(wall: pd.DatetimeIndex, last: pd.Timestamp) -> pd.DatetimeIndex:
    """Put wall-clock times into ``last``'s time zone and datetime unit."""
    if last.tz is not None:
        wall = wall.tz_localize(
            last.tz, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="shift_forward"
        )
    return _as_unit(wall, last)


def _as_unit(index: pd.DatetimeIndex, last: pd.Timestamp) -> pd.DatetimeIndex:
    """``index`` in ``last``'s datetime unit (kept finer if the steps need it)."""
    try:
        return index.as_unit(last.unit)
    except ValueError:  # pragma: no cover - steps finer than the data's unit
        return index


def _check_horizon_index(
    horizon: pd.DatetimeIndex, last_timestamp: pd.Timestamp
) -> pd.DatetimeIndex:
    if len(horizon) == 0:
        raise ValueError("horizon is an empty DatetimeIndex; pass at least one future timestamp.")
    if horizon.hasnans:
        raise ValueError("horizon contains missing timestamps (NaT); drop them.")
    if (horizon.tz is None) != (last_timestamp.tz is None):
        raise ValueError(
            f"horizon is {'tz-naive' if horizon.tz is None else f'tz-aware ({horizon.tz})'} but "
            f"the data is {'tz-naive' if last_timestamp.tz is None else f'tz-aware ({last_timestamp.tz})'}; "
            "use the same kind, e.g. horizon.tz_localize(...) or horizon.tz_localize(None)."
        )
    if horizon.tz is not None:
        horizon = horizon.tz_convert(last_timestamp.tz)
    if not horizon.is_unique:
        dups = horizon[horizon.duplicated()].unique()
        raise ValueError(
            f"horizon has duplicate timestamps, e.g. {[str(t) for t in dups[:3]]}; pass each once."
        )
    if not horizon.is_monotonic_increasing:
        raise ValueError("horizon timestamps are not sorted; pass horizon.sort_values().")
    if horizon[0] <= last_timestamp:
        raise ValueError(
            f"horizon must lie strictly after the last observed timestamp {last_timestamp}, but "
            f"its first timestamp is {horizon[0]}; drop the past timestamps, e.g. "
            "horizon[horizon > last_timestamp]."
        )
    return horizon


def _warn_off_session_dates(
    observed_index: pd.DatetimeIndex, calendar: str, end: pd.Timestamp, stacklevel: int
) -> None:
    """Warn when many of the last ``_FREQ_WINDOW`` observed dates of daily data are not
    sessions of ``calendar`` (24/7 data such as crypto with the default "XNYS"): the forecast
    would silently skip the weekends the data trade on."""
    dates = _wall(observed_index[-_FREQ_WINDOW:]).normalize().unique()
    try:
        cal = get_calendar(calendar, start=dates[0], end=end)
    except ValueError:  # dates the calendar does not record: nothing to compare with
        return
    sessions = cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions
    # the calendar's weekend days only (Sat/Sun for XNYS, Fri/Sat for XSAU): holidays do not
    # count, as a short history of weekdays can hold 3 of them (Christmas to MLK day)
    weekend = ~dates.day_of_week.isin(np.unique(sessions.day_of_week))
    off = dates[~dates.isin(sessions) & weekend]
    if len(off) >= 3 and len(off) > 0.1 * len(dates):
        warnings.warn(
            f"{len(off)} of the last {len(dates)} observed dates fall on days of the week that "
            f"are never sessions of calendar={calendar!r} (e.g. {off[-1].date()}, a "
            f"{off[-1].day_name()}): 24/7 data "
            "such as crypto, or another exchange's. The forecast steps are that calendar's "
            "sessions, skipping those days; pass calendar='24/7' (or the data's exchange, or "
            "None to continue the observed spacing).",
            UserWarning,
            stacklevel=stacklevel,
        )


def future_index(
    last_timestamp: pd.Timestamp,
    horizon: int | pd.DatetimeIndex,
    *,
    calendar: str | xcals.ExchangeCalendar | None = "XNYS",
    observed_index: pd.DatetimeIndex | None = None,
    stacklevel: int = 2,
) -> pd.DatetimeIndex:
    """Timestamps of the next ``horizon`` forecast steps after ``last_timestamp``.

    Parameters
    ----------
    last_timestamp : Timestamp
        Last observed timestamp (tz-naive or tz-aware); a datetime, numpy datetime64 or date
        string is converted. Numbers are refused (not read as nanoseconds since 1970).
    horizon : int or DatetimeIndex
        A positive int: the number of future steps. A DatetimeIndex: explicit future timestamps,
        validated (non-empty, sorted, unique, strictly after ``last_timestamp``, same tz-awareness
        as the data; tz-aware timestamps are converted to ``last_timestamp``'s zone) and returned.
    calendar : str, ExchangeCalendar or None, default "XNYS"
        For an int horizon: the exchange whose next trading sessions (strictly after the date of
        ``last_timestamp``) are used, at the same time of day and in the same time zone as
        ``last_timestamp`` (daily data stays at midnight); the date is read in
        ``last_timestamp``'s own zone, so daily bars belong in the exchange's zone (as
        yfinance gives them) or tz-naive: Tokyo midnight bars stored in UTC read as the
        previous day. Weekly or sparser data get a UserWarning, as the steps are still
        sessions. ``None`` continues the observed
        spacing: the calendar frequency of the last observations when it is regular
        (``pd.infer_freq``: month ends, weekly closes, business days, hours, ...; with a few
        rows missing, the business-day, weekly, month/quarter/year end or start offset that
        every observed date lies on), else the median positive difference of ``observed_index``. A spacing of one day or
        more is stepped on the wall clock (daily data stays at local midnight across DST
        changes); a shorter one is stepped in elapsed time, so tz-aware intraday timestamps
        stay unique and evenly spaced when the clocks change.
    observed_index : DatetimeIndex, optional
        The observed timestamps, shape (n_obs,). Required when ``calendar=None``. If its median
        spacing is under one day (intraday data), exchange sessions would be wrong: the observed
        spacing is used instead with a UserWarning. Its name becomes the result's name.
    stacklevel : int, default 2
        ``stacklevel`` of that warning (callers wrapping this function pass a larger value).

    Returns
    -------
    DatetimeIndex of shape (n_steps,)
        ``n_steps == horizon`` for an int horizon.

    Raises
    ------
    TypeError
        ``horizon`` is not an int or DatetimeIndex (bool, float, str and lists are rejected),
        ``last_timestamp`` is not datetime-like (None or a number), or ``observed_index`` is not
        a DatetimeIndex.
    ValueError
        Non-positive ``horizon``, an invalid DatetimeIndex horizon, an unknown calendar name,
        ``calendar=None`` without ``observed_index``, a missing (NaT) or unparseable
        ``last_timestamp``, or an ``observed_index`` with NaT or, where its spacing is used,
        not sorted increasingly.

    Warns
    -----
    UserWarning
        With a calendar: intraday ``observed_index`` (its spacing is used), weekly or sparser
        data (the steps are daily sessions), and daily data of which 3 or more (over 10%) of
        the last 60 dates fall on days of the week the calendar never trades (24/7 data such
        as crypto with "XNYS": pass ``calendar="24/7"``).
    """
    last = _check_last_timestamp(last_timestamp)
    _check_observed_index(observed_index)
    name = observed_index.name if observed_index is not None else None
    if isinstance(horizon, pd.DatetimeIndex):
        out = _check_horizon_index(horizon, last)
        return out.rename(name) if observed_index is not None else out
    if not _is_int(horizon):
        raise TypeError(
            f"horizon must be a positive int (number of future steps) or a pandas DatetimeIndex "
            f"of future timestamps, got {horizon!r} of type {type(horizon).__name__}. For a list "
            "of dates pass pd.DatetimeIndex(dates)."
        )
    if horizon < 1:
        raise ValueError(
            f"horizon must be a positive int (number of future steps), got {horizon}; e.g. "
            "horizon=5 forecasts the next 5 sessions."
        )
    if horizon > _MAX_HORIZON:
        raise ValueError(
            f"horizon={horizon} is too long (maximum {_MAX_HORIZON} steps); forecast in pieces "
            "or pass an explicit DatetimeIndex."
        )
    n = int(horizon)
    try:
        return _future_steps(last, n, calendar, observed_index, name, stacklevel + 1)
    except (pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta, OverflowError) as err:
        unit = getattr(observed_index, "unit", None) or getattr(last, "unit", "ns")
        coarser = calendar is None and unit == "ns"  # calendars' sessions are nanoseconds
        raise ValueError(
            f"horizon={n} steps after {last} run past "
            + ("2262-04-11, the last date a nanosecond" if unit == "ns" or calendar else "the")
            + f" timestamp can hold ({err}); pass a shorter horizon"
            + (", or the data with a coarser time unit (y.index.as_unit('s'))." if coarser else ".")
        ) from err


def _future_steps(
    last: pd.Timestamp,
    n: int,
    calendar: str | xcals.ExchangeCalendar | None,
    observed_index: pd.DatetimeIndex | None,
    name: Any,
    stacklevel: int,
) -> pd.DatetimeIndex:
    """:func:`future_index` for ``n`` steps after ``last`` (arguments already checked)."""
    daily = False  # daily observations with a calendar: checked against its sessions below
    if calendar is not None and observed_index is not None and len(observed_index) > 1:
        step = _observed_step(observed_index)
        daily = _DAY <= step < _SPARSE
        if step >= _SPARSE:
            warnings.warn(
                f"the data are observed every {step.days} days (median spacing) but "
                f"calendar={calendar!r} counts daily sessions: horizon={n} forecasts the next "
                f"{n} sessions, not {n} observations ahead. Pass calendar=None to continue the "
                "observed spacing (weekly, monthly, ...), or an explicit DatetimeIndex horizon.",
                UserWarning,
                stacklevel=stacklevel,
            )
        if step < _DAY:
            warnings.warn(
                f"the observed spacing ({step}) is under one day but calendar={calendar!r} gives "
                "daily sessions; continuing the observed spacing instead. Pass calendar=None to "
                "silence this warning, or an explicit DatetimeIndex horizon.",
                UserWarning,
                stacklevel=stacklevel,
            )
            calendar = None
    local_last = last.tz_localize(None)  # wall-clock time in the data's own zone
    if calendar is None:
        step = _observed_step(observed_index)
        regular = _regular_frequency(observed_index, last)
        if regular is not None:  # e.g. month ends, Friday closes, business days
            offset = pd.tseries.frequencies.to_offset(regular)
            intraday = isinstance(offset, pd.offsets.Tick) and pd.Timedelta(offset) < _DAY
            if intraday or last.tz is None:
                out = pd.date_range(last, periods=n + 1, freq=regular, unit=last.unit)[1:]
                # no freq attribute, like every other path here
                return _as_unit(pd.DatetimeIndex(out, freq=None), last).rename(name)
            # daily or sparser: on the wall clock, so that a midnight the clocks skip (Havana,
            # Santiago) shifts forward instead of failing
            wall = pd.date_range(local_last, periods=n + 1, freq=regular, unit=last.unit)[1:]
            return _localize(pd.DatetimeIndex(wall, freq=None), last).rename(name)
        if step < _DAY and last.tz is not None:
            # Intraday: step in elapsed time, so that no timestamp repeats or is skipped when
            # the clocks change (a tz-aware Timestamp plus a Timedelta is absolute time).
            step = _observed_step(observed_index, elapsed=True)
            out = pd.DatetimeIndex([last + k * step for k in range(1, n + 1)])
            return _as_unit(out, last).rename(name)
        wall = pd.DatetimeIndex([local_last + k * step for k in range(1, n + 1)])
        return _localize(wall, last).rename(name)

    day = local_last.normalize()
    time_of_day = local_last - day
    # ~7/5 calendar days per session plus holidays; 24/7 needs fewer, generous is cheap (cached).
    # A calendar object is used as given: its sessions after `day` are counted below.
    given = isinstance(calendar, xcals.ExchangeCalendar)
    end = day + pd.Timedelta(days=1 if given else int(n * 1.6) + 30)
    cal = get_calendar(calendar, start=day, end=end)
    if daily and not given:
        _warn_off_session_dates(observed_index, calendar, end, stacklevel + 1)
    sessions = cal.sessions
    sessions = sessions.tz_localize(None) if sessions.tz is not None else sessions
    after = sessions[sessions > day][:n]
    if len(after) < n:
        raise ValueError(
            f"calendar {cal.name!r} has only {len(after)} sessions after {day.date()} within its "
            f"range (needed {n}); build it with a later end, or pass calendar=None or an "
            "explicit DatetimeIndex horizon."
        )
    wall = pd.DatetimeIndex(after.as_unit("ns") + time_of_day)
    return _localize(wall, last).rename(name)
