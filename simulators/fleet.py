"""The fleet simulator: a day of trucks, load cells and weighbridges, planned as timed events.

:func:`plan_day` turns (region, number of trips, seed, day) into a :class:`Plan`: every
truck's movements (keyframes of a piecewise-linear trajectory along the road network), the
GPS fixes its terminal takes every 10 s (jittered, ~15 m), the batches it uploads (every
minute, held back while in a tunnel or dead zone and then sent late as one batch), its load
cell's readings, both weighbridges' tickets, and the manifests' filing, dispatch and receipt
signatures -- all as :class:`Event` objects sorted by event time. Nothing here does I/O; the
runner (:mod:`simulators.runner`) plays the events. The same seed gives the same plan,
message for message.

What makes the trips realistic (and the detector's job non-trivial): roads with bends and
per-road speeds (25-70 km/h), red lights at junctions, a queue at the receiver's gate,
rest-area breaks, tunnels, weighbridge rounding to 20 kg and a small calibration error per
weighbridge, load-cell bias and noise, sludge losing up to 3 % water on the road.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from simulators import scenarios as sc
from simulators.region import Flow, Region, SiteSpec, VehicleSpec
from simulators.routes import (
    SPEED_KMH,
    Point,
    bendy,
    dist,
    distance_to_polyline,
    lerp,
    path_points,
    point_along,
    polyline_enters,
    polyline_length,
)

TZ = ZoneInfo("Asia/Shanghai")
FIX_INTERVAL_S = 10
STANDING_FIX_INTERVAL_S = 30  # terminals report less often once the truck has stood for a minute
GPS_UPLOAD_S = 120
LOAD_INTERVAL_S = 30
LOAD_UPLOAD_S = 300
JITTER_SIGMA_M = 11.0  # per axis: ~15 m radial
CORRIDOR_M = 500
SITE_KMH = 12.0

PRIO = {"file": 0, "publish": 1, "dispatch": 2, "receive": 3}


# --- small helpers ---------------------------------------------------------------------------

def iso(t: float) -> str:
    return datetime.fromtimestamp(round(t), TZ).isoformat()


def to_dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def round20(kg: float) -> int:
    return int(round(kg / 20.0)) * 20


@dataclass
class Vtx:
    p: Point
    kind: str = "urban"  # the road class of the segment that ends here
    junction: bool = False


def verts_of(points: list[Point], kind: str) -> list[Vtx]:
    return [Vtx(p, kind) for p in points]


def road_verts(region: Region, start: str, goal: str, via: str | None = None) -> list[Vtx]:
    steps = region.network.path(start, goal, via)
    out: list[Vtx] = []
    for road, rev in steps:
        pts = list(road.points[::-1] if rev else road.points)
        end_node = road.a if rev else road.b
        if not out:
            out.append(Vtx(pts[0], road.kind))
        for p in pts[1:-1]:
            out.append(Vtx(p, road.kind))
        out.append(Vtx(pts[-1], road.kind, junction=end_node.startswith("J")))
    return out


def vlength(verts: list[Vtx]) -> float:
    return polyline_length([v.p for v in verts])


def split_verts(verts: list[Vtx], s: float) -> tuple[list[Vtx], list[Vtx]]:
    head = [verts[0]]
    for i in range(1, len(verts)):
        d = dist(verts[i - 1].p, verts[i].p)
        if s <= d:
            cut = Vtx(lerp(verts[i - 1].p, verts[i].p, s / d) if d else verts[i].p, verts[i].kind)
            head.append(cut)
            return head, [cut] + verts[i:]
        head.append(verts[i])
        s -= d
    return verts, [verts[-1]]


def arclength_of_nearest(points: list[Point], q: Point) -> tuple[float, float]:
    """(arc length along the polyline of the point nearest q, that distance)."""
    best, best_s, s = math.inf, 0.0, 0.0
    for a, b in zip(points, points[1:], strict=False):
        d = dist(a, b)
        if d > 0:
            f = max(0.0, min(1.0, ((q[0] - a[0]) * (b[0] - a[0]) + (q[1] - a[1]) * (b[1] - a[1])) / (d * d)))
            c = lerp(a, b, f)
            dd = dist(c, q)
            if dd < best:
                best, best_s = dd, s + f * d
        s += d
    return best_s, best


# --- motion ----------------------------------------------------------------------------------

class Motion:
    """A piecewise-linear trajectory: keyframes (t, position); a repeated position is a stop."""

    def __init__(self, t: float, p: Point):
        self.ts = [t]
        self.ps = [p]

    @property
    def t(self) -> float:
        return self.ts[-1]

    @property
    def p(self) -> Point:
        return self.ps[-1]

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.ts.append(self.t + seconds)
            self.ps.append(self.p)

    def wait_until(self, t: float) -> None:
        self.wait(t - self.t)

    def go(self, q: Point, kmh: float) -> None:
        d = dist(self.p, q)
        if d < 0.5:
            return
        self.ts.append(self.t + d / (kmh / 3.6))
        self.ps.append(q)

    def drive(self, verts: list[Vtx], rng: random.Random, factor: float, lights: bool = True) -> None:
        for v in verts[1:]:
            lo, hi = SPEED_KMH.get(v.kind, (SITE_KMH, SITE_KMH))
            self.go(v.p, rng.uniform(lo, hi) * factor)
            if lights and v.junction and rng.random() < 0.35:
                self.wait(rng.uniform(15, 75))  # a red light

    def at(self, t: float) -> tuple[Point, float, float | None]:
        """(position, speed km/h, heading degrees or None when standing) at time t."""
        i = bisect.bisect_right(self.ts, t)
        if i <= 0:
            return self.ps[0], 0.0, None
        if i >= len(self.ts):
            return self.ps[-1], 0.0, None
        t0, t1 = self.ts[i - 1], self.ts[i]
        a, b = self.ps[i - 1], self.ps[i]
        if t1 <= t0 or a == b:
            return a, 0.0, None
        f = (t - t0) / (t1 - t0)
        d = dist(a, b)
        heading = (math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) + 360) % 360
        return lerp(a, b, f), d / (t1 - t0) * 3.6, heading


class LoadProfile:
    """The true load on the truck's bed over time (piecewise linear)."""

    def __init__(self, t: float):
        self.ts = [t]
        self.kg = [0.0]

    def set(self, t: float, kg: float) -> None:
        if t < self.ts[-1]:
            t = self.ts[-1]
        self.ts.append(t)
        self.kg.append(kg)

    def hold(self, t: float) -> None:
        self.set(t, self.kg[-1])

    def at(self, t: float) -> float:
        i = bisect.bisect_right(self.ts, t)
        if i <= 0:
            return self.kg[0]
        if i >= len(self.ts):
            return self.kg[-1]
        t0, t1 = self.ts[i - 1], self.ts[i]
        if t1 <= t0:
            return self.kg[i]
        return self.kg[i - 1] + (self.kg[i] - self.kg[i - 1]) * (t - t0) / (t1 - t0)


