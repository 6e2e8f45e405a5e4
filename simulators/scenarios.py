"""The scenario library: each scenario a small named object with its ground truth.

A scenario says what the truck, its devices, the weighbridges and the paperwork do
differently from a clean trip (the fleet simulator acts it out), which finding codes it must
raise, which others it may plausibly raise too, and -- once the trip is planned -- where and
when each must-raise finding belongs (:class:`Expectation`).

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


CLEAN = Scenario("clean", "Clean trip", "Loaded, weighed, driven along the planned route (red lights, a queue at "
                 "the gate, perhaps a rest-area break, tunnels), weighed in and received.", ())

DUMPING = Scenario(
    "dumping", "Dumping on the way",
    "The truck pulls over on the roadside, stands for a quarter of an hour and tips part of its load; the "
    "arrival weighbridge then weighs it short.",
    ("UNAUTHORIZED_STOP", "LOAD_DROP", "TONNAGE_SHORTFALL"), ("ACCEPTANCE_MISMATCH",))

SKIMMING = Scenario(
    "skimming", "Skimming between weighbridges",
    "The departure ticket is inflated by about two tonnes; the truck never stops and its load cell never "
    "drops, but the receiver's weighbridge weighs it short.",
    ("TONNAGE_SHORTFALL",), ("DECLARATION_MISMATCH",))

DIVERSION = Scenario(
    "diversion", "Diversion to another site",
    "On the way the truck turns into another company's yard, unloads about half its load there in twenty "
    "minutes, then delivers the rest to the named receiver.",
    ("DIVERSION",), ("LOAD_DROP", "TONNAGE_SHORTFALL", "UNAUTHORIZED_STOP", "ROUTE_DEVIATION"))

DETOUR = Scenario(
    "detour", "Detour out of the corridor",
    "The truck leaves the planned route's corridor for a loop of several kilometres through other roads, "
    "without stopping, and comes back to it.",
    ("ROUTE_DEVIATION",))

RESTRICTED = Scenario(
    "restricted", "Restricted-zone entry",
    "Loaded, the truck takes a short cut across the drinking-water source protection zone.",
    ("RESTRICTED_ZONE_ENTRY",), ("ROUTE_DEVIATION",))

GPS_OFF = Scenario(
    "gps_off", "GPS switched off mid-trip",
    "A quarter of an hour into the trip the positioning terminal is switched off for about twenty minutes, "
    "then on again; nothing is buffered.",
    ("GPS_GAP",))

GHOST = Scenario(
    "ghost", "Ghost trip",
    "Tickets are printed at both weighbridges and both signatures given, but the truck never moves: its "
    "terminal reports nothing for the whole trip.",
    ("NO_TRACK",))

SPOOF = Scenario(
    "spoof", "Spoofed position jump",
    "A spoofer makes one fix land some twenty kilometres away, then the track goes on as before.",
    ("IMPOSSIBLE_JUMP",))

PLATE_SWAP = Scenario(
    "plate_swap", "Plate swap at the weighbridge",
    "The departure ticket that names this manifest was weighed with another truck's plate.",
    ("PLATE_MISMATCH",))

REUSED_TICKET = Scenario(
    "reused_ticket", "Reused weigh ticket",
    "The truck is never weighed out: the generator signs the departure naming an earlier ticket that already "
    "belongs to another manifest.",
    ("DUPLICATE_TICKET",), ("MISSING_TICKET",))

OVERDUE = Scenario(
    "overdue", "Overdue",
    "Dispatched, the truck pulls into a rest area, switches its terminal off and is never received: the "
    "watchdog (running on the simulated clock) raises the alarm two hours after the planned arrival.",
    ("OVERDUE",))

VIOLATIONS: tuple[Scenario, ...] = (DUMPING, SKIMMING, DIVERSION, DETOUR, RESTRICTED, GPS_OFF, GHOST, SPOOF,
                                    PLATE_SWAP, REUSED_TICKET, OVERDUE)
ALL: dict[str, Scenario] = {s.name: s for s in (CLEAN,) + VIOLATIONS}
