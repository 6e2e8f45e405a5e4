"""Findings as cases: the figures a bureau reports, per period and region, from the workflow's history.

For the findings **raised** in a period (by ``raised_at``, local time) in a region (the finding's
``region_code``), never counting ``withdrawn`` ones:

- ``raised``: how many;
- ``acknowledged``: how many a regulator took up (its history moves it to ``acknowledged``,
  ``investigating``, ``resolved`` or ``dismissed``);
- ``resolved``, ``dismissed``: how many stand so now;
- ``share_closed``: (resolved + dismissed) / raised;
- ``median_time_to_close_s``: over the closed ones, the median of the time from the event that
  raised it to the latest event that closed it (a reopened and closed-again case counts its last close).

Rows are streamed (``yield_per``) and folded finding by finding; only the closing times of each
group are kept, to take their median.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.findings.models import Finding, FindingEvent
from wasteflow.findings.service import visible
from wasteflow.flows.periods import Window, period_key

TAKEN_UP = ("acknowledged", "investigating", "resolved", "dismissed")
CLOSED = ("resolved", "dismissed")


@dataclass(frozen=True)
class Case:
    id: int
    region_code: str
    raised_at: datetime
    status: str
    events: tuple[tuple[datetime, str], ...]  # (at, to_status), in order


@dataclass
class Figures:
    raised: int = 0
    acknowledged: int = 0
    resolved: int = 0
    dismissed: int = 0
    times_to_close: list[float] = field(default_factory=list)

    def add(self, case: Case) -> None:
        self.raised += 1
        if any(status in TAKEN_UP for _, status in case.events):
            self.acknowledged += 1
        if case.status in CLOSED:
            setattr(self, case.status, getattr(self, case.status) + 1)
            seconds = time_to_close(case)
            if seconds is not None:
                self.times_to_close.append(seconds)

    def public(self) -> dict:
        closed = self.resolved + self.dismissed
        return {"raised": self.raised, "acknowledged": self.acknowledged, "resolved": self.resolved,
                "dismissed": self.dismissed, "open": self.raised - closed,
                "share_closed": round(closed / self.raised, 4) if self.raised else None,
                "median_time_to_close_s": (round(statistics.median(self.times_to_close), 1)
                                           if self.times_to_close else None)}


def time_to_close(case: Case) -> float | None:
    """Seconds from the raise (the first event; ``raised_at`` without one) to the latest closing move."""
    raised = case.events[0][0] if case.events else case.raised_at
    closes = [at for at, status in case.events if status == case.status]
    if not closes:
        return None
    return max((closes[-1] - raised).total_seconds(), 0.0)


def figures(cases: Iterable[Case], period: str, tz: str) -> list[dict]:
    zone = ZoneInfo(tz)
    groups: dict[tuple[str, str], Figures] = {}
    for case in cases:
        if case.status == "withdrawn":
            continue
        groups.setdefault((period_key(case.raised_at, period, zone), case.region_code), Figures()).add(case)
    return [{"period": p, "region_code": r, **f.public()} for (p, r), f in sorted(groups.items())]


def cases(session: Session, principal: Principal, window: Window, region: str | None,
          batch: int = 1000) -> Iterator[Case]:
    """The findings ``principal`` may see, raised in the window, with their history."""
    query = visible(select(Finding), principal).with_only_columns(
        col(Finding.id), col(Finding.region_code), col(Finding.raised_at), col(Finding.status),
        col(FindingEvent.at), col(FindingEvent.to_status))
    query = query.join(FindingEvent, col(FindingEvent.finding_id) == col(Finding.id))
    if region:
        query = query.where(col(Finding.region_code).startswith(region))
    if window.start is not None:
        query = query.where(col(Finding.raised_at) >= window.start)
    if window.end is not None:
        query = query.where(col(Finding.raised_at) < window.end)
    rows = session.execute(query.order_by(col(Finding.id), col(FindingEvent.at), col(FindingEvent.id))
                           .execution_options(yield_per=batch))
    for finding_id, group in groupby(rows, key=lambda r: r[0]):
        group = list(group)
        first = group[0]
        yield Case(id=finding_id, region_code=first[1], raised_at=first[2], status=first[3],
                   events=tuple((r[4], r[5]) for r in group))