# --- the plan --------------------------------------------------------------------------------

@dataclass
class TicketPlan:
    site: str
    plate: str
    gross_kg: int
    tare_kg: int
    gross_at: float
    tare_at: float
    trip: str | None  # the manifest the weighbridge scanned (trip key), None for none
    ticket_no: str = ""

    @property
    def net_kg(self) -> int:
        return self.gross_kg - self.tare_kg

    @property
    def done_at(self) -> float:
        return max(self.gross_at, self.tare_at)


@dataclass
class TripPlan:
    key: str
    plate: str
    transporter: str
    flow: Flow
    scenario: sc.Scenario
    declared_kg: int
    route: list[Point]
    filed_at: float
    planned_departure: float
    planned_arrival: float
    dispatch_at: float
    receive_at: float | None
    departure_ticket: TicketPlan | None
    arrival_ticket: TicketPlan | None
    accepted_kg: int | None = None
    named_departure_ticket: str | None = None  # what the dispatch signature names
    truth: sc.GroundTruth | None = None
    notes: list[str] = field(default_factory=list)
    manifest_no: str | None = None  # filled in by the runner

    @property
    def generator(self) -> str:
        return self.flow.generator

    @property
    def receiver(self) -> str:
        return self.flow.receiver


@dataclass(order=True)
class Event:
    t: float
    prio: int
    n: int
    kind: str = field(compare=False)  # publish | file | dispatch | receive
    trip: str | None = field(compare=False, default=None)
    device_id: str | None = field(compare=False, default=None)
    channel: str | None = field(compare=False, default=None)  # gps | load | weigh
    payload: dict | None = field(compare=False, default=None)

    @property
    def topic(self) -> str:
        return f"wf/v1/dev/{self.device_id}/{self.channel}"


@dataclass
class TruckDay:
    vehicle: VehicleSpec
    motion: Motion
    load: LoadProfile
    on: list[tuple[float, float]]  # terminal (and load cell) powered
    gps_off: list[tuple[float, float]] = field(default_factory=list)
    spoofs: dict[float, Point] = field(default_factory=dict)  # fix time -> spoofed position


@dataclass
class Plan:
    region: Region
    seed: int
    day: date
    start: float  # epoch seconds of the first event
    end: float  # the end of the simulated day
    trips: list[TripPlan]
    events: list[Event]
    trucks: list[TruckDay]
    tickets: list[TicketPlan]

    @property
    def violations(self) -> list[TripPlan]:
        return [t for t in self.trips if t.scenario.is_violation]

    def trip(self, key: str) -> TripPlan:
        return self._by_key[key]

    def __post_init__(self):
        self._by_key = {t.key: t for t in self.trips}

    @property
    def message_count(self) -> int:
        return sum(1 for e in self.events if e.kind == "publish")


# --- route choices for the scenarios ---------------------------------------------------------

@dataclass
class RouteInfo:
    flow: Flow
    verts: list[Vtx]  # gate to gate, roads only
    planned: list[Point]  # the manifest's route: generator weighbridge to receiver yard
    junctions: list[str]


def route_info(region: Region, flow: Flow) -> RouteInfo:
    gen, rec = region.sites[flow.generator], region.sites[flow.receiver]
    steps = region.network.path(f"G:{gen.key}", f"G:{rec.key}")
    verts = road_verts(region, f"G:{gen.key}", f"G:{rec.key}")
    planned = [gen.scale] + path_points(steps) + [rec.scale, rec.yard]
    junctions = []
    node = f"G:{gen.key}"
    for road, rev in steps:
        node = road.a if rev else road.b
        junctions.append(node)
    return RouteInfo(flow, verts, planned, junctions)


def _far_from_places(region: Region, p: Point, margin: float) -> bool:
    for s in region.sites.values():
        if dist(p, s.center) < margin or dist(p, s.gate) < margin:
            return False
    for z in region.zones.values():
        if dist(p, z.center) < margin + 800:
            return False
    return all(dist(p, d.center) > d.radius_m + 600 for d in region.dead_zones)


def rest_area_on(region: Region, info: RouteInfo):
    for z in region.zones.values():
        if z.kind == "rest_area" and distance_to_polyline(z.center, [v.p for v in info.verts]) < 30:
            return z
    return None


