"""One truck's day, trip after trip, and the hooks through which a scenario changes a trip.

:class:`TruckSim` acts out the ordinary trip: drive empty to the generator, weigh empty,
load, weigh loaded, dispatch, drive the planned route, perhaps queue at the receiver's
gate, weigh in, unload, weigh out, receipt. A :class:`Script` says what a scenario does
differently -- each of its hooks defaults to the ordinary behaviour -- and the scenario
library (:mod:`simulators.scenarios`) is a table of scripts. While a trip is acted out its
state is a :class:`Trip`, which is what a script's functions read and change.

The order of the random draws is part of the contract: the same seed must give the same
day, message for message (tests/simulators). A script draws from ``trip.rng`` only what its
scenario needs; a draw added to an ordinary step would change every later trip of the day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from simulators.motion import SITE_KMH, LoadProfile, Motion, Vtx, road_verts, vlength
from simulators.region import Flow, Region, SiteSpec, VehicleSpec
from simulators.routes import Point, dist, path_points
from simulators.truth import Expectation, GroundTruth, Scenario

TZ = ZoneInfo("Asia/Shanghai")
FIX_INTERVAL_S = 10
CORRIDOR_M = 500
LAST_LOAD_S = 22 * 3600  # after 22:00 local a truck takes no further load


def iso(t: float) -> str:
    return datetime.fromtimestamp(round(t), TZ).isoformat()


def to_dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def round20(kg: float) -> int:
    return int(round(kg / 20.0)) * 20


# --- what the plan records -------------------------------------------------------------------

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
    scenario: Scenario
    truth: GroundTruth
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
    notes: list[str] = field(default_factory=list)
    manifest_no: str | None = None  # filled in by the runner

    @property
    def generator(self) -> str:
        return self.flow.generator

    @property
    def receiver(self) -> str:
        return self.flow.receiver


@dataclass
class TruckDay:
    vehicle: VehicleSpec
    motion: Motion
    load: LoadProfile
    on: list[tuple[float, float]]  # terminal (and load cell) powered
    gps_off: list[tuple[float, float]] = field(default_factory=list)
    spoofs: dict[float, Point] = field(default_factory=dict)  # fix time -> spoofed position


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
    junctions = [road.a if rev else road.b for road, rev in steps]
    return RouteInfo(flow, verts, planned, junctions)


# --- a trip in progress ----------------------------------------------------------------------

@dataclass
class Trip:
    """One trip while its truck acts it out: what a scenario's script reads and changes."""

    sim: TruckSim
    key: str
    flow: Flow
    scenario: Scenario
    truth: GroundTruth
    notes: list[str] = field(default_factory=list)
    filed_at: float = 0.0
    tare_at: float = 0.0  # the departure weighbridge's empty weighing
    gross_at: float = 0.0  # ... and its loaded one
    declared_kg: int = 0
    net_kg: float = 0.0  # what is truly loaded
    ticket_extra_kg: float = 0.0  # what the departure ticket claims beyond the true load
    departure_ticket: TicketPlan | None = None
    dispatch_at: float = 0.0
    planned_departure: float = 0.0
    planned_arrival: float = 0.0
    leg: list[Vtx] = field(default_factory=list)  # the loaded leg, gate to gate

    @property
    def region(self) -> Region:
        return self.sim.region

    @property
    def rng(self) -> random.Random:
        return self.sim.rng

    @property
    def m(self) -> Motion:
        return self.sim.m

    @property
    def load(self) -> LoadProfile:
        return self.sim.load

    @property
    def plate(self) -> str:
        return self.sim.v.plate

    @property
    def info(self) -> RouteInfo:
        return self.sim.infos[self.flow]

    @property
    def generator(self) -> SiteSpec:
        return self.region.sites[self.flow.generator]

    @property
    def receiver(self) -> SiteSpec:
        return self.region.sites[self.flow.receiver]

    def drive(self, verts: list[Vtx], lights: bool = True) -> None:
        self.m.drive(verts, self.rng, self.sim.factor, lights)

    def expect(self, code: str, where: Point | None, when: float | None, note: str) -> None:
        """Add to the ground truth: ``code`` belongs at the true position ``where``, time ``when``."""
        location = self.region.frame.lonlat(where) if where is not None else None
        self.truth.expectations.append(Expectation(code, location, to_dt(when) if when is not None else None, note))

    def fix_times(self, t0: float, t1: float) -> list[float]:
        return self.sim.fix_times(t0, t1)

    def plan(self, receive_at: float | None = None, arrival_ticket: TicketPlan | None = None,
             accepted_kg: int | None = None) -> TripPlan:
        return TripPlan(self.key, self.plate, self.sim.v.transporter, self.flow, self.scenario, self.truth,
                        self.declared_kg, self.info.planned, self.filed_at, self.planned_departure,
                        self.planned_arrival, self.dispatch_at, receive_at, self.departure_ticket, arrival_ticket,
                        accepted_kg, notes=self.notes)


