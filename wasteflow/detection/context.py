"""Everything the rules share about one trip, computed once (arrays, masks, windows).

Windows (findings.md, "Terms"):

* departure: the dispatch signature, or the vehicle leaving the generator site, whichever is
  first. "Leaving" is the first fix outside the generator geofence after a fix inside it; the
  exit that counts is the last one before the dispatch signature, provided the vehicle did
  not come back inside before signing (then it left after dispatch: departure = dispatch).
  Without a dispatch signature the first exit is the departure.
* trip window: departure -> receipt signature (or open-ended while under way). Only fixes and
  readings inside it are used.
* loaded window: departure -> the first fix inside the receiving site (exclusive), capped at
  the receipt signature. A fix inside both geofences (sites that overlap) is not an arrival.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import shapely

from .geo import LocalFrame, chord_m, covers_lonlat, derived, ecef, ecef_point, local_frame, representative_lonlat
from .model import FindingDraft, Thresholds, Trip
from .places import EMPTY_INDEX, PlaceIndex, for_trip
from .track import LoadSeries, Track, to_datetime

T = TypeVar("T")

FROM_TICKETS = frozenset({"TONNAGE_SURPLUS", "DECLARATION_MISMATCH", "ACCEPTANCE_MISMATCH", "MISSING_TICKET",
                          "NO_TRACK"})
"""Codes whose evidence is tickets and signatures, not the track: no gateway to name for them."""


@dataclass(frozen=True)
class Window:
    start: float  # epoch seconds, -inf when unknown
    end: float  # epoch seconds, +inf while open
    start_dt: datetime | None
    end_dt: datetime | None


def departure(trip: Trip, track: Track, in_gen: np.ndarray) -> tuple[float, datetime] | None:
    exits = np.nonzero(in_gen[:-1] & ~in_gen[1:])[0] + 1
    if trip.dispatched_at is None:
        if exits.size == 0:
            return None
        k = int(exits[0])
        return float(track.t[k]), track.fixes[k].ts
    signed = trip.dispatched_at.timestamp()
    before = exits[track.t[exits] <= signed]
    if before.size:
        k = int(before[-1])
        _, upto = track.index_range(-math.inf, signed)
        if not in_gen[k:upto].any():
            return float(track.t[k]), track.fixes[k].ts
    return signed, trip.dispatched_at


class TripContext:
    def __init__(self, trip: Trip, places: PlaceIndex | None, th: Thresholds):
        self.trip = trip
        self.th = th
        self._shared: dict[Callable[[TripContext], Any], Any] = {}
        self.places = for_trip(places if places is not None else EMPTY_INDEX, trip.regions)
        self.track = Track.from_fixes(trip.fixes)
        track = self.track
        self.in_gen = covers_lonlat(trip.generator_site.geometry, track.lon, track.lat)
        self.in_rec = covers_lonlat(trip.receiver_site.geometry, track.lon, track.lat)
        self.arrived_mask = self.in_rec & ~self.in_gen

        dep = departure(trip, track, self.in_gen)
        received = trip.received_at.timestamp() if trip.received_at is not None else math.inf
        if dep is None:
            start, start_dt = -math.inf, None
        else:
            start, start_dt = dep
        self.departed = dep is not None
        self.window = Window(start, received, start_dt, trip.received_at)
        self.w0, self.w1 = track.index_range(start, received)

        arrivals = np.nonzero(self.arrived_mask[self.w0 : self.w1])[0]
        if not self.departed:
            self.loaded = Window(start, start, None, None)
            self.l0 = self.l1 = self.w0
        elif arrivals.size:
            k = self.w0 + int(arrivals[0])
            self.loaded = Window(start, float(track.t[k]), start_dt, track.fixes[k].ts)
            self.l0, self.l1 = self.w0, k
        else:
            self.loaded = Window(start, received, start_dt, trip.received_at)
            self.l0, self.l1 = self.w0, self.w1

    # -- shared, lazily computed -------------------------------------------------------

    @cached_property
    def frame(self) -> LocalFrame:
        """Tangent plane centred between the generator and the receiver (stable per trip)."""
        g = representative_lonlat(self.trip.generator_site.geometry)
        r = representative_lonlat(self.trip.receiver_site.geometry)
        return local_frame((g[0] + r[0]) / 2, (g[1] + r[1]) / 2)

    @cached_property
    def loaded_xy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.frame.xy_from_ecef(self.track.xyz[self.l0 : self.l1])

    def site_distance_m(self, which: int, lon: float, lat: float, exact: bool = True) -> float:
        """Metres from a point to the generator (0) or receiver (1) geofence (0 inside).

        With exact=False a cheap lower bound is returned when the point is clearly far
        (more than 1 km beyond the geofence's bounding circle).
        """
        site = (self.trip.generator_site, self.trip.receiver_site)[which]
        p = ecef_point(lon, lat)
        if not exact:
            centre, radius = self._site_circle(which)
            bound = float(chord_m(p, centre)) - radius
            if bound > 1000.0:
                return bound
        x, y = self.frame.xy_from_ecef(p)
        if not np.isfinite(x):
            return float(chord_m(p, self._site_circle(which)[0]))
        return float(shapely.distance(self.frame.project_place(site.geometry), shapely.Point(float(x), float(y))))

    def _site_circle(self, which: int):
        site = (self.trip.generator_site, self.trip.receiver_site)[which]
        return derived(site.geometry, "circle", _bounding_circle)

    @cached_property
    def receiver_xy(self):
        return self.frame.project_place(self.trip.receiver_site.geometry)

    @cached_property
    def loaded_place_hits(self) -> tuple[np.ndarray, np.ndarray]:
        """(absolute fix index, place index) pairs for loaded fixes inside registered places."""
        sl = slice(self.l0, self.l1)
        pts, places = self.places.query(self.track.lon[sl], self.track.lat[sl])
        return pts + self.l0, places

    @cached_property
    def loads(self) -> LoadSeries:
        return LoadSeries.from_readings(self.trip.loads).between(self.window.start, self.window.end)

    def shared(self, compute: Callable[[TripContext], T]) -> T:
        """``compute(self)``, computed once per trip however many rules ask.

        The episode finders (:mod:`.episodes`) go through here: stops are raised by one rule
        and listed as a shortfall's candidates by another. Keyed by the function, so this
        module needs to know nothing of them (no import cycle).
        """
        if compute not in self._shared:
            self._shared[compute] = compute(self)
        return self._shared[compute]

    # -- helpers --------------------------------------------------------------------------

    def fix_ts(self, i: int) -> datetime:
        return self.track.fixes[i].ts

    def fix_lonlat(self, i: int) -> tuple[float, float]:
        return float(self.track.lon[i]), float(self.track.lat[i])

    def all_verified(self, first: int, last: int) -> bool:
        return bool(self.track.verified[first : last + 1].all())

    def draft(self, code, severity, start, end, location, evidence, verified, key) -> FindingDraft:
        via = self.gateways(start, end) if code not in FROM_TICKETS else []
        if via:  # readings that came through a gateway say so, beside "verified" (devices.md)
            evidence = {**evidence, "via": via}
        return FindingDraft(
            code=code,
            severity=severity,
            manifest_no=self.trip.manifest_no,
            plate=self.trip.plate,
            window_start=start,
            window_end=end,
            location=location,
            evidence=evidence,
            verified=bool(verified),
            episode_key=key,
        )

    def gateways(self, start: datetime | None, end: datetime | None) -> list[str]:
        """The gateways the fixes and load readings of [start, end] came through (most come through none)."""
        low = start.timestamp() if start is not None else -math.inf
        high = end.timestamp() if end is not None else math.inf
        i, j = self.track.index_range(low, high)
        names = {f.via for f in self.track.fixes[i:j] if f.via}
        names.update(r.via for r in self.loads.between(low, high).readings if r.via)
        return sorted(names)

    def now_dt(self) -> datetime | None:
        """The latest event time known (last fix or reading in the window)."""
        times = []
        if self.w1 > self.w0:
            times.append(float(self.track.t[self.w1 - 1]))
        if len(self.loads):
            times.append(float(self.loads.t[-1]))
        return to_datetime(max(times)) if times else None


def _bounding_circle(geometry) -> tuple[np.ndarray, float]:
    """ECEF centre and radius (m) of a circle around the geometry's lon/lat bounding box."""
    x0, y0, x1, y1 = shapely.bounds(geometry)
    corners = ecef([x0, x0, x1, x1], [y0, y1, y0, y1])
    centre = corners.mean(axis=0)
    return centre, float(chord_m(corners, centre).max())
