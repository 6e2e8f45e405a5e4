"""Ground truth: what a scenario declares the system must find, and where and when.

A :class:`Scenario` names the finding codes a trip must raise and those it may plausibly
raise too; once the fleet has acted the trip out, its :class:`GroundTruth` holds an
:class:`Expectation` per must-raise code, placed at the simulated truth (the true position,
not the jittered fix) where a place and a time are meaningful.

The test of the whole system (tests/test_demo.py) and the demo's report check the findings
the system raised against these expectations: every must-raise code found, within 200 m of
its place and 2 minutes of its time where those are meaningful; nothing above ``info`` on
clean trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

LOCATION_TOLERANCE_M = 200.0
TIME_TOLERANCE_S = 120.0


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    story: str  # what happens, in a regulator's words
    must: tuple[str, ...]  # codes that must be raised
    may: tuple[str, ...] = ()  # codes that may plausibly be raised as well

    @property
    def is_violation(self) -> bool:
        return bool(self.must)


@dataclass
class Expectation:
    code: str
    location: tuple[float, float] | None = None  # (lon, lat), None where no place is meaningful
    at: datetime | None = None  # the finding window's start, None where no time is meaningful
    note: str = ""


@dataclass
class GroundTruth:
    scenario: Scenario
    trip_key: str
    plate: str
    expectations: list[Expectation] = field(default_factory=list)
