"""Report periods in the region's local time, and the ``from``/``to`` bounds reports take (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from wasteflow.errors import RuleViolation

PERIODS = ("day", "month", "year")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval ``[start, end)``; either side may be open (None)."""

    start: datetime | None
    end: datetime | None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


def parse_bound(value: str | None, field: str, tz: str, *, upper: bool) -> datetime | None:
    """A bound: an RFC 3339 time (with offset), or a local date.

    A date as ``from`` means the start of that local day; as ``to`` it means the whole day
    (the bound is the next local midnight), so ``from=2026-11-01&to=2026-11-30`` is November.
    A time as ``to`` is exclusive.
    """
    if value is None or value == "":
        return None
    value = value.strip()
    try:
        if _DATE.match(value):
            day = date.fromisoformat(value)
            if upper:
                day = day + timedelta(days=1)
            moment = datetime.combine(day, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                raise RuleViolation("time_offset", field,
                                    f"give {field} as a date (2026-11-23) or a time with an offset "
                                    "(2026-11-23T08:00:00+08:00)")
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RuleViolation("bad_time", field,
                            f"{field} must be a date (2026-11-23) or an RFC 3339 time with an offset") from None
    if not _EARLIEST <= moment <= _LATEST:
        raise RuleViolation("out_of_range", field, f"{field} must lie between the years 1000 and 9000")
    return moment


def window(start: str | None, end: str | None, tz: str) -> Window:
    lower = parse_bound(start, "from", tz, upper=False)
    upper = parse_bound(end, "to", tz, upper=True)
    if lower is not None and upper is not None and upper < lower:
        raise RuleViolation("to_before_from", "to", "'to' lies before 'from'")
    return Window(lower, upper)


def year_window(year: int, tz: str) -> Window:
    if not 1000 <= year <= 8999:
        raise RuleViolation("out_of_range", "year", "year must lie between 1000 and 8999")
    zone = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return Window(start, end)


def local_year(moment: datetime, tz: str) -> int:
    return moment.astimezone(ZoneInfo(tz)).year


def period_key(moment: datetime, period: str, zone: ZoneInfo) -> str:
    """``2026-11-23`` (day), ``2026-11`` (month) or ``2026`` (year), in local time."""
    local = moment.astimezone(zone)
    if period == "day":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    return f"{local.year:04d}"


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise RuleViolation("bad_period", "period", f"period must be one of: {', '.join(PERIODS)}")
    return period


def check_region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if not re.fullmatch(r"\d{1,6}", region):
        raise RuleViolation("bad_region", "region", "region must be a region-code prefix of 1 to 6 digits")
    return region
