"""Tests of tsnode.calendar.future_index."""

from __future__ import annotations

import datetime
import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from tsnode.calendar import future_index, get_calendar


def _dates(index: pd.DatetimeIndex) -> list[str]:
    return [str(t.date()) for t in index]


def test_nyse_skips_christmas():
    out = future_index(pd.Timestamp("2012-12-21"), 4)
    assert _dates(out) == ["2012-12-24", "2012-12-26", "2012-12-27", "2012-12-28"]
    assert out.tz is None
    assert (out == out.normalize()).all()


def test_nyse_alias_and_good_friday():
    # Good Friday 2024 is March 29.
    out = future_index(pd.Timestamp("2024-03-27"), 3, calendar="NYSE")
    assert _dates(out) == ["2024-03-28", "2024-04-01", "2024-04-02"]


def test_other_calendars():
    # London: Boxing Day (Dec 26) is a holiday, New York trades.
    assert _dates(future_index(pd.Timestamp("2023-12-22"), 2, calendar="XLON")) == [
        "2023-12-27",
        "2023-12-28",
    ]
    assert _dates(future_index(pd.Timestamp("2024-01-05"), 3, calendar="24/7")) == [
        "2024-01-06",
        "2024-01-07",
        "2024-01-08",
    ]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_calendar_instance():
    cal = xcals.get_calendar("XNYS", start="2012-01-01", end="2013-12-31")
    out = future_index(pd.Timestamp("2012-12-21"), 2, calendar=cal)
    assert _dates(out) == ["2012-12-24", "2012-12-26"]
    with pytest.raises(ValueError, match="only 6 sessions after 2013-12-20.*later end"):
        future_index(pd.Timestamp("2013-12-20"), 100, calendar=cal)
    # regression: refused by a loose estimate of the days needed although it had the sessions
    end = xcals.get_calendar("XNYS", start="2025-01-01", end="2025-06-30")
    assert _dates(future_index(pd.Timestamp("2025-06-02"), 3, calendar=end)) == [
        "2025-06-03",
        "2025-06-04",
        "2025-06-05",
    ]
    with pytest.raises(ValueError, match="covers"):
        future_index(pd.Timestamp("2011-06-02"), 3, calendar=cal)  # before its first session
    # a calendar starting on the last observed date serves it
    starts = xcals.get_calendar("XNYS", start="2024-01-08", end="2024-03-01")
    assert _dates(future_index(pd.Timestamp("2024-01-08"), 3, calendar=starts)) == [
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
    ]


def test_far_future_beyond_library_default_bound():
    out = future_index(pd.Timestamp("2080-12-22"), 3)
    assert len(out) == 3 and out[0] > pd.Timestamp("2080-12-22")
    assert pd.Timestamp("2080-12-25") not in out


def test_tz_aware_keeps_zone_and_wall_time_across_dst():
    last = pd.Timestamp("2024-03-08", tz="America/New_York")  # DST starts 2024-03-10
    observed = pd.DatetimeIndex(
        pd.bdate_range("2024-02-01", "2024-03-08"), name="Date"
    ).tz_localize("America/New_York")
    out = future_index(last, 3, observed_index=observed)
    assert str(out.tz) == "America/New_York"
    assert out.name == "Date"
    assert _dates(out) == ["2024-03-11", "2024-03-12", "2024-03-13"]
    assert all(t.hour == 0 for t in out)


def test_time_of_day_kept():
    out = future_index(pd.Timestamp("2024-01-05 16:00"), 2)
    assert list(out) == [pd.Timestamp("2024-01-08 16:00"), pd.Timestamp("2024-01-09 16:00")]


def test_calendar_none_continues_median_spacing():
    observed = pd.DatetimeIndex(["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-12"], name="t")
    out = future_index(observed[-1], 3, calendar=None, observed_index=observed)
    assert list(out) == list(pd.date_range("2024-01-14", periods=3, freq="2D"))
    assert out.name == "t"