def dump_spot(region: Region, info: RouteInfo) -> float | None:
    pts = [v.p for v in info.verts]
    total = polyline_length(pts)
    for f in (0.45, 0.35, 0.55, 0.3, 0.6, 0.25, 0.65):
        if _far_from_places(region, point_along(pts, total * f), 1400):
            return total * f
    return None


def detour_via(region: Region, info: RouteInfo) -> str | None:
    pts = [v.p for v in info.verts]
    best, best_len = None, math.inf
    base = polyline_length(pts)
    for name, p in region.network.nodes.items():
        if not name.startswith("J") or name in info.junctions:
            continue
        if distance_to_polyline(p, pts) < 2500:
            continue
        verts = road_verts(region, f"G:{info.flow.generator}", f"G:{info.flow.receiver}", via=name)
        vp = [v.p for v in verts]
        if any(z.kind == "restricted" and polyline_enters(vp, list(z.ring)) for z in region.zones.values()):
            continue
        extra = polyline_length(vp) - base
        if extra < best_len and extra < 16_000:
            best, best_len = name, extra
    return best


def shortcut(region: Region, info: RouteInfo) -> tuple[float, float, list[Point]] | None:
    """A track from the route across the restricted zone and back: (s_from, s_to, points)."""
    zone = next(z for z in region.zones.values() if z.kind == "restricted")
    pts = [v.p for v in info.verts]
    s_c, d = arclength_of_nearest(pts, zone.center)
    total = polyline_length(pts)
    if not 1_000 < d < 4_500 or s_c < 3_500 or s_c > total - 3_500:
        return None
    a, b = point_along(pts, s_c - 2_500), point_along(pts, s_c + 2_500)
    rng = random.Random(7)
    track = bendy(a, zone.center, rng, 1, 150) + bendy(zone.center, b, rng, 1, 150)[1:]
    for s in region.sites.values():
        if polyline_enters(track, list(s.ring)):
            return None
    return s_c - 2_500, s_c + 2_500, track


def diversion_site(region: Region, info: RouteInfo) -> SiteSpec | None:
    for j in info.junctions[1:-1]:
        for s in region.sites.values():
            if s.junction == j and s.key not in (info.flow.generator, info.flow.receiver) and s.kind != "parking":
                return s
    return None


def long_enough(info: RouteInfo, metres: float) -> bool:
    return vlength(info.verts) >= metres


QUALIFIES = {
    "dumping": lambda r, i: dump_spot(r, i) is not None,
    "diversion": lambda r, i: diversion_site(r, i) is not None,
    "detour": lambda r, i: detour_via(r, i) is not None,
    "restricted": lambda r, i: shortcut(r, i) is not None,
    "overdue": lambda r, i: rest_area_on(r, i) is not None,
    "gps_off": lambda r, i: long_enough(i, 9_000),
    "spoof": lambda r, i: long_enough(i, 6_000),
}


# --- the day ---------------------------------------------------------------------------------

def local_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()


def yesterday() -> date:
    return datetime.now(TZ).date() - timedelta(days=1)


