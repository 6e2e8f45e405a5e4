"""The fleet simulator: a day of trucks, load cells and weighbridges, planned as timed events.

:func:`plan_day` turns (region, number of trips, seed, day) into a :class:`Plan`: every
truck's movements (keyframes of a piecewise-linear trajectory along the road network), the
GPS fixes its terminal takes every 10 s (jittered, ~15 m), the batches it uploads (every
two minutes, held back while in a tunnel or dead zone and then sent late as one batch), its
load cell's readings, both weighbridges' tickets, and the manifests' filing, dispatch and
receipt signatures -- all as :class:`Event` objects sorted by event time. Nothing here does
I/O; the runner (:mod:`simulators.runner`) plays the events. The same seed gives the same
plan, message for message.

What makes the trips realistic (and the detector's job non-trivial): roads with bends and
per-road speeds (25-70 km/h), red lights at junctions, a queue at the receiver's gate,
rest-area breaks, tunnels, weighbridge rounding to 20 kg and a small calibration error per
weighbridge, load-cell bias and noise, sludge losing up to 3 % water on the road.

A truck's day is acted out by :class:`simulators.truck.TruckSim`; what each scenario changes
is its row in :data:`simulators.scenarios.SCRIPTS`.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from simulators import scenarios as sc
from simulators.motion import Motion
from simulators.region import Flow, Region, VehicleSpec
from simulators.routes import Point
from simulators.truck import (  # noqa: F401 -- the plan's vocabulary, re-exported for its users
    FIX_INTERVAL_S,
    TZ,
    RouteInfo,
    Script,
    TicketPlan,
    TripPlan,
    TruckDay,
    TruckSim,
    iso,
    route_info,
)

STANDING_FIX_INTERVAL_S = 30  # terminals report less often once the truck has stood for a minute
GPS_UPLOAD_S = 120
LOAD_INTERVAL_S = 30
LOAD_UPLOAD_S = 300
JITTER_SIGMA_M = 11.0  # per axis: ~15 m radial
TRIPS_PER_TRUCK = 7.2  # a full working day

PRIO = {"file": 0, "publish": 1, "dispatch": 2, "receive": 3}


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

    def __post_init__(self) -> None:
        self._by_key = {t.key: t for t in self.trips}

    @property
    def message_count(self) -> int:
        return sum(1 for e in self.events if e.kind == "publish")


# --- the day ---------------------------------------------------------------------------------

def local_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()


PAST_MARGIN_S = 300
"""How far before now the default day's last event lies, at least."""


def yesterday(now: float | None = None) -> date:
    return datetime.fromtimestamp(time.time() if now is None else now, TZ).date() - timedelta(days=1)


def plan_day(region: Region, trips: int, seed: int, day: date | None = None,
             start_at: float | None = None, scenarios: tuple[sc.Scenario, ...] | None = None,
             now: float | None = None) -> Plan:
    """Plan ``trips`` manifests (one of each violation scenario, the rest clean).

    ``day`` is the local calendar day (default yesterday in Asia/Shanghai); ``start_at``
    (epoch seconds) instead anchors the day's midnight anywhere, for live runs.
    The default day lies wholly in the past: run just after local midnight, yesterday's
    overnight trips would end in the future (and a signature may not), so the day is moved
    back by what would overrun.
    """
    if day is None and start_at is None:
        now = time.time() if now is None else now
        plan = plan_day(region, trips, seed, yesterday(now), None, scenarios)
        overrun = plan.end - (now - PAST_MARGIN_S)
        if overrun <= 0:
            return plan
        return plan_day(region, trips, seed, plan.day, local_midnight(plan.day) - overrun, scenarios)
    day = day or yesterday()
    midnight = start_at if start_at is not None else local_midnight(day)
    rng = random.Random(f"plan:{seed}")
    infos = {f: route_info(region, f) for f in region.flows}
    planted = [sc.SCRIPT_OF[s.name] for s in (scenarios if scenarios is not None else sc.VIOLATIONS)]
    violations = planted[:max(0, trips - 1)]
    trucks, counts = _share_out_trips(region, trips, len(violations))
    script_of_truck = _give_violations_their_trucks(trucks, counts, violations)
    calib = {k: random.Random(f"calib:{k}").uniform(-0.0012, 0.0012) for k in region.sites}
    serials = itertools.count(1)
    sims: list[TruckSim] = []
    trip_list: list[TripPlan] = []
    for truck, count in zip(trucks, counts, strict=True):
        script = script_of_truck.get(truck.plate)
        flows = _flows_of_truck(region, count, script, rng, infos)
        sim = TruckSim(region, truck, random.Random(f"truck:{seed}:{truck.plate}"), midnight, calib, infos)
        trip_list += _truck_day(sim, flows, script, serials)
        sims.append(sim)
    tickets = [ticket for sim in sims for ticket in sim.tickets]
    _number_tickets(tickets, region, midnight)
    _fill_in_paperwork(trip_list, tickets)
    trip_list.sort(key=lambda t: (t.filed_at, t.key))
    days = [sim.day for sim in sims]
    events = _events(region, days, tickets, trip_list, seed)
    start = events[0].t if events else midnight
    end = max(midnight + 86_400 - 1, (events[-1].t + 60) if events else 0)  # the last trips may end after midnight
    return Plan(region=region, seed=seed, day=day, start=start, end=end, trips=trip_list,
                events=events, trucks=days, tickets=tickets)