# --- what a scenario may change --------------------------------------------------------------

def drive_the_route(trip: Trip) -> None:
    """The ordinary loaded leg: the planned route, gate to gate."""
    trip.drive(trip.leg)


def any_route(region: Region, info: RouteInfo) -> bool:
    return True


def load_as_declared(trip: Trip) -> None:
    pass


def own_plate(trip: Trip) -> str:
    return trip.plate


def keep_the_flows(region: Region, flows: list[Flow], rng: random.Random) -> None:
    pass


def no_paperwork(trip: TripPlan, tickets: list[TicketPlan]) -> None:
    pass


@dataclass(frozen=True)
class Script:
    """How the fleet acts a scenario out. Each hook defaults to the ordinary trip's behaviour."""

    scenario: Scenario
    loaded_leg: Callable[[Trip], None] = drive_the_route
    """From the generator's gate to the receiver's: drives ``trip.leg`` and places the truth."""
    suits_route: Callable[[Region, RouteInfo], bool] = any_route
    """Whether a flow's route can carry the scenario (the planner picks among those that can)."""
    before_loading: Callable[[Trip], None] = load_as_declared
    """May change ``declared_kg``, ``net_kg`` and ``ticket_extra_kg`` before the truck is loaded."""
    departure_plate: Callable[[Trip], str] = own_plate
    """The plate the departure weighbridge records (``tare_at`` and ``gross_at`` are known)."""
    weighed_out: bool = True
    """False: the truck never crosses the departure weighbridge."""
    delivers: bool = True
    """False: the truck never reaches the receiver (no arrival ticket, no receipt)."""
    max_trips: int | None = None
    """A cap on its truck's trips that day (the scenario's trip is the last)."""
    arrange_flows: Callable[[Region, list[Flow], random.Random], None] = keep_the_flows
    """May change the truck's earlier flows; the last one (the scenario's) is already chosen."""
    after_ticketing: Callable[[TripPlan, list[TicketPlan]], None] = no_paperwork
    """Once the day's tickets are numbered: may change what the trip's paperwork names."""
    paper_only: Callable[[Trip], TripPlan] | None = None
    """Replaces the whole trip (the truck does not do it; only tickets and signatures exist)."""


