"""Small builders for detection tests: geography, tracks with noise, trips."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyproj
import shapely

from wasteflow.detection import Fix, LoadReading, Place, PlaceIndex, Ticket, Trip

GEOD = pyproj.Geod(ellps="WGS84")
T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def move(lon: float, lat: float, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    """The point east_m / north_m metres (geodesic) from (lon, lat)."""
    dist = math.hypot(east_m, north_m)
    if dist == 0:
        return lon, lat
    az = math.degrees(math.atan2(east_m, north_m))
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, dist)
    return lon2, lat2


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def square(centre: tuple[float, float], half_m: float) -> shapely.Polygon:
    lon, lat = centre
    sw = move(lon, lat, -half_m, -half_m)
    ne = move(lon, lat, half_m, half_m)
    return shapely.box(sw[0], sw[1], ne[0], ne[1])


# -- geography used by most tests (Baotou-ish) ------------------------------------------

GEN_C = (109.80, 40.60)
WAY_C = (109.95, 40.68)
REC_C = (110.15, 40.62)
ROUTE = shapely.LineString([GEN_C, WAY_C, REC_C])
TRANSPORTER = 7

GENERATOR = Place(1, "Steel plant", "plant", square(GEN_C, 300), enterprise_id=1)
RECEIVER = Place(2, "Slag utilisation", "utilisation", square(REC_C, 300), enterprise_id=2)
REST_C = move(*ROUTE.interpolate(0.5, normalized=True).coords[0], 0, 0)
REST_AREA = Place(10, "Rest area G6", "rest_area", square(REST_C, 250), is_zone=True)
# An unregistered-use landfill 3 km off the route, a restricted zone 3 km the other side.
OTHER_C = move(*ROUTE.interpolate(0.3, normalized=True).coords[0], 0, -3000)
OTHER_SITE = Place(3, "Other landfill", "landfill", square(OTHER_C, 300), enterprise_id=3)
RESTRICTED_C = move(*ROUTE.interpolate(0.7, normalized=True).coords[0], 0, 3000)
RESTRICTED = Place(11, "Water source", "restricted", square(RESTRICTED_C, 500), is_zone=True)
OWN_PARKING_C = move(*ROUTE.interpolate(0.2, normalized=True).coords[0], 0, 1500)
OWN_PARKING = Place(4, "Transporter yard", "parking", square(OWN_PARKING_C, 200), enterprise_id=TRANSPORTER)
FOREIGN_PARKING_C = move(*ROUTE.interpolate(0.2, normalized=True).coords[0], 0, -1500)
FOREIGN_PARKING = Place(5, "Someone's yard", "parking", square(FOREIGN_PARKING_C, 200), enterprise_id=99)

ALL_PLACES = [GENERATOR, RECEIVER, REST_AREA, OTHER_SITE, RESTRICTED, OWN_PARKING, FOREIGN_PARKING]
PLACES = PlaceIndex(ALL_PLACES)


def random_places(n_sites: int = 1000, n_zones: int = 100, seed: int = 3) -> list[Place]:
    """Background clutter: small sites and zones scattered over ~100 x 100 km."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_sites + n_zones):
        c = (109.4 + rng.random() * 1.2, 40.2 + rng.random() * 0.9)
        zone = i >= n_sites
        kind = ("rest_area", "restricted")[i % 2] if zone else ("plant", "storage", "landfill", "parking")[i % 4]
        out.append(Place(1000 + i, f"p{i}", kind, square(c, 50 + rng.random() * 200),
                         enterprise_id=None if zone else 500 + i, is_zone=zone))
    return out


# -- tracks ------------------------------------------------------------------------------