def test_calendar_none_tz_aware_daily_across_dst():
    observed = pd.date_range("2024-03-01", "2024-03-08", freq="D", tz="America/New_York")
    out = future_index(observed[-1], 4, calendar=None, observed_index=observed)
    assert all(t.hour == 0 for t in out)
    assert _dates(out) == ["2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12"]


def _assert_hourly_in_elapsed_time(out: pd.DatetimeIndex, last: pd.Timestamp) -> None:
    assert out.is_unique and str(out.tz) == str(last.tz)
    assert out[0] - last == pd.Timedelta("1h")
    assert ((out[1:] - out[:-1]) == pd.Timedelta("1h")).all()  # tz-aware: elapsed time


def test_intraday_tz_aware_spring_forward_steps_in_elapsed_time():
    # Europe/London skips 01:00-02:00 on 2021-03-28: wall-clock steps gave 02:00+01:00 twice.
    observed = pd.date_range("2021-03-20", "2021-03-28", freq="h", tz="Europe/London")
    out = future_index(observed[-1], 4, calendar=None, observed_index=observed)
    _assert_hourly_in_elapsed_time(out, observed[-1])
    assert [str(t) for t in out] == [
        "2021-03-28 02:00:00+01:00",
        "2021-03-28 03:00:00+01:00",
        "2021-03-28 04:00:00+01:00",
        "2021-03-28 05:00:00+01:00",
    ]
    # The default calendar falls back to the observed spacing for intraday data: same result.
    with pytest.warns(UserWarning, match="under one day"):
        default = future_index(observed[-1], 4, observed_index=observed)
    pd.testing.assert_index_equal(default, out)


def test_intraday_tz_aware_fall_back_skips_no_hour():
    # Europe/London repeats 01:00-02:00 on 2021-10-31: wall-clock steps skipped 01:00+01:00.
    observed = pd.date_range("2021-10-25", "2021-10-31 00:00", freq="h", tz="Europe/London")
    out = future_index(observed[-1], 4, calendar=None, observed_index=observed)
    _assert_hourly_in_elapsed_time(out, observed[-1])
    assert [str(t) for t in out] == [
        "2021-10-31 01:00:00+01:00",
        "2021-10-31 01:00:00+00:00",
        "2021-10-31 02:00:00+00:00",
        "2021-10-31 03:00:00+00:00",
    ]


def test_intraday_horizon_crossing_dst_keeps_elapsed_spacing():
    # 30-minute bars; the 40-step horizon crosses New York's 2024-11-03 fall-back change.
    observed = pd.date_range("2024-11-02 09:30", periods=14, freq="30min", tz="America/New_York")
    out = future_index(observed[-1], 40, calendar=None, observed_index=observed)
    assert out.is_unique and ((out[1:] - out[:-1]) == pd.Timedelta("30min")).all()
    assert out[-1] == pd.Timestamp("2024-11-03 11:00", tz="America/New_York")  # 20 h elapsed


def test_daily_tz_aware_steps_stay_on_the_wall_clock():
    # Daily spacing keeps wall-clock steps: local midnight before and after the change.
    observed = pd.date_range("2021-03-20", "2021-03-27", freq="D", tz="Europe/London")
    out = future_index(observed[-1], 3, calendar=None, observed_index=observed)
    assert [str(t) for t in out] == [
        "2021-03-28 00:00:00+00:00",
        "2021-03-29 00:00:00+01:00",
        "2021-03-30 00:00:00+01:00",
    ]


def test_calendar_none_needs_observed_index():
    with pytest.raises(ValueError, match="observed_index"):
        future_index(pd.Timestamp("2024-01-01"), 3, calendar=None)
    with pytest.raises(ValueError, match="two distinct"):
        future_index(
            pd.Timestamp("2024-01-01"),
            3,
            calendar=None,
            observed_index=pd.DatetimeIndex(["2024-01-01"]),
        )


def test_intraday_with_daily_calendar_warns_and_uses_spacing():
    observed = pd.date_range("2024-01-02 09:30", periods=8, freq="30min")
    with pytest.warns(UserWarning, match="under one day"):
        out = future_index(observed[-1], 2, calendar="XNYS", observed_index=observed)
    assert list(out) == [observed[-1] + pd.Timedelta("30min"), observed[-1] + pd.Timedelta("1h")]