# --- the truck -------------------------------------------------------------------------------

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

    # -- helpers for the trip and for scripts -------------------------------------------------

    def weigh(self, site: str, kg: float) -> int:
        """What ``site``'s weighbridge shows for ``kg`` (its calibration error, 20 kg steps)."""
        return round20(kg * (1 + self.calib[site]))

    def drive_to(self, node: str) -> None:
        if node == self.node:
            return
        self.m.drive(road_verts(self.region, self.node, node), self.rng, self.factor)
        self.node = node

    def leave_current_site(self) -> None:
        if self.node.startswith("G:"):
            self.m.go(self.region.sites[self.node[2:]].gate, SITE_KMH)

    def go_to_gate_of(self, site_key: str) -> None:
        if self.node != f"G:{site_key}":
            self.leave_current_site()
            self.drive_to(f"G:{site_key}")

    def end_day(self, terminal_off_at: float) -> None:
        """The truck takes no further trip; its terminal goes off at ``terminal_off_at``."""
        self.on_end = terminal_off_at
        self.closed = True

    def fix_times(self, t0: float, t1: float) -> list[float]:
        """The terminal's fix times in [t0, t1] (a 10 s grid anchored on its power-on)."""
        base = math.ceil(self.on_start)
        t = base + max(0, math.ceil((t0 - base) / FIX_INTERVAL_S)) * FIX_INTERVAL_S
        out = []
        while t <= t1:
            out.append(float(t))
            t += FIX_INTERVAL_S
        return out

    # -- a trip -------------------------------------------------------------------------------

    def trip(self, key: str, flow: Flow, script: Script) -> TripPlan | None:
        """Act out one trip, or None when the truck's day is over."""
        if self.closed or self.m.t > self.midnight + LAST_LOAD_S:
            return None
        trip = Trip(self, key, flow, script.scenario, GroundTruth(script.scenario, key, self.v.plate))
        if script.paper_only is not None:
            return script.paper_only(trip)
        self._load_at_generator(trip, script)
        self._dispatch(trip)
        self.m.go(trip.generator.gate, SITE_KMH)
        trip.leg = list(trip.info.verts)
        script.loaded_leg(trip)
        if not script.delivers:
            return trip.plan()
        return self._deliver(trip)

    def _load_at_generator(self, trip: Trip, script: Script) -> None:
        gen, rng = trip.generator, self.rng
        self.go_to_gate_of(gen.key)
        trip.filed_at = max(self.midnight + 120, self.m.t - rng.uniform(15, 45) * 60)
        self.m.go(gen.scale, SITE_KMH)
        if script.weighed_out:
            self.m.wait(rng.uniform(40, 70))
            trip.tare_at = self.m.t
            self.m.wait(rng.uniform(25, 50))
        self.m.go(gen.yard, SITE_KMH)
        trip.declared_kg = int(min(self.v.max_load_kg - 500, trip.flow.nominal_kg * rng.uniform(0.95, 1.05))
                               // 100 * 100)
        trip.net_kg = min(self.v.max_load_kg - 150, trip.declared_kg * rng.uniform(0.965, 1.035))
        script.before_loading(trip)
        self._load(trip.net_kg)
        self.m.go(gen.scale, SITE_KMH)
        if script.weighed_out:
            self._weigh_out(trip, script)
        else:
            self.m.wait(rng.uniform(20, 40))

    def _load(self, kg: float) -> None:
        self.load.set(self.m.t, self.load.at(self.m.t))
        self.m.wait(self.rng.uniform(60, 120))
        self.load.set(self.m.t, self.load.at(self.m.t))
        self.m.wait(self.rng.uniform(11, 20) * 60)
        self.load.set(self.m.t, kg)
        self.m.wait(self.rng.uniform(20, 60))

    def _weigh_out(self, trip: Trip, script: Script) -> None:
        gen = trip.generator
        self.m.wait(self.rng.uniform(40, 70))
        trip.gross_at = self.m.t
        plate = script.departure_plate(trip)
        tare = self.v.tare_kg + self.fuel
        trip.departure_ticket = TicketPlan(
            gen.key, plate, self.weigh(gen.key, tare + trip.net_kg + trip.ticket_extra_kg),
            self.weigh(gen.key, tare), trip.gross_at, trip.tare_at, trip.key)
        self.tickets.append(trip.departure_ticket)

    def _dispatch(self, trip: Trip) -> None:
        rng = self.rng
        self.m.wait(rng.uniform(30, 90))
        trip.dispatch_at = self.m.t
        self.m.wait(rng.uniform(20, 60))
        planned_departure = trip.dispatch_at - rng.uniform(0, 8) * 60
        estimate = vlength(trip.info.verts) / (42 / 3.6) + 900
        planned_arrival = planned_departure + estimate * 1.25 + 15 * 60
        trip.planned_departure = round(planned_departure / 300) * 300
        trip.planned_arrival = math.ceil(planned_arrival / 300) * 300

    # -- the receiver: queue, weigh in, unload, weigh out, sign ------------------------------

    def _deliver(self, trip: Trip) -> TripPlan:
        rec, rng = trip.receiver, self.rng
        self.node = f"G:{rec.key}"
        if rng.random() < 0.45:
            self._queue_at_gate(rec)
        if trip.flow.waste_code == "SW07":  # sludge: water drained on the road
            self.load.set(self.m.t, self.load.at(self.m.t) * (1 - rng.uniform(0.012, 0.03)))
        ticket = self._weigh_in_and_unload(trip)
        receive_at = self.m.t + rng.uniform(60, 150)
        self.m.wait_until(receive_at + rng.uniform(20, 60))
        self.load.hold(self.m.t)
        self.m.go(rec.gate, SITE_KMH)
        self.load.hold(self.m.t)
        self.load.set(self.m.t + 1, 0.0)  # the residual is swept out at the gate
        return trip.plan(receive_at, ticket, ticket.net_kg)

    def _queue_at_gate(self, rec: SiteSpec) -> None:
        back = _towards(rec.gate, self.region.network.nodes[rec.junction], 45)  # just outside the gate
        self.m.go(back, 10)
        self.m.wait(self.rng.uniform(2, 11) * 60)
        self.m.go(rec.gate, 8)

    def _weigh_in_and_unload(self, trip: Trip) -> TicketPlan:
        rec, rng = trip.receiver, self.rng
        self.m.go(rec.scale, SITE_KMH)
        self.m.wait(rng.uniform(40, 70))
        gross_at = self.m.t
        load_in = self.load.at(gross_at)
        self.load.hold(gross_at)
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
        self.fuel -= rng.uniform(5, 25)
        tare = self.v.tare_kg + self.fuel
        ticket = TicketPlan(rec.key, self.v.plate, self.weigh(rec.key, tare + load_in),
                            self.weigh(rec.key, tare + residual), gross_at, self.m.t, trip.key)
        self.tickets.append(ticket)
        return ticket

    def finish(self) -> None:
        """Home to the depot (unless the day already ended), terminal off a few minutes later."""
        if not self.closed:
            self.leave_current_site()
            self.drive_to(f"G:{self.v.depot}")
            self.m.go(self.region.sites[self.v.depot].yard, SITE_KMH)
            self.on_end = self.m.t + self.rng.uniform(60, 180)
        self.day.on = [(self.on_start, self.on_end if self.on_end is not None else self.m.t)]


def _towards(a: Point, b: Point, metres: float) -> Point:
    d = dist(a, b) or 1.0
    return (a[0] + (b[0] - a[0]) / d * metres, a[1] + (b[1] - a[1]) / d * metres)