def plan_day(region: Region, trips: int, seed: int, day: date | None = None,
             start_at: float | None = None, scenarios: tuple[sc.Scenario, ...] | None = None) -> Plan:
    """Plan ``trips`` manifests (one of each violation scenario, the rest clean).

    ``day`` is the local calendar day (default yesterday in Asia/Shanghai); ``start_at``
    (epoch seconds) instead anchors the day's midnight anywhere, for live runs.
    """
    day = day or yesterday()
    midnight = start_at if start_at is not None else local_midnight(day)
    rng = random.Random(f"plan:{seed}")
    infos = {f: route_info(region, f) for f in region.flows}
    violations = list(scenarios if scenarios is not None else sc.VIOLATIONS)[:max(0, trips - 1)]
    if trips <= len(violations):
        violations = violations[:max(0, trips - 1)]

    # Trucks: interleave the transporters so every one of them takes part.
    per = len(region.vehicles) // 3
    order = [region.vehicles[k * per + i] for i in range(per) for k in range(3)]
    n_trucks = min(len(order), max(len(violations) + 1, math.ceil(trips / 7.2)))
    trucks = order[:n_trucks]
    counts = [trips // n_trucks + (1 if i < trips % n_trucks else 0) for i in range(n_trucks)]
    # Violation trucks: the violation is their last trip; ghost and overdue trucks work short days.
    caps = {"overdue": 2, "ghost": 2}
    assigned: dict[str, sc.Scenario] = {}
    for i, scen in enumerate(violations):
        truck = trucks[n_trucks - 1 - i]
        assigned[truck.plate] = scen
        cap = caps.get(scen.name)
        idx = n_trucks - 1 - i
        if cap and counts[idx] > cap:
            spare = counts[idx] - cap
            counts[idx] = cap
            for j in range(spare):
                counts[j % max(1, n_trucks - len(violations))] += 1

    weights = [f.weight for f in region.flows]
    ticket_list: list[TicketPlan] = []
    trip_list: list[TripPlan] = []
    days: list[TruckDay] = []
    calib = {k: random.Random(f"calib:{k}").uniform(-0.0012, 0.0012) for k in region.sites}
    serial = 0
    for idx, (truck, count) in enumerate(zip(trucks, counts, strict=False)):
        trng = random.Random(f"truck:{seed}:{truck.plate}")
        scen = assigned.get(truck.plate)
        flows = [rng.choices(region.flows, weights)[0] for _ in range(count)]
        if scen is not None and count:
            pred = QUALIFIES.get(scen.name)
            candidates = [f for f in region.flows if pred is None or pred(region, infos[f])]
            if not candidates:
                raise RuntimeError(f"no route in the region suits scenario {scen.name}")
            flows[-1] = candidates[rng.randrange(len(candidates))]
            if scen.name == "reused_ticket" and count >= 2:
                # an earlier ticket from the same weighbridge is what gets reused
                same = [f for f in region.flows if f.generator == flows[-1].generator]
                flows[0] = same[rng.randrange(len(same))]
        sim = TruckSim(region, truck, trng, midnight, calib, infos)
        for k, flow in enumerate(flows):
            scenario = scen if (scen is not None and k == count - 1) else sc.CLEAN
            serial += 1
            trip = sim.trip(f"T{serial:04d}", flow, scenario)
            if trip is None:
                break
            trip_list.append(trip)
        sim.finish()
        days.append(sim.day)
        ticket_list += sim.tickets

    _number_tickets(ticket_list, region, midnight)
    _reuse_tickets(trip_list, ticket_list)
    for trip in trip_list:
        have = {e.code for e in trip.truth.expectations}
        trip.truth.expectations += [sc.Expectation(code) for code in trip.scenario.must if code not in have]
    trip_list.sort(key=lambda t: (t.filed_at, t.key))
    events = _events(region, days, ticket_list, trip_list, seed)
    start = events[0].t if events else midnight
    end = max(midnight + 86_400 - 1, (events[-1].t + 60) if events else 0)  # the last trips may finish after midnight
    return Plan(region=region, seed=seed, day=day, start=start, end=end, trips=trip_list,
                events=events, trucks=days, tickets=ticket_list)


def _number_tickets(tickets: list[TicketPlan], region: Region, midnight: float) -> None:
    ymd = datetime.fromtimestamp(midnight + 3600, TZ).strftime("%Y%m%d")
    counters: dict[str, int] = {}
    for t in sorted(tickets, key=lambda t: (t.done_at, t.site, t.plate)):
        counters[t.site] = counters.get(t.site, 0) + 1
        t.ticket_no = f"{region.sites[t.site].ticket_prefix}-{ymd}-{counters[t.site]:04d}"


def _reuse_tickets(trips: list[TripPlan], tickets: list[TicketPlan]) -> None:
    for trip in trips:
        if trip.departure_ticket is not None:
            trip.named_departure_ticket = trip.departure_ticket.ticket_no
        if trip.scenario.name != "reused_ticket":
            continue
        earlier = [t for t in tickets if t.site == trip.generator and t.trip and t.trip != trip.key
                   and t.done_at < trip.dispatch_at - 600]
        if earlier:
            old = max(earlier, key=lambda t: t.done_at)
            trip.named_departure_ticket = old.ticket_no
            trip.notes.append(f"dispatch names ticket {old.ticket_no}, weighed for trip {old.trip}")


class TruckSim:
    """Acts out one truck's day, trip after trip."""

    def __init__(self, region: Region, vehicle: VehicleSpec, rng: random.Random, midnight: float,
                 calib: dict[str, float], infos: dict[Flow, RouteInfo]):
        self.region = region
        self.v = vehicle
        self.rng = rng
        self.midnight = midnight
        self.calib = calib
        self.infos = infos
        depot = region.sites[vehicle.depot]
        self.node = f"G:{depot.key}"
        start = midnight + rng.uniform(4.0, 6.5) * 3600
        self.m = Motion(start, depot.yard)
        self.load = LoadProfile(start)
        self.factor = rng.uniform(0.92, 1.06)
        self.on_start = start - rng.uniform(60, 240)
        self.on_end: float | None = None
        self.day = TruckDay(vehicle, self.m, self.load, [])
        self.tickets: list[TicketPlan] = []
        self.fuel = rng.uniform(-60, 60)
        self.closed = False

    # -- helpers ----------------------------------------------------------------------------

    def _weigh(self, site: str, kg: float) -> int:
        return round20(kg * (1 + self.calib[site]))

    def _leave_site(self, site: SiteSpec) -> None:
        self.m.go(site.gate, SITE_KMH)

    def _enter_site(self, site: SiteSpec, to: Point) -> None:
        self.m.go(to, SITE_KMH)

    def _drive_to(self, node: str) -> None:
        if node == self.node:
            return
        self.m.drive(road_verts(self.region, self.node, node), self.rng, self.factor)
        self.node = node

    # -- a trip -----------------------------------------------------------------------------

    def trip(self, key: str, flow: Flow, scen: sc.Scenario) -> TripPlan | None:
        if self.closed:
            return None
        if self.m.t > self.midnight + 22.0 * 3600:
            return None  # too late in the day for another load
        r, rng = self.region, self.rng
        gen, rec = r.sites[flow.generator], r.sites[flow.receiver]
        info = self.infos[flow]
        truth = sc.GroundTruth(scen, key, self.v.plate)
        notes: list[str] = []

        if scen.name == "ghost":
            return self._ghost(key, flow, scen, truth)

        # -- to the generator, weigh empty, load, weigh loaded ------------------------------
        if self.node != f"G:{gen.key}":
            here = self.node
            if here.startswith("G:"):
                self._leave_site(r.sites[here[2:]])
            self._drive_to(f"G:{gen.key}")
        arrive = self.m.t
        filed_at = max(self.midnight + 120, arrive - rng.uniform(15, 45) * 60)
        self._enter_site(gen, gen.scale)
        reused = scen.name == "reused_ticket"
        tare_at = None
        if not reused:
            self.m.wait(rng.uniform(40, 70))
            tare_at = self.m.t
            self.m.wait(rng.uniform(25, 50))
        self.m.go(gen.yard, SITE_KMH)
        declared = int(min(self.v.max_load_kg - 500, flow.nominal_kg * rng.uniform(0.95, 1.05)) // 100 * 100)
        net = min(self.v.max_load_kg - 150, declared * rng.uniform(0.965, 1.035))
        skim = 0
        if scen.name == "skimming":
            skim = rng.uniform(1_700, 2_400)
            net = min(net, self.v.max_load_kg - skim - 200)
            declared = int((net + skim) // 100 * 100)
        self.load.set(self.m.t, self.load.at(self.m.t))
        self.m.wait(rng.uniform(60, 120))
        self.load.set(self.m.t, self.load.at(self.m.t))
        self.m.wait(rng.uniform(11, 20) * 60)
        self.load.set(self.m.t, net)
        self.m.wait(rng.uniform(20, 60))
        self.m.go(gen.scale, SITE_KMH)
        tare_true = self.v.tare_kg + self.fuel
        dep_ticket = None
        if not reused:
            self.m.wait(rng.uniform(40, 70))
            gross_at = self.m.t
            plate = self.v.plate
            if scen.name == "plate_swap":
                others = [v for v in r.vehicles if v.transporter == self.v.transporter and v.plate != self.v.plate]
                plate = others[rng.randrange(len(others))].plate
                notes.append(f"departure ticket weighed as {plate}")
            dep_ticket = TicketPlan(gen.key, plate, self._weigh(gen.key, tare_true + net + skim),
                                    self._weigh(gen.key, tare_true), gross_at, tare_at, key)
            self.tickets.append(dep_ticket)
            if scen.name == "plate_swap":
                truth.expectations.append(sc.Expectation("PLATE_MISMATCH", None, to_dt(min(gross_at, tare_at)),
                                                         "the departure ticket's weighing"))
        else:
            self.m.wait(rng.uniform(20, 40))
        self.m.wait(rng.uniform(30, 90))
        dispatch_at = self.m.t
        self.m.wait(rng.uniform(20, 60))
        planned_departure = dispatch_at - rng.uniform(0, 8) * 60
        est = vlength(info.verts) / (42 / 3.6) + 900
        planned_arrival = planned_departure + est * 1.25 + 15 * 60
        planned_departure = round(planned_departure / 300) * 300
        planned_arrival = math.ceil(planned_arrival / 300) * 300

        # -- the loaded leg -----------------------------------------------------------------
        self.m.go(gen.gate, SITE_KMH)
        leg = list(info.verts)
        gps_off_at = None
        if scen.name == "clean":
            rest = rest_area_on(r, info)
            if rest is not None and rng.random() < 0.4:
                s, _ = arclength_of_nearest([v.p for v in leg], rest.center)
                head, tail = split_verts(leg, s)
                self.m.drive(head, rng, self.factor)
                pull_in = (rest.center[0] + rng.uniform(-40, 40), rest.center[1] + 40 + rng.uniform(-15, 15))
                self.m.go(pull_in, 15)
                self.m.wait(rng.uniform(11, 22) * 60)
                self.m.go(tail[0].p, 15)
                leg = tail
                notes.append(f"rest-area break at {rest.name}")
            self.m.drive(leg, rng, self.factor)
        elif scen.name == "dumping":
            s = dump_spot(r, info)
            head, tail = split_verts(leg, s)
            self.m.drive(head, rng, self.factor)
            a, b = head[-2].p, head[-1].p
            n = dist(a, b) or 1.0
            spot = (b[0] - (b[1] - a[1]) / n * 25, b[1] + (b[0] - a[0]) / n * 25)
            self.m.go(spot, 20)
            stop_at = self.m.t
            self.m.wait(rng.uniform(150, 210))
            drop_at = self.m.t
            self.load.hold(drop_at)
            dumped = net * rng.uniform(0.35, 0.5)
            self.m.wait(rng.uniform(150, 200))
            self.load.set(self.m.t, net - dumped)
            self.m.wait(rng.uniform(8, 10) * 60)
            self.load.hold(self.m.t)
            self.m.go(tail[0].p, 20)
            self.m.drive(tail, rng, self.factor)
            where = r.frame.lonlat(spot)
            truth.expectations += [
                sc.Expectation("UNAUTHORIZED_STOP", where, to_dt(stop_at), "the roadside stop"),
                sc.Expectation("LOAD_DROP", where, to_dt(drop_at), "where the load was tipped"),
                sc.Expectation("TONNAGE_SHORTFALL", where, None, "located at the load drop"),
            ]
            notes.append(f"tipped {dumped:,.0f} kg at the roadside")
        elif scen.name == "diversion":
            other = diversion_site(r, info)
            to_other = road_verts(r, f"G:{gen.key}", f"G:{other.key}")
            self.m.drive(to_other, rng, self.factor)
            entered = self.m.t
            self.m.go(other.scale, SITE_KMH)
            self.m.go(other.yard, SITE_KMH)
            self.m.wait(rng.uniform(180, 240))
            self.load.hold(self.m.t)
            dumped = net * rng.uniform(0.4, 0.6)
            self.m.wait(rng.uniform(360, 480))
            self.load.set(self.m.t, net - dumped)
            self.m.wait(rng.uniform(400, 600))
            self.load.hold(self.m.t)
            self.m.go(other.scale, SITE_KMH)
            self.m.go(other.gate, SITE_KMH)
            left = self.m.t
            self.m.drive(road_verts(r, f"G:{other.key}", f"G:{rec.key}"), rng, self.factor)
            inside = [self.m.at(t)[0] for t in _grid(entered, left, FIX_INTERVAL_S)
                      if other.contains(self.m.at(t)[0])]
            mean = (sum(p[0] for p in inside) / len(inside), sum(p[1] for p in inside) / len(inside))
            truth.expectations.append(sc.Expectation("DIVERSION", r.frame.lonlat(mean), to_dt(entered),
                                                     f"inside {other.name}"))
            notes.append(f"unloaded {dumped:,.0f} kg at {other.name}")
        elif scen.name == "detour":
            via = detour_via(r, info)
            self.m.drive(road_verts(r, f"G:{gen.key}", f"G:{rec.key}", via=via), rng, self.factor)
            notes.append(f"detour through junction {via}")
        elif scen.name == "restricted":
            s_from, s_to, track = shortcut(r, info)
            head, rest_part = split_verts(leg, s_from)
            _, tail = split_verts(leg, s_to)
            self.m.drive(head, rng, self.factor)
            self.m.drive(verts_of(track, "track"), rng, self.factor, lights=False)
            self.m.drive(tail, rng, self.factor)
        elif scen.name == "overdue":
            zone = rest_area_on(r, info)
            s, _ = arclength_of_nearest([v.p for v in leg], zone.center)
            head, _ = split_verts(leg, s)
            self.m.drive(head, rng, self.factor)
            self.m.go((zone.center[0] + 30, zone.center[1] + 45), 15)
            self.m.wait(20 * 60)
            self.on_end = self.m.t
            self.closed = True
            truth.expectations.append(sc.Expectation(
                "OVERDUE", None, to_dt(planned_arrival + 7200), "planned arrival + 2 h"))
            notes.append(f"parked at {zone.name}, terminal off, never delivered")
        else:  # skimming, gps_off, spoof, plate_swap, reused_ticket: the truck drives the route
            if scen.name == "gps_off":
                gps_off_at = dispatch_at + rng.uniform(9, 12) * 60
            self.m.drive(leg, rng, self.factor)

        if scen.name == "gps_off":
            off_end = gps_off_at + rng.uniform(17, 21) * 60
            self.day.gps_off.append((gps_off_at, off_end))
            last = _last_fix_before(self, gps_off_at)
            truth.expectations.append(sc.Expectation("GPS_GAP", r.frame.lonlat(self.m.at(last)[0]), to_dt(last),
                                                     "the last fix before the terminal went quiet"))
            notes.append(f"terminal off for {(off_end - gps_off_at) / 60:.0f} min")
        if scen.name == "spoof":
            t_s = _fix_after(self, dispatch_at + rng.uniform(9, 13) * 60)
            true_p = self.m.at(t_s)[0]
            fake = next(q for q in ((true_p[0] + dx, true_p[1] + dy) for dx, dy in
                                    ((15_500, 14_000), (-15_500, 14_000), (15_500, -14_000), (-15_500, -14_000)))
                        if min(dist(q, s.center) for s in r.sites.values()) > 3_000
                        and min(dist(q, z.center) for z in r.zones.values()) > 4_000)
            self.day.spoofs[t_s] = fake
            truth.expectations.append(sc.Expectation("IMPOSSIBLE_JUMP", r.frame.lonlat(fake),
                                                     to_dt(t_s - FIX_INTERVAL_S), "the spoofed fix"))
        if scen.name == "detour":
            _first_beyond(self, truth, info, dispatch_at, sc.Expectation("ROUTE_DEVIATION"))
        if scen.name == "restricted":
            zone = next(z for z in r.zones.values() if z.kind == "restricted")
            t_in = next(t for t in _fix_grid(self, dispatch_at, self.m.t) if zone.contains(self.m.at(t)[0]))
            truth.expectations.append(sc.Expectation("RESTRICTED_ZONE_ENTRY", r.frame.lonlat(self.m.at(t_in)[0]),
                                                     to_dt(t_in), "the first fix inside the zone"))

        if scen.name == "overdue":
            return TripPlan(key, self.v.plate, self.v.transporter, flow, scen, declared, info.planned, filed_at,
                            planned_departure, planned_arrival, dispatch_at, None, dep_ticket, None, None,
                            truth=truth, notes=notes)

        # -- the receiver: queue, weigh in, unload, weigh out, sign -------------------------
        self.node = f"G:{rec.key}"
        if rng.random() < 0.45:
            back = _towards(rec.gate, r.network.nodes[rec.junction], 45)
            # the queue stands just outside the gate
            self.m.go(back, 10)
            self.m.wait(rng.uniform(2, 11) * 60)
            self.m.go(rec.gate, 8)
        if flow.waste_code == "SW07":
            self.load.set(self.m.t, self.load.at(self.m.t) * (1 - rng.uniform(0.012, 0.03)))  # water drained on the road
        self._enter_site(rec, rec.scale)
        self.m.wait(rng.uniform(40, 70))
        arr_gross_at = self.m.t
        load_in = self.load.at(arr_gross_at)
        self.load.hold(arr_gross_at)
        self.m.wait(rng.uniform(20, 40))
        self.m.go(rec.yard, SITE_KMH)
        self.m.wait(rng.uniform(40, 80))
        self.load.hold(self.m.t)
        self.m.wait(rng.uniform(6, 10) * 60)
        residual = rng.uniform(30, 120)
        self.load.set(self.m.t, residual)
        self.m.wait(rng.uniform(40, 90))
        self.m.go(rec.scale, SITE_KMH)
        self.m.wait(rng.uniform(40, 70))
        arr_tare_at = self.m.t
        self.fuel -= rng.uniform(5, 25)
        tare_now = self.v.tare_kg + self.fuel
        arr_ticket = TicketPlan(rec.key, self.v.plate, self._weigh(rec.key, tare_now + load_in),
                                self._weigh(rec.key, tare_now + residual), arr_gross_at, arr_tare_at, key)
        self.tickets.append(arr_ticket)
        receive_at = self.m.t + rng.uniform(60, 150)
        self.m.wait_until(receive_at + rng.uniform(20, 60))
        self.load.set(self.m.t, residual)
        self.m.go(rec.gate, SITE_KMH)
        self.load.hold(self.m.t)
        self.load.set(self.m.t + 1, 0.0)  # the residual is swept out at the gate
        accepted = arr_ticket.net_kg
        return TripPlan(key, self.v.plate, self.v.transporter, flow, scen, declared, info.planned, filed_at,
                        planned_departure, planned_arrival, dispatch_at, receive_at, dep_ticket, arr_ticket,
                        accepted, truth=truth, notes=notes)

    def _ghost(self, key: str, flow: Flow, scen: sc.Scenario, truth: sc.GroundTruth) -> TripPlan:
        """Paper only: the truck goes home, its terminal off; tickets and signatures follow."""
        r, rng = self.region, self.rng
        if self.node != f"G:{self.v.depot}":
            here = self.node
            if here.startswith("G:"):
                self._leave_site(r.sites[here[2:]])
            self._drive_to(f"G:{self.v.depot}")
            self.m.go(r.sites[self.v.depot].yard, SITE_KMH)
        self.on_end = self.m.t + 120
        self.closed = True
        t = self.m.t + rng.uniform(70, 110) * 60
        gen, rec = r.sites[flow.generator], r.sites[flow.receiver]
        declared = int(flow.nominal_kg * rng.uniform(0.97, 1.03) // 100 * 100)
        net = declared * rng.uniform(0.98, 1.02)
        tare = self.v.tare_kg + self.fuel
        filed_at = t - 30 * 60
        dep = TicketPlan(gen.key, self.v.plate, self._weigh(gen.key, tare + net), self._weigh(gen.key, tare),
                         t + 25 * 60, t, key)
        dispatch_at = dep.gross_at + rng.uniform(120, 240)
        travel = vlength(self.infos[flow].verts) / (45 / 3.6)
        arr_gross = dispatch_at + travel + 300
        arr = TicketPlan(rec.key, self.v.plate, self._weigh(rec.key, tare + net), self._weigh(rec.key, tare + 60),
                         arr_gross, arr_gross + 11 * 60, key)
        receive_at = arr.tare_at + rng.uniform(60, 150)
        self.tickets += [dep, arr]
        planned_departure = round(dispatch_at / 300) * 300
        planned_arrival = math.ceil((planned_departure + travel * 1.3 + 900) / 300) * 300
        truth.expectations.append(sc.Expectation("NO_TRACK", None, None, "no fix between dispatch and receipt"))
        return TripPlan(key, self.v.plate, self.v.transporter, flow, scen, declared, self.infos[flow].planned,
                        filed_at, planned_departure, planned_arrival, dispatch_at, receive_at, dep, arr,
                        arr.net_kg, truth=truth, notes=["the truck stood in its depot, terminal off"])

    def finish(self) -> None:
        r = self.region
        if not self.closed:
            here = self.node
            if here.startswith("G:"):
                self._leave_site(r.sites[here[2:]])
            self._drive_to(f"G:{self.v.depot}")
            self.m.go(r.sites[self.v.depot].yard, SITE_KMH)
            self.on_end = self.m.t + self.rng.uniform(60, 180)
        self.day.on = [(self.on_start, self.on_end if self.on_end is not None else self.m.t)]


def _towards(a: Point, b: Point, metres: float) -> Point:
    d = dist(a, b) or 1.0
    return (a[0] + (b[0] - a[0]) / d * metres, a[1] + (b[1] - a[1]) / d * metres)


def _phase(sim: TruckSim) -> float:
    return sim.on_start


def _fix_grid(sim: TruckSim, t0: float, t1: float) -> list[float]:
    """The terminal's fix times in [t0, t1] (a 10 s grid anchored on its power-on)."""
    base = math.ceil(sim.on_start)
    k0 = max(0, math.ceil((t0 - base) / FIX_INTERVAL_S))
    out = []
    t = base + k0 * FIX_INTERVAL_S
    while t <= t1:
        out.append(float(t))
        t += FIX_INTERVAL_S
    return out


def _grid(t0: float, t1: float, step: float) -> list[float]:
    n = int((t1 - t0) // step)
    return [t0 + k * step for k in range(n + 1)]


def _last_fix_before(sim: TruckSim, t: float) -> float:
    return _fix_grid(sim, t - 3 * FIX_INTERVAL_S, t)[-1]


def _fix_after(sim: TruckSim, t: float) -> float:
    return _fix_grid(sim, t, t + 2 * FIX_INTERVAL_S)[0]


def _first_beyond(sim: TruckSim, truth: sc.GroundTruth, info: RouteInfo, t0: float, exp: sc.Expectation) -> None:
    for t in _fix_grid(sim, t0, sim.m.t):
        p = sim.m.at(t)[0]
        if distance_to_polyline(p, info.planned) > CORRIDOR_M:
            exp.location, exp.at, exp.note = sim.region.frame.lonlat(p), to_dt(t), "the first fix out of the corridor"
            truth.expectations.append(exp)
            return


# --- devices: fixes, load readings, tickets, as messages -------------------------------------

def _in_dead_zone(region: Region, p: Point) -> bool:
    return any(d.contains(p) for d in region.dead_zones)


def _uploads(region: Region, motion: Motion, samples: list[tuple[float, dict]], every: float, phase: float,
             end: float) -> list[tuple[float, list[dict]]]:
    """Group readings into the uploads that carry them: every ``every`` s, none while in a dead zone."""
    out: list[tuple[float, list[dict]]] = []
    pending: list[dict] = []
    tick = phase
    i = 0
    while i < len(samples) or pending:
        if i < len(samples) and not pending:
            tick = max(tick, phase + math.ceil((samples[i][0] - phase) / every) * every)
        while i < len(samples) and samples[i][0] <= tick:
            pending.append(samples[i][1])
            i += 1
        last = i >= len(samples)
        if pending and (not _in_dead_zone(region, motion.at(tick)[0]) or (last and tick >= end)):
            out.append((tick, pending))
            pending = []
        tick += every
    return out


def _device_events(region: Region, day: TruckDay, seed: int) -> list[tuple[float, str, str, dict]]:
    v = day.vehicle
    rng = random.Random(f"devices:{seed}:{v.plate}")
    frame = region.frame
    out = []
    for on0, on1 in day.on:
        # GPS
        fixes = []
        base = math.ceil(on0)
        t = float(base)
        heading = rng.uniform(0, 359)
        while t <= on1:
            standing = (int(t - base) % STANDING_FIX_INTERVAL_S != 0 and day.motion.at(t)[1] == 0
                        and day.motion.at(t - 60)[1] == 0 and day.motion.at(t - 30)[1] == 0
                        and day.motion.at(t + FIX_INTERVAL_S)[1] == 0)
            if not standing and not any(a <= t < b for a, b in day.gps_off):
                p, kmh, hd = day.motion.at(t)
                if t in day.spoofs:
                    lon, lat = frame.lonlat(day.spoofs[t])
                    speed = round(kmh, 1)
                else:
                    lon, lat = frame.lonlat((p[0] + rng.gauss(0, JITTER_SIGMA_M), p[1] + rng.gauss(0, JITTER_SIGMA_M)))
                    speed = round(max(0.0, kmh + rng.gauss(0, 1.5)) if kmh > 0 else abs(rng.gauss(0, 0.4)), 1)
                if hd is not None:
                    heading = hd
                fixes.append((t, {"ts": iso(t), "lat": lat, "lon": lon, "speed_kmh": speed,
                                  "heading": int(round(heading)) % 360, "hdop": round(rng.uniform(0.6, 1.6), 1)}))
            t += FIX_INTERVAL_S
        # load cell: bias of a few %, noise ~0.5 %, 10 kg resolution
        bias = rng.uniform(-0.025, 0.025)
        loads = []
        t = float(base + rng.randrange(0, LOAD_INTERVAL_S))
        while t <= on1:
            true = day.load.at(t)
            kg = max(0, int(round((true * (1 + bias) + rng.gauss(0, 60 + 0.004 * true)) / 10)) * 10)
            loads.append((t, {"ts": iso(t), "load_kg": kg}))
            t += LOAD_INTERVAL_S
        for channel, device, samples, every in (("gps", v.gps_id, fixes, GPS_UPLOAD_S),
                                                ("load", v.load_id, loads, LOAD_UPLOAD_S)):
            phase = base + rng.uniform(1, every - 1)
            for tick, batch in _uploads(region, day.motion, samples, every, phase, on1):
                out.append((tick + rng.uniform(0.2, 2.5), device, channel, {"batch": batch}))
    # the device's own counter follows event time (not upload order)
    result = sorted(out, key=lambda e: e[0])
    by_device: dict[str, list[dict]] = {}
    for _, device, _, payload in result:
        by_device.setdefault(device, []).extend(payload["batch"])
    for items in by_device.values():
        for n, item in enumerate(sorted(items, key=lambda x: x["ts"]), 1):
            item["seq"] = n
    return result


def _events(region: Region, days: list[TruckDay], tickets: list[TicketPlan], trips: list[TripPlan],
            seed: int) -> list[Event]:
    events: list[Event] = []
    n = 0
    for day in days:
        for t, device, channel, payload in _device_events(region, day, seed):
            n += 1
            events.append(Event(t, PRIO["publish"], n, "publish", device_id=device, channel=channel, payload=payload))
    seqs: dict[str, int] = {}
    for ticket in sorted(tickets, key=lambda t: (t.done_at, t.site, t.plate)):
        site = region.sites[ticket.site]
        seqs[site.key] = seqs.get(site.key, 0) + 1
        payload = {"seq": seqs[site.key], "ts": iso(ticket.done_at), "ticket_no": ticket.ticket_no,
                   "plate": ticket.plate, "gross_kg": ticket.gross_kg, "tare_kg": ticket.tare_kg,
                   "net_kg": ticket.net_kg, "gross_at": iso(ticket.gross_at), "tare_at": iso(ticket.tare_at)}
        if ticket.trip:
            payload["manifest_no"] = f"@trip:{ticket.trip}"
        n += 1
        events.append(Event(ticket.done_at + 15, PRIO["publish"], n, "publish", trip=ticket.trip,
                            device_id=site.weighbridge_id, channel="weigh", payload=payload))
    for trip in trips:
        for kind, t in (("file", trip.filed_at), ("dispatch", trip.dispatch_at), ("receive", trip.receive_at)):
            if t is not None:
                n += 1
                events.append(Event(t, PRIO[kind], n, kind, trip=trip.key))
    events.sort()
    return events