@pytest.mark.parametrize("bad", [0, -3])
def test_nonpositive_horizon(bad):
    with pytest.raises(ValueError, match=rf"horizon must be a positive int.*got {bad}"):
        future_index(pd.Timestamp("2024-01-01"), bad)


@pytest.mark.parametrize("bad", [2.0, "5", True, [1, 2], None, np.float64(3)])
def test_bad_horizon_type(bad):
    with pytest.raises(TypeError, match="horizon must be a positive int"):
        future_index(pd.Timestamp("2024-01-01"), bad)


def test_numpy_int_horizon():
    assert len(future_index(pd.Timestamp("2024-01-02"), np.int64(2))) == 2


def test_huge_horizon_rejected():
    with pytest.raises(ValueError, match="too long"):
        future_index(pd.Timestamp("2024-01-02"), 10**7)


def test_unknown_calendar_suggests_close_match():
    with pytest.raises(ValueError, match=r"unknown calendar='XNYZ'.*'XNYS'"):
        future_index(pd.Timestamp("2024-01-01"), 2, calendar="XNYZ")
    with pytest.raises(TypeError, match="calendar must be"):
        future_index(pd.Timestamp("2024-01-01"), 2, calendar=5)


# ---------------------------------------------------------------------------- explicit horizon
def test_datetimeindex_horizon_returned():
    horizon = pd.DatetimeIndex(["2024-01-10", "2024-01-20"])
    out = future_index(pd.Timestamp("2024-01-05"), horizon)
    pd.testing.assert_index_equal(out, horizon)
    named = future_index(
        pd.Timestamp("2024-01-05"), horizon, observed_index=pd.DatetimeIndex([], name="Date")
    )
    assert named.name == "Date"
    assert horizon.name is None  # not mutated


@pytest.mark.parametrize(
    "horizon, match",
    [
        (pd.DatetimeIndex([]), "empty"),
        (pd.DatetimeIndex(["2024-01-10", "2024-01-09"]), "not sorted"),
        (pd.DatetimeIndex(["2024-01-10", "2024-01-10"]), "duplicate"),
        (pd.DatetimeIndex(["2024-01-05", "2024-01-09"]), "strictly after"),
        (pd.DatetimeIndex(["2024-01-01"]), "strictly after"),
        (pd.DatetimeIndex(["2024-01-10", None]), "NaT"),
        (pd.DatetimeIndex(["2024-01-10"], tz="UTC"), "tz-aware"),
    ],
)
def test_datetimeindex_horizon_validation(horizon, match):
    with pytest.raises(ValueError, match=match):
        future_index(pd.Timestamp("2024-01-05"), horizon)


def test_datetimeindex_horizon_tz_converted():
    last = pd.Timestamp("2024-01-05", tz="America/New_York")
    horizon = pd.DatetimeIndex(["2024-01-08 05:00"], tz="UTC")
    out = future_index(last, horizon)
    assert str(out.tz) == "America/New_York"
    assert out[0] == horizon[0]
    with pytest.raises(ValueError, match="tz-naive"):
        future_index(last, pd.DatetimeIndex(["2024-01-08"]))


def test_calendar_objects_are_cached():
    a = get_calendar("XNYS", start=pd.Timestamp("2021-01-01"), end=pd.Timestamp("2022-01-01"))
    b = get_calendar("XNYS", start=pd.Timestamp("2023-05-01"), end=pd.Timestamp("2024-01-01"))
    assert a is b


@pytest.mark.parametrize(
    ("name", "last"),
    [
        ("XSHG", "2024-06-28"),
        ("XSES", "2023-06-30"),
        ("XSAU", "2023-06-28"),  # exchange-calendars 4.5 records XSAU to 2023 only
        ("XTKS", "1999-06-30"),
    ],
)
def test_calendars_recorded_for_part_of_a_decade(name, last):
    # the range was rounded out to whole decades, past XSHG's last recorded year (2026) or
    # before XSAU's first (2021): every current date failed with "use a shorter horizon"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exchange-calendars' own deprecation noise
        expected = xcals.get_calendar(name, start=f"{last[:4]}-01-01")
        out = future_index(pd.Timestamp(last), 5, calendar=name)
    assert list(out) == list(expected.sessions[expected.sessions > last][:5])


