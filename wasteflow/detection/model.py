"""The input/output contract of detection: plain frozen data, no behaviour.

All datetimes are timezone-aware UTC (any aware datetime is accepted; keys and evidence
are rendered in UTC). Positions are WGS 84 (lon, lat).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shapely.geometry.base import BaseGeometry

INFO = "info"
WARNING = "warning"
CRITICAL = "critical"


@dataclass(frozen=True)
class Fix:
    ts: datetime
    lon: float
    lat: float
    seq: int
    device_id: str
    verified: bool = True
    speed_kmh: float | None = None
    via: str | None = None  # the gateway it came through (jt808, ...); None: from the device itself


@dataclass(frozen=True)
class LoadReading:
    ts: datetime
    load_kg: int
    seq: int
    device_id: str
    verified: bool = True
    via: str | None = None


@dataclass(frozen=True)
class Place:
    """A registered site or a regulator's zone (geometry: shapely (Multi)Polygon, lon/lat)."""

    id: int
    name: str
    kind: str  # sites: plant storage utilisation disposal landfill parking; zones: rest_area restricted
    geometry: BaseGeometry
    enterprise_id: int | None = None  # None for zones
    is_zone: bool = False
    region_code: str = ""  # zones: the region prefix they apply to ("" every region)


@dataclass(frozen=True)
class Ticket:
    ticket_no: str
    site_id: int
    plate: str
    gross_kg: int
    tare_kg: int
    net_kg: int
    gross_at: datetime
    tare_at: datetime
    verified: bool = True


@dataclass(frozen=True)
class TripLeg:
    """One leg of a multi-leg load: its own trip for detection (domain.md, "Multi-leg transport").

    Its origin is the generator's site (leg 1) or the transfer site of the handover that began it;
    its destination the transfer site of the next handover, or the receiving site. A handover at no
    registered site leaves the manifest's own site in its place (there is nothing else to arrive
    at or leave). ``start_ticket`` is the weighing its load left with: the departure ticket (leg 1)
    or its handover ticket (the transfer site's weighing of this leg's vehicle leaving with the load).
    """

    leg: int
    plate: str
    transporter_id: int
    start: datetime  # the dispatch, or the handover that began it
    end: datetime | None  # the next handover, or the receipt or rejection; None while it carries the load
    origin: Place
    destination: Place
    start_ticket: Ticket | None = None
    handed_over_at_site: bool = True  # False: it ended at a handover at no registered site
    awaiting_handover: bool = False  # it carries the load and a later leg is named, not yet handed over
    fixes: tuple[Fix, ...] = ()  # its own vehicle's, in its own window
    loads: tuple[LoadReading, ...] = ()


@dataclass(frozen=True)
class Trip:
    manifest_no: str
    plate: str
    waste_code: str
    declared_kg: int
    generator_site: Place
    receiver_site: Place
    transporter_id: int
    dispatched_at: datetime | None  # the dispatch signature's event time
    received_at: datetime | None = None  # the receipt signature's event time
    accepted_kg: int | None = None
    refused_kg: int = 0  # a partial refusal: the part of the load the receiver signed as refused
    planned_arrival: datetime | None = None
    route: BaseGeometry | None = None  # shapely LineString (lon/lat) or None
    corridor_m: float = 500
    departure_ticket: Ticket | None = None
    arrival_ticket: Ticket | None = None
    fixes: tuple[Fix, ...] = ()  # any order
    loads: tuple[LoadReading, ...] = ()  # any order
    tolerance_pct: float | None = None  # the waste category's override, None = default
    legs: tuple[TripLeg, ...] = ()  # a multi-leg manifest's started legs; () for a single-leg one
    regions: tuple[str, ...] | None = None  # the generator's and receiver's regions; None: every zone applies


@dataclass(frozen=True)
class Thresholds:
    """Every default from findings.md; all overridable."""

    corridor_min_fixes: int = 3
    corridor_min_seconds: float = 120
    stop_radius_m: float = 100
    stop_min_seconds: float = 600
    gate_radius_m: float = 200
    load_drop_pct: float = 5.0
    load_drop_min_kg: int = 300
    load_drop_min_readings: int = 2
    diversion_min_seconds: float = 300
    jump_max_kmh: float = 180
    jump_min_m: float = 1000
    overdue_after_planned_s: float = 7200
    overdue_default_s: float = 86400
    gps_gap_s: float = 600
    tolerance_pct: float = 2.0
    tolerance_min_kg: int = 50
    declaration_mismatch_pct: float = 10.0
    # A stay (stops, dwells, the gate queue) ends only when the vehicle is beyond its radius for
    # this many consecutive fixes spanning this long; a lone fix beyond it is an outlier.
    stay_leave_fixes: int = 2
    stay_leave_s: float = 60
    # A stop or stay inferred across fixes further apart than this says so in its evidence.
    stay_gap_s: float = 300
    # Extra (not in findings.md): two runs inside the same restricted zone separated by less
    # than this are one entry (GPS flapping across the boundary is not a second entry).
    zone_reentry_merge_s: float = 300


@dataclass
class FindingDraft:
    code: str
    severity: str  # info | warning | critical
    manifest_no: str | None
    plate: str | None
    window_start: datetime
    window_end: datetime
    location: tuple[float, float] | None  # (lon, lat)
    evidence: dict  # JSON-serialisable only
    verified: bool  # True only when every reading used came from verified devices
    episode_key: str  # stable identity of the episode


@dataclass(frozen=True)
class Stop:
    """The vehicle stayed within `stop_radius_m` of one point for `stop_min_seconds` (stops.py).

    lon/lat is the mean position of the stop's fixes within the radius (``fix_count`` of them);
    ``outliers`` fixes in between lay beyond it without the vehicle having left. ``max_gap_s``
    is the longest time between two consecutive fixes of the stop.
    """

    start: datetime
    end: datetime
    lon: float
    lat: float
    fix_count: int
    first_seq: int = 0
    last_seq: int = 0
    verified: bool = True
    outliers: int = 0
    max_gap_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()