class TrackBuilder:
    """Emits fixes every `interval_s` while driving or waiting, with seeded GPS noise.

    noise: gaussian sigma `sigma_m` per axis, and with probability `spike_p` an extra 30 m
    in a random direction ("occasional 30 m").
    """

    def __init__(self, start: tuple[float, float], t: float = 0.0, interval_s: float = 30.0,
                 sigma_m: float = 0.0, spike_p: float = 0.0, seed: int = 1, device_id: str = "gps-1"):
        self.pos = start
        self.t = t
        self.interval_s = interval_s
        self.sigma_m = sigma_m
        self.spike_p = spike_p
        self.rng = np.random.default_rng(seed)
        self.device_id = device_id
        self.fixes: list[Fix] = []
        self.seq = 0
        self.marks: dict[str, tuple[float, tuple[float, float]]] = {}

    def _noisy(self, p):
        if self.sigma_m == 0 and self.spike_p == 0:
            return p
        e, n = self.rng.normal(0, self.sigma_m, 2) if self.sigma_m else (0.0, 0.0)
        if self.rng.random() < self.spike_p:
            a = self.rng.random() * 2 * math.pi
            e, n = e + 30 * math.cos(a), n + 30 * math.sin(a)
        return move(p[0], p[1], e, n)

    def emit(self, p=None, verified: bool = True, speed: float | None = None):
        p = self.pos if p is None else p
        lon, lat = self._noisy(p)
        self.seq += 1
        self.fixes.append(Fix(at(self.t), lon, lat, self.seq, self.device_id, verified, speed))
        return self

    def mark(self, name: str):
        self.marks[name] = (self.t, self.pos)
        return self

    def wait(self, seconds: float):
        """Stay put, one fix per interval (the first one `interval_s` from now)."""
        end = self.t + seconds
        while self.t + self.interval_s <= end + 1e-9:
            self.t += self.interval_s
            self.emit()
        self.t = end
        return self

    def drive_to(self, dest: tuple[float, float], kmh: float):
        dist = distance_m(self.pos, dest)
        if dist == 0:
            return self
        az = GEOD.inv(self.pos[0], self.pos[1], dest[0], dest[1])[0]
        start = self.pos
        step = kmh / 3.6 * self.interval_s
        travelled = 0.0
        while travelled + step < dist - 0.5:
            travelled += step
            self.t += self.interval_s
            self.pos = GEOD.fwd(start[0], start[1], az, travelled)[:2]
            self.emit(speed=kmh)
        self.t += (dist - travelled) / (kmh / 3.6)
        self.pos = dest
        self.emit(speed=kmh)
        return self

    def drive_along(self, line: shapely.LineString, kmh: float, start_frac: float = 0.0,
                    end_frac: float = 1.0, red_lights: int = 0, red_light_s: float = 90):
        """Drive along the vertices of `line` between two fractions of its length."""
        pts = _sub_line(line, start_frac, end_frac)
        lights = set(np.linspace(1, len(pts) - 1, red_lights + 2)[1:-1].astype(int)) if red_lights else set()
        for i, p in enumerate(pts):
            self.drive_to(p, kmh)
            if i in lights:
                self.wait(red_light_s)
        return self

    def jump(self, dest: tuple[float, float], seconds: float):
        self.t += seconds
        self.pos = dest
        return self.emit()

    def drop_between(self, t_start: float, t_end: float) -> list[Fix]:
        """Remove and return the fixes with t_start < t < t_end (a tunnel's buffered fixes)."""
        lo, hi = at(t_start), at(t_end)
        kept, gone = [], []
        for f in self.fixes:
            (gone if lo < f.ts < hi else kept).append(f)
        self.fixes = kept
        return gone


def _sub_line(line: shapely.LineString, a: float, b: float) -> list[tuple[float, float]]:
    """Points along the line from fraction a to b, dense (every ~500 m of degrees-length)."""
    n = max(2, int(line.length * abs(b - a) / 0.005))
    fr = np.linspace(a, b, n)
    return [line.interpolate(f, normalized=True).coords[0] for f in fr]


def route_point(frac: float) -> tuple[float, float]:
    return ROUTE.interpolate(frac, normalized=True).coords[0]


def ticket(no: str, site: int, net: int, when: float, verified: bool = True) -> Ticket:
    tare = 15000
    return Ticket(no, site, "蒙B12345", tare + net, tare, net, at(when), at(when + 300), verified)


def make_trip(fixes=(), loads=(), **kw) -> Trip:
    defaults = dict(
        manifest_no="WF-150200-20261123-000042", plate="蒙B12345", waste_code="SW03",
        declared_kg=24000, generator_site=GENERATOR, receiver_site=RECEIVER,
        transporter_id=TRANSPORTER, dispatched_at=at(0), route=ROUTE,
        fixes=tuple(fixes), loads=tuple(loads),
    )
    defaults.update(kw)
    return Trip(**defaults)