def test_calendar_beyond_its_records_gives_a_short_error():
    with pytest.raises(ValueError, match="cannot cover .* exchange-calendars says") as info:
        future_index(pd.Timestamp("2026-12-28"), 10, calendar="XSHG")
    assert len(str(info.value)) < 800


def test_no_warning_for_daily_data():
    observed = pd.bdate_range("2024-01-02", periods=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        future_index(observed[-1], 3, observed_index=observed)


# ---------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("bad", [None, 5, 5.0, np.int64(5), np.float64(1.7e18), True, [2024, 1, 5]])
def test_last_timestamp_must_be_datetime_like(bad):
    # Numbers used to become 1970 timestamps silently; None an AttributeError.
    with pytest.raises(TypeError, match=r"last_timestamp must be a timestamp .* got .* of type"):
        future_index(bad, 3)


@pytest.mark.parametrize("missing", [pd.NaT, np.datetime64("NaT", "ns"), "NaT"])
def test_missing_last_timestamp(missing):
    with pytest.raises(ValueError, match="last_timestamp is missing"):
        future_index(missing, 3)


def test_unparseable_last_timestamp():
    with pytest.raises(
        ValueError, match=r"last_timestamp='notadate' is not a date pandas can read"
    ):
        future_index("notadate", 3)


@pytest.mark.parametrize(
    "last", ["2024-01-05", datetime.date(2024, 1, 5), np.datetime64("2024-01-05")]
)
def test_datetime_like_last_timestamp_accepted(last):
    assert _dates(future_index(last, 2)) == ["2024-01-08", "2024-01-09"]


@pytest.mark.parametrize("bad", [[1, 2], np.array([1, 2]), pd.Index([1, 2]), "2024-01-01"])
def test_observed_index_must_be_a_datetimeindex(bad):
    with pytest.raises(TypeError, match="observed_index must be a pandas DatetimeIndex"):
        future_index(pd.Timestamp("2024-01-05"), 3, observed_index=bad)


@pytest.mark.parametrize("calendar", [None, "XNYS"])
def test_decreasing_observed_index_says_sort_it(calendar):
    observed = pd.bdate_range("2024-01-02", periods=5)[::-1]
    # Used to say "needs at least two distinct timestamps".
    with pytest.raises(ValueError, match=r"observed_index must be sorted in increasing order"):
        future_index(observed[0], 3, calendar=calendar, observed_index=observed)


def test_observed_index_with_nat():
    observed = pd.DatetimeIndex(["2024-01-02", None, "2024-01-04"])
    with pytest.raises(ValueError, match=r"observed_index contains missing timestamps \(NaT\)"):
        future_index(pd.Timestamp("2024-01-04"), 3, calendar=None, observed_index=observed)


# ---------------------------------------------------------------- weekly and monthly data
def _monthly() -> pd.DatetimeIndex:
    return pd.date_range("2012-01-31", periods=15, freq="ME", name="Date")


@pytest.mark.parametrize(
    "observed, expected",
    [
        (
            _monthly(),
            ["2013-04-30", "2013-05-31", "2013-06-30"],
        ),  # the median 31 days skipped April
        (
            pd.date_range("2012-12-07", periods=14, freq="W-FRI"),
            ["2013-03-15", "2013-03-22", "2013-03-29"],
        ),
        (pd.bdate_range("2024-01-01", periods=20), ["2024-01-29", "2024-01-30", "2024-01-31"]),
        (
            pd.date_range("2020-03-31", periods=8, freq="QE"),
            ["2022-03-31", "2022-06-30", "2022-09-30"],
        ),
    ],
)
def test_calendar_none_continues_a_regular_calendar_frequency(observed, expected):
    out = future_index(observed[-1], 3, calendar=None, observed_index=observed)
    pd.testing.assert_index_equal(out, pd.DatetimeIndex(expected, name=observed.name))
    assert out.freq is None


@pytest.mark.parametrize(
    "observed, expected",
    [
        (  # business days (NYSE holidays, an FX feed with a missing day): never a weekend
            pd.bdate_range("2024-01-01", periods=20).delete([4, 11]),
            ["2024-01-29", "2024-01-30", "2024-01-31"],
        ),
        (_monthly().delete(5), ["2013-04-30", "2013-05-31", "2013-06-30"]),
        (
            pd.date_range("2012-12-07", periods=14, freq="W-FRI").delete(3),
            ["2013-03-15", "2013-03-22", "2013-03-29"],
        ),
        (
            pd.date_range("2020-03-31", periods=8, freq="QE").delete(2),
            ["2022-03-31", "2022-06-30", "2022-09-30"],
        ),
        (
            pd.date_range("2020-01-01", periods=6, freq="YS").delete(2),
            ["2026-01-01", "2027-01-01", "2028-01-01"],
        ),
        (
            pd.date_range("2024-01-01 16:00", periods=20, freq="B", tz="America/New_York")[
                ::1
            ].delete(7),
            ["2024-01-29 16:00", "2024-01-30 16:00", "2024-01-31 16:00"],
        ),
    ],
)
def test_calendar_none_keeps_the_calendar_frequency_across_missing_rows(observed, expected):
    # regression: pd.infer_freq gives up on one missing row, and the median spacing then
    # forecast Saturdays after business days and March 3 after January 31
    out = future_index(observed[-1], 3, calendar=None, observed_index=observed)
    want = pd.DatetimeIndex(expected, name=observed.name)
    want = want if observed.tz is None else want.tz_localize(observed.tz)
    pd.testing.assert_index_equal(out, want.as_unit(out.unit))


def test_a_rule_pandas_finds_across_a_gap_does_not_replace_the_calendar():
    # fuzz: business quarter starts with a quarter missing are all first Mondays, so
    # pd.infer_freq answered "WOM-1MON" and the forecast went monthly
    observed = pd.date_range("2005-10-01", periods=12, freq="BQS-JAN")[:9].delete(3)
    out = future_index(observed[-1], 3, calendar=None, observed_index=observed)
    expected = pd.DatetimeIndex(["2008-01-01", "2008-04-01", "2008-07-01"])
    pd.testing.assert_index_equal(out, expected.as_unit(out.unit), check_names=False)


def test_calendar_none_on_irregular_data_still_uses_the_median_spacing():
    observed = pd.DatetimeIndex(
        ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-08", "2024-01-10"]
    )
    out = future_index(observed[-1], 2, calendar=None, observed_index=observed)
    pd.testing.assert_index_equal(out, pd.DatetimeIndex(["2024-01-12", "2024-01-14"]))


def test_weekly_data_with_a_daily_exchange_calendar_warns_at_the_caller():
    weekly = pd.date_range("2012-12-07", periods=14, freq="W-FRI")
    with pytest.warns(
        UserWarning, match=r"every 7 days .* next 3 sessions, not 3 observations"
    ) as rec:
        out = future_index(weekly[-1], 3, calendar="XNYS", observed_index=weekly)
    assert rec[0].filename == __file__
    assert list(out.strftime("%Y-%m-%d")) == ["2013-03-11", "2013-03-12", "2013-03-13"]
    daily = pd.bdate_range("2024-01-01", periods=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        future_index(daily[-1], 3, calendar="XNYS", observed_index=daily)


def test_a_forecaster_without_calendar_forecasts_the_next_month_ends():
    from tsnode.baselines import NaiveForecaster

    y = pd.Series(np.linspace(100, 120, 15), index=_monthly(), name="x")
    out = NaiveForecaster(calendar=None).fit(y).predict(3)
    assert list(out.index.strftime("%Y-%m-%d")) == ["2013-04-30", "2013-05-31", "2013-06-30"]


def test_daily_data_in_a_zone_whose_clocks_skip_midnight_continue():
    # regression: pd.date_range on tz-aware midnights failed where the clocks change at
    # midnight ("2023-03-12 00:00:00 is a nonexistent time" in Havana)
    from tsnode import NaiveForecaster

    days = pd.date_range("2023-02-20", periods=19).tz_localize("America/Havana")
    y = pd.Series(100.0 + np.arange(19), index=days)
    out = NaiveForecaster(calendar=None).fit(y).predict(5).index
    assert list(out.strftime("%m-%d %H:%M")) == [
        "03-11 00:00",
        "03-12 01:00",  # midnight does not exist that day: shifted forward
        "03-13 00:00",
        "03-14 00:00",
        "03-15 00:00",
    ]


def test_baseline_fits_with_a_calendar_recorded_to_2026():
    from tsnode.baselines import NaiveForecaster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sessions = xcals.get_calendar("XSHG", start="2023-07-01").sessions
    index = sessions[(sessions >= "2023-07-03") & (sessions <= "2024-06-14")]
    y = pd.Series(np.linspace(90.0, 100.0, len(index)), index=index, name="600519.SS")
    out = NaiveForecaster(calendar="XSHG").fit(y).predict(3)
    assert list(out.index) == list(sessions[sessions > "2024-06-14"][:3])


def test_daily_data_off_the_calendars_sessions_warn():
    # regression: crypto's daily closes (every day) with the default "XNYS" were forecast on
    # weekdays only, in silence
    every_day = pd.date_range("2024-01-01", periods=90, freq="D")
    with pytest.warns(
        UserWarning,
        match=r"1\d of the last 60 observed dates fall on days of the week that are never",
    ):
        out = future_index(every_day[-1], 3, calendar="XNYS", observed_index=every_day)
    assert all(d.day_of_week < 5 for d in out)  # the calendar is still followed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        future_index(every_day[-1], 3, calendar="24/7", observed_index=every_day)
        sessions = pd.bdate_range("2024-01-02", periods=90)  # holidays: 2 of the last 60
        future_index(sessions[-1], 3, calendar="XNYS", observed_index=sessions)
        # regression: 3 holidays (Christmas, New Year, MLK day) in 23 weekdays warned "24/7"
        short = pd.bdate_range("2023-12-15", "2024-01-16")
        future_index(short[-1], 3, calendar="XNYS", observed_index=short)
    # a Friday-Saturday weekend: Monday-Friday data have 12 Fridays in 60 rows
    weekdays = pd.bdate_range("2023-04-03", "2023-06-30")  # XSAU to 2023 in older versions
    with pytest.warns(UserWarning, match=r"never sessions of calendar='XSAU'.*Friday"):
        future_index(weekdays[-1], 3, calendar="XSAU", observed_index=weekdays)
        weekly = pd.date_range("2023-01-06", periods=90, freq="W-FRI")
        future_index(weekly[-1], 3, calendar=None, observed_index=weekly)


@pytest.mark.parametrize("calendar", [None, "XNYS", "24/7"])
def test_a_horizon_past_the_index_units_last_date_names_the_horizon(calendar):
    # regression: pandas' OutOfBoundsDatetime/OutOfBoundsTimedelta ("Cannot generate range
    # with start=1708300800000000000 and periods=90001") for a horizon within the maximum
    observed = pd.date_range("2024-01-01", periods=50, freq="D", unit="ns")
    with pytest.raises(
        ValueError,
        match=r"horizon=90000 steps after .* run past 2262-04-11, the last date a nanosecond",
    ):
        future_index(observed[-1], 90000, calendar=calendar, observed_index=observed)
    coarse = observed.as_unit("s")  # the advice works with calendar=None
    if calendar is None:
        assert (
            future_index(coarse[-1], 90000, calendar=None, observed_index=coarse)[-1].year == 2270
        )


def test_get_calendar_reads_date_strings_and_names_bad_bounds():
    # regression (audit): AttributeError: 'str' object has no attribute 'year'
    from tsnode.calendar import get_calendar

    assert get_calendar("XNYS", start="2020-01-01", end="2020-03-01").name == "XNYS"
    with pytest.raises(TypeError, match="start must be a timestamp"):
        get_calendar("XNYS", start=3, end="2020-01-01")
