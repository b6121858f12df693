"""Whether an instant lies inside a TimeInterval, with Alertmanager's `time_intervals`
semantics. Pure: the instant is passed in.

Each window's fields are read in its time zone; a window holds when every field it sets
holds (times: start inclusive, end exclusive, in minutes of the day; weekdays, days of the
month, months and years: inclusive ranges). Negative days of the month count from its
end (-1 is the last day), clamped to the month as Alertmanager does."""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.api.timeinterval import MONTHS, WEEKDAYS, Period, TimeIntervalSpec

Range = tuple[int, int]


def _ranges(items: list[str], names: tuple[str, ...] = ()) -> tuple[Range, ...]:
    def value(text: str) -> int:
        return names.index(text) if text in names else int(text)

    found = []
    for item in items:
        low, _, high = item.partition(":")
        found.append((value(low), value(high or low)))
    return tuple(found)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Window:
    """One Period, parsed once."""

    zone: zoneinfo.ZoneInfo
    times: tuple[Range, ...]
    weekdays: tuple[Range, ...]
    days_of_month: tuple[Range, ...]
    months: tuple[Range, ...]
    years: tuple[Range, ...]

    @classmethod
    def of(cls, period: Period) -> Window:
        return cls(
            zoneinfo.ZoneInfo(period.location),
            tuple((_minutes(t.start_time), _minutes(t.end_time)) for t in period.times),
            _ranges(period.weekdays, WEEKDAYS),
            _ranges(period.days_of_month),
            _ranges(period.months, ("", *MONTHS)),
            _ranges(period.years),
        )

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if self.times and not any(low <= minute < high for low, high in self.times):
            return False
        weekday = (local.weekday() + 1) % 7  # Sunday is 0, as in WEEKDAYS
        if self.weekdays and not any(low <= weekday <= high for low, high in self.weekdays):
            return False
        if self.days_of_month and not self._day_of_month(local):
            return False
        if self.months and not any(low <= local.month <= high for low, high in self.months):
            return False
        return not self.years or any(low <= local.year <= high for low, high in self.years)

    def _day_of_month(self, local: datetime) -> bool:
        days = calendar.monthrange(local.year, local.month)[1]
        for low, high in self.days_of_month:
            begin = days + low + 1 if low < 0 else low
            end = days + high + 1 if high < 0 else high
            if begin > days:
                continue
            begin, end = max(-days, min(begin, days)), max(-days, min(end, days))
            if begin <= local.day <= end:
                return True
        return False


@dataclass(frozen=True)
class TimeInterval:
    """A named TimeInterval: inside when any of its windows holds."""

    name: str
    windows: tuple[Window, ...]

    @classmethod
    def of(cls, name: str, spec: TimeIntervalSpec) -> TimeInterval:
        return cls(name, tuple(Window.of(p) for p in spec.intervals))

    def contains(self, moment: datetime) -> bool:
        return any(w.contains(moment) for w in self.windows)


def sends_now(
    intervals: dict[str, TimeInterval], mute: list[str], active: list[str], now: datetime
) -> bool:
    """Whether a channel with these mute and active intervals sends at `now`: inside no
    mute interval and, when it names active intervals, inside one of them. A name that is
    not (or no longer) a valid TimeInterval is ignored (the channel's Ready says so)."""
    if any(intervals[n].contains(now) for n in mute if n in intervals):
        return False
    known = [intervals[n] for n in active if n in intervals]
    return not known or any(i.contains(now) for i in known)