def load_series(values_by_time: list[tuple[float, int]], device_id: str = "lc-1", verified: bool = True):
    return [LoadReading(at(t), kg, i + 1, device_id, verified) for i, (t, kg) in enumerate(values_by_time)]


def steady_loads(t_from: float, t_to: float, kg: int, every: float = 60, noise: float = 0,
                 seed: int = 2) -> list[tuple[float, int]]:
    rng = np.random.default_rng(seed)
    return [(t, int(round(kg + (rng.normal(0, noise) if noise else 0))))
            for t in np.arange(t_from, t_to + 1e-9, every)]


def replace(trip: Trip, **kw) -> Trip:
    return dataclasses.replace(trip, **kw)


def codes(drafts) -> list[str]:
    return sorted(d.code for d in drafts)


def above_info(drafts):
    return [d for d in drafts if d.severity != "info"]


# -- a realistic clean trip ----------------------------------------------------------------

GATE_QUEUE = move(*REC_C, -450, 0)  # 150 m outside the receiver's west fence


@dataclasses.dataclass
class Scenario:
    builder: TrackBuilder
    tunnel: list[Fix]
    loads: list[tuple[float, int]]
    arrived_t: float
    received_t: float

    def trip(self, with_tunnel: bool = True, **kw) -> Trip:
        fixes = self.builder.fixes + (self.tunnel if with_tunnel else [])
        loads = load_series(self.loads)
        defaults = dict(
            received_at=at(self.received_t), accepted_kg=23960,
            departure_ticket=ticket("G-1", GENERATOR.id, 24000, -400),
            arrival_ticket=ticket("R-1", RECEIVER.id, 23960, self.arrived_t + 60),
        )
        defaults.update(kw)
        fixes = defaults.pop("fixes", fixes)
        loads = defaults.pop("loads", loads)
        return make_trip(fixes, loads, **defaults)


def drive_route(b: TrackBuilder, a: float, z: float, kmh: float, events=None) -> None:
    """Drive along ROUTE from fraction a to z, calling events[f](builder) on reaching f."""
    stops = sorted(f for f in (events or {}) if a < f < z)
    for lo, hi in zip([a] + stops, stops + [z], strict=False):
        b.drive_along(ROUTE, kmh, lo, hi)
        if hi in (events or {}) and hi != z:
            events[hi](b)


def clean_scenario(seed: int = 1, sigma_m: float = 15, spike_p: float = 0.05,
                   load_kg: int = 24000, events=None, interval_s: float = 30,
                   gate_queue: bool = True, enter_receiver: bool = True) -> Scenario:
    """Generator (loading, dispatch at t=0) -> two red lights -> 30 min in the rest area ->
    a tunnel whose 8 minutes of fixes arrive late -> 15 min queue at the receiver's gate ->
    unloading inside the receiver -> receipt.

    events maps route fractions (not 0.45-0.5, the rest area) to callables run there with
    the builder, to inject violations.
    """
    b = TrackBuilder(GEN_C, t=-600, sigma_m=sigma_m, spike_p=spike_p, seed=seed, interval_s=interval_s)
    b.emit().wait(600)
    b.drive_along(ROUTE, 50, 0.0, 0.05, red_lights=2, red_light_s=90)
    drive_route(b, 0.05, 0.45, 50, events)
    b.drive_to(REST_C, 30).wait(1800)
    drive_route(b, 0.5, 0.8, 60, events)
    tunnel_start = b.t
    drive_route(b, 0.8, 0.9, 60, events)
    tunnel = b.drop_between(tunnel_start, tunnel_start + 480)
    drive_route(b, 0.9, 0.97, 50, events)
    if gate_queue:
        b.drive_to(GATE_QUEUE, 30).wait(900)
    arrived = b.t
    if enter_receiver:
        b.drive_to(REC_C, 15)
        arrived = b.t
        b.wait(1200)
    received = b.t
    loads = steady_loads(0, arrived, load_kg, noise=40, seed=seed)
    loads += [(arrived + 300, 9000), (arrived + 360, 200), (arrived + 420, 180)]
    return Scenario(b, tunnel, loads, arrived, received)
