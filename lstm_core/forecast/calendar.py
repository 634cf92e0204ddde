"""A series' own trading calendar, learned from its dates: which weekdays it trades, and which holidays it skips.

Forecast dates count trading days, so they must skip what the market skips. No exchange is known for a visitor's
upload, so the calendar is learned from the data: the weekdays that appear (a crypto series trades on Saturdays), and
every holiday rule of the usual kinds (a fixed date moved off a weekend, the n-th or last weekday of a month, a day
relative to Easter) that the recent years of the series skip almost every time it falls on a trading weekday. Thirty
years of MSFT give back the NYSE's holidays: New Year's Day, Martin Luther King Day, Presidents' Day, Good Friday,
Memorial Day, Independence Day, Labor Day, Thanksgiving and Christmas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd
from dateutil.easter import easter

LEARN_YEARS = 12  # the most recent full years a rule is learned from: holidays change (Juneteenth from 2022)
MIN_CASES = 3  # a rule must have fallen on a trading weekday this many times in those years
MIN_SKIPPED = 0.8  # ... and been skipped at least this share of them (a data gap now and then is no holiday)
WEEKDAY_MIN_SHARE = 0.2  # a weekday is traded when it appears in at least this share of the recent weeks
RECENT_ROWS = 520  # about two years of rows decide the traded weekdays


class RuleKind(StrEnum):
    """The kinds of holiday rule a calendar may learn."""

    FIXED = "fixed"  # a date, moved to Friday from a Saturday and to Monday from a Sunday
    NTH = "nth"  # the n-th weekday of a month (3rd Monday of January)
    LAST = "last"  # the last weekday of a month (last Monday of May)
    EASTER = "easter"  # days from Easter Sunday (-2: Good Friday, +1: Easter Monday)


@dataclass(frozen=True)
class HolidayRule:
    """One recurring holiday."""

    kind: RuleKind
    month: int = 0
    day: int = 0  # FIXED: day of the month; NTH: n (1-4); EASTER: days from Easter Sunday
    weekday: int = 0  # NTH and LAST: Monday 0 .. Sunday 6

    def date_in(self, year: int) -> dt.date | None:
        """The day it is observed in ``year`` (None where the date does not exist, 29 February)."""
        if self.kind == RuleKind.EASTER:
            return easter(year) + dt.timedelta(days=self.day)
        if self.kind == RuleKind.FIXED:
            try:
                day = dt.date(year, self.month, self.day)
            except ValueError:
                return None
            return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))  # observed on the nearest weekday
        first = dt.date(year, self.month, 1)
        if self.kind == RuleKind.NTH:
            return first + dt.timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.day - 1))
        following = dt.date(year + self.month // 12, self.month % 12 + 1, 1)
        last = following - dt.timedelta(days=1)
        return last - dt.timedelta(days=(last.weekday() - self.weekday) % 7)


def _candidates() -> list[HolidayRule]:
    rules = [HolidayRule(RuleKind.FIXED, month, day) for month in range(1, 13) for day in range(1, 32)]
    rules += [HolidayRule(RuleKind.NTH, month, n, weekday) for month in range(1, 13) for n in range(1, 5)
              for weekday in range(5)]
    rules += [HolidayRule(RuleKind.LAST, month, 0, weekday) for month in range(1, 13) for weekday in range(5)]
    rules += [HolidayRule(RuleKind.EASTER, day=offset) for offset in (-3, -2, 1)]
    return rules


CANDIDATES = _candidates()


@dataclass(frozen=True)
class TradingCalendar:
    """The days a series trades: its weekdays, less its holidays."""

    weekdays: frozenset[int]
    holidays: tuple[HolidayRule, ...] = ()

    def holidays_in(self, year: int) -> set[dt.date]:
        return {day for rule in self.holidays if (day := rule.date_in(year)) is not None}

    def sessions_after(self, last: pd.Timestamp, count: int) -> pd.DatetimeIndex:
        """The ``count`` trading days after ``last``."""
        found, day, years = [], last.date(), {}
        while len(found) < count:
            day += dt.timedelta(days=1)
            if day.year not in years:
                years[day.year] = self.holidays_in(day.year)
            if day.weekday() in self.weekdays and day not in years[day.year]:
                found.append(day)
        return pd.DatetimeIndex(found)

    @classmethod
    def learn(cls, dates: pd.DatetimeIndex) -> TradingCalendar:
        """The calendar of a daily series with these dates."""
        dates = pd.DatetimeIndex(dates).normalize()
        recent = dates[-RECENT_ROWS:]
        weeks = max(recent.to_period("W").nunique(), 1)
        counts = pd.Series(recent.day_of_week).value_counts()
        weekdays = frozenset(int(d) for d, n in counts.items() if n >= WEEKDAY_MIN_SHARE * weeks) or frozenset(range(5))
        first_full = dates[0].year + (dates[0] > pd.Timestamp(dates[0].year, 1, 7))
        last_full = dates[-1].year - (dates[-1] < pd.Timestamp(dates[-1].year, 12, 24))
        years = range(max(first_full, last_full - LEARN_YEARS + 1), last_full + 1)
        traded = set(dates.date)
        start, end = dates[0].date(), dates[-1].date()
        holidays = []
        for rule in CANDIDATES:
            cases = skipped = 0
            for year in years:
                day = rule.date_in(year)
                if day is None or not start <= day <= end or day.weekday() not in weekdays:
                    continue
                cases += 1
                skipped += day not in traded
            if cases >= MIN_CASES and skipped >= MIN_SKIPPED * cases:
                holidays.append(rule)
        return cls(weekdays, tuple(holidays))