def _share_out_trips(region: Region, trips: int, violations: int) -> tuple[list[VehicleSpec], list[int]]:
    """The trucks that work (the transporters interleaved so each takes part) and their trip counts."""
    per = len(region.vehicles) // 3
    order = [region.vehicles[k * per + i] for i in range(per) for k in range(3)]
    n = min(len(order), max(violations + 1, math.ceil(trips / TRIPS_PER_TRUCK)))
    counts = [trips // n + (1 if i < trips % n else 0) for i in range(n)]
    return order[:n], counts


def _give_violations_their_trucks(trucks: list[VehicleSpec], counts: list[int],
                                  violations: list[Script]) -> dict[str, Script]:
    """A violation per truck from the last one back (its last trip of the day), by plate.

    A script with ``max_trips`` shortens its truck's day; ``counts`` is changed in place so
    the spare trips go to the trucks that carry no violation.
    """
    n = len(trucks)
    assigned: dict[str, Script] = {}
    for i, script in enumerate(violations):
        idx = n - 1 - i
        assigned[trucks[idx].plate] = script
        cap = script.max_trips
        if cap and counts[idx] > cap:
            spare = counts[idx] - cap
            counts[idx] = cap
            for j in range(spare):
                counts[j % max(1, n - len(violations))] += 1
    return assigned


def _flows_of_truck(region: Region, count: int, script: Script | None, rng: random.Random,
                    infos: dict[Flow, RouteInfo]) -> list[Flow]:
    """The flows of a truck's trips, weighted; a violation's (the last) on a route that suits it."""
    weights = [f.weight for f in region.flows]
    flows = [rng.choices(region.flows, weights)[0] for _ in range(count)]
    if script is not None and count:
        candidates = [f for f in region.flows if script.suits_route(region, infos[f])]
        if not candidates:
            raise RuntimeError(f"no route in the region suits scenario {script.scenario.name}")
        flows[-1] = candidates[rng.randrange(len(candidates))]
        script.arrange_flows(region, flows, rng)
    return flows


def _truck_day(sim: TruckSim, flows: list[Flow], script: Script | None,
               serials: itertools.count[int]) -> list[TripPlan]:
    clean = sc.SCRIPT_OF[sc.CLEAN.name]
    out: list[TripPlan] = []
    for k, flow in enumerate(flows):
        this = script if (script is not None and k == len(flows) - 1) else clean
        trip = sim.trip(f"T{next(serials):04d}", flow, this)
        if trip is None:
            break
        out.append(trip)
    sim.finish()
    return out


def _number_tickets(tickets: list[TicketPlan], region: Region, midnight: float) -> None:
    ymd = datetime.fromtimestamp(midnight + 3600, TZ).strftime("%Y%m%d")
    counters: dict[str, int] = {}
    for t in sorted(tickets, key=lambda t: (t.done_at, t.site, t.plate)):
        counters[t.site] = counters.get(t.site, 0) + 1
        t.ticket_no = f"{region.sites[t.site].ticket_prefix}-{ymd}-{counters[t.site]:04d}"


def _fill_in_paperwork(trips: list[TripPlan], tickets: list[TicketPlan]) -> None:
    """Once tickets have numbers: what each dispatch names, and a bare expectation per unplaced code."""
    for trip in trips:
        if trip.departure_ticket is not None:
            trip.named_departure_ticket = trip.departure_ticket.ticket_no
        sc.SCRIPT_OF[trip.scenario.name].after_ticketing(trip, tickets)
        placed = {e.code for e in trip.truth.expectations}
        trip.truth.expectations += [sc.Expectation(code) for code in trip.scenario.must if code not in placed]


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
    """A truck's GPS and load-cell uploads: (time, device id, channel, payload), in time order."""
    v = day.vehicle
    rng = random.Random(f"devices:{seed}:{v.plate}")
    out = []
    for on0, on1 in day.on:
        base = math.ceil(on0)
        fixes = _gps_fixes(region, day, rng, base, on1)
        loads = _load_readings(day, rng, base, on1)
        for channel, device, samples, every in (("gps", v.gps_id, fixes, GPS_UPLOAD_S),
                                                ("load", v.load_id, loads, LOAD_UPLOAD_S)):
            phase = base + rng.uniform(1, every - 1)
            for tick, batch in _uploads(region, day.motion, samples, every, phase, on1):
                out.append((tick + rng.uniform(0.2, 2.5), device, channel, {"batch": batch}))
    result = sorted(out, key=lambda e: e[0])
    _number_readings(result)
    return result


def _gps_fixes(region: Region, day: TruckDay, rng: random.Random, base: int, until: float) -> list[tuple[float, dict]]:
    fixes = []
    heading = rng.uniform(0, 359)  # a standing truck's terminal repeats its last heading
    t = float(base)
    while t <= until:
        if _terminal_reports(day, t, base):
            moving_heading = day.motion.at(t)[2]
            if moving_heading is not None:
                heading = moving_heading
            fixes.append((t, _fix(region, day, rng, t, heading)))
        t += FIX_INTERVAL_S
    return fixes


def _terminal_reports(day: TruckDay, t: float, base: int) -> bool:
    """False while the terminal is off, and between its 30 s fixes once the truck has stood a minute."""
    speed = day.motion
    standing = (int(t - base) % STANDING_FIX_INTERVAL_S != 0 and speed.at(t)[1] == 0
                and speed.at(t - 60)[1] == 0 and speed.at(t - 30)[1] == 0 and speed.at(t + FIX_INTERVAL_S)[1] == 0)
    return not standing and not any(a <= t < b for a, b in day.gps_off)


def _fix(region: Region, day: TruckDay, rng: random.Random, t: float, heading: float) -> dict:
    p, kmh, _ = day.motion.at(t)
    if t in day.spoofs:
        lon, lat = region.frame.lonlat(day.spoofs[t])
        speed = round(kmh, 1)
    else:
        lon, lat = region.frame.lonlat((p[0] + rng.gauss(0, JITTER_SIGMA_M), p[1] + rng.gauss(0, JITTER_SIGMA_M)))
        speed = round(max(0.0, kmh + rng.gauss(0, 1.5)) if kmh > 0 else abs(rng.gauss(0, 0.4)), 1)
    return {"ts": iso(t), "lat": lat, "lon": lon, "speed_kmh": speed,
            "heading": int(round(heading)) % 360, "hdop": round(rng.uniform(0.6, 1.6), 1)}


def _load_readings(day: TruckDay, rng: random.Random, base: int, until: float) -> list[tuple[float, dict]]:
    """The load cell: a bias of a few %, noise ~0.5 %, 10 kg resolution."""
    bias = rng.uniform(-0.025, 0.025)
    loads = []
    t = float(base + rng.randrange(0, LOAD_INTERVAL_S))
    while t <= until:
        true = day.load.at(t)
        kg = max(0, int(round((true * (1 + bias) + rng.gauss(0, 60 + 0.004 * true)) / 10)) * 10)
        loads.append((t, {"ts": iso(t), "load_kg": kg}))
        t += LOAD_INTERVAL_S
    return loads


def _number_readings(uploads: list[tuple[float, str, str, dict]]) -> None:
    """Each device's counter follows event time, not upload order."""
    by_device: dict[str, list[dict]] = {}
    for _, device, _, payload in uploads:
        by_device.setdefault(device, []).extend(payload["batch"])
    for items in by_device.values():
        for n, item in enumerate(sorted(items, key=lambda x: x["ts"]), 1):
            item["seq"] = n


def _events(region: Region, days: list[TruckDay], tickets: list[TicketPlan], trips: list[TripPlan],
            seed: int) -> list[Event]:
    serials = itertools.count(1)
    events = [Event(t, PRIO["publish"], next(serials), "publish", device_id=device, channel=channel, payload=payload)
              for day in days for t, device, channel, payload in _device_events(region, day, seed)]
    events += _weighbridge_events(region, tickets, serials)
    events += _signature_events(trips, serials)
    events.sort()
    return events


def _weighbridge_events(region: Region, tickets: list[TicketPlan], serials: itertools.count[int]) -> list[Event]:
    """Each ticket, published 15 s after its last weighing; a ticket naming a trip carries a placeholder."""
    events = []
    seqs: dict[str, int] = {}
    for ticket in sorted(tickets, key=lambda t: (t.done_at, t.site, t.plate)):
        site = region.sites[ticket.site]
        seqs[site.key] = seqs.get(site.key, 0) + 1
        payload = {"seq": seqs[site.key], "ts": iso(ticket.done_at), "ticket_no": ticket.ticket_no,
                   "plate": ticket.plate, "gross_kg": ticket.gross_kg, "tare_kg": ticket.tare_kg,
                   "net_kg": ticket.net_kg, "gross_at": iso(ticket.gross_at), "tare_at": iso(ticket.tare_at)}
        if ticket.trip:
            payload["manifest_no"] = f"@trip:{ticket.trip}"
        events.append(Event(ticket.done_at + 15, PRIO["publish"], next(serials), "publish", trip=ticket.trip,
                            device_id=site.weighbridge_id, channel="weigh", payload=payload))
    return events


def _signature_events(trips: list[TripPlan], serials: itertools.count[int]) -> list[Event]:
    events = []
    for trip in trips:
        moments: tuple[tuple[str, float | None], ...] = (
            ("file", trip.filed_at), ("dispatch", trip.dispatch_at), ("receive", trip.receive_at))
        for kind, t in moments:
            if t is not None:
                events.append(Event(t, PRIO[kind], next(serials), kind, trip=trip.key))
    return events
