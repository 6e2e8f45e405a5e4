"""The scenario library: each scenario, the ground truth it declares, and how the fleet acts it out.

A scenario is a :class:`~simulators.truth.Scenario` (what happens in a regulator's words, the
codes it must raise and those it may plausibly raise too), followed by the small functions
that make its truck, devices, weighbridges or paperwork differ from a clean trip; those
functions also place its ground truth (``trip.expect``: where and when each must-raise
finding belongs, from the simulated truth). :data:`SCRIPTS` at the bottom is the table that
ties them together, one row per scenario, as ``wasteflow.detection``'s ``LIVE_RULES`` is a
table of rules.

Adding a violation: declare its :class:`Scenario`, write the function for the part of the trip
it changes (the hooks of :class:`~simulators.truck.Script`; most change only the loaded leg),
add its row to :data:`SCRIPTS`. The planner gives it a truck of its own (its last trip of
the day) on a route its ``suits_route`` accepts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TypeVar

from simulators.motion import SITE_KMH, arclength_of_nearest, road_verts, split_verts, verts_of, vlength
from simulators.region import Flow, Region, SiteSpec, ZoneSpec
from simulators.routes import (
    Point,
    bendy,
    dist,
    distance_to_polyline,
    point_along,
    polyline_enters,
    polyline_length,
)
from simulators.truck import CORRIDOR_M, FIX_INTERVAL_S, RouteInfo, Script, TicketPlan, Trip, TripPlan
from simulators.truth import (  # noqa: F401 -- the library's vocabulary, re-exported for its users
    LOCATION_TOLERANCE_M,
    TIME_TOLERANCE_S,
    Expectation,
    GroundTruth,
    Scenario,
)

T = TypeVar("T")


def _on_this_route(found: T | None) -> T:
    """What a route was chosen for (its ``suits_route`` found it); absent only on a planner bug."""
    if found is None:
        raise RuntimeError("the planner chose a route that does not suit the scenario")
    return found


def at_least(metres: float) -> Callable[[Region, RouteInfo], bool]:
    """A ``suits_route``: routes at least ``metres`` long, gate to gate."""
    return lambda region, info: vlength(info.verts) >= metres


def _restricted_zone(region: Region) -> ZoneSpec:
    return next(z for z in region.zones.values() if z.kind == "restricted")


def rest_area_on(region: Region, info: RouteInfo) -> ZoneSpec | None:
    for z in region.zones.values():
        if z.kind == "rest_area" and distance_to_polyline(z.center, [v.p for v in info.verts]) < 30:
            return z
    return None


# --- clean --------------------------------------------------------------------------------------

CLEAN = Scenario("clean", "Clean trip", "Loaded, weighed, driven along the planned route (red lights, a queue at "
                 "the gate, perhaps a rest-area break, tunnels), weighed in and received.", ())


def perhaps_a_rest_area_break(trip: Trip) -> None:
    """The planned route; on a route past a rest area, a 11-22 min break there two times in five."""
    rest, rng = rest_area_on(trip.region, trip.info), trip.rng
    if rest is not None and rng.random() < 0.4:
        s, _ = arclength_of_nearest([v.p for v in trip.leg], rest.center)
        head, tail = split_verts(trip.leg, s)
        trip.drive(head)
        pull_in = (rest.center[0] + rng.uniform(-40, 40), rest.center[1] + 40 + rng.uniform(-15, 15))
        trip.m.go(pull_in, 15)
        trip.m.wait(rng.uniform(11, 22) * 60)
        trip.m.go(tail[0].p, 15)
        trip.leg = tail
        trip.notes.append(f"rest-area break at {rest.name}")
    trip.drive(trip.leg)


# --- dumping ------------------------------------------------------------------------------------

DUMPING = Scenario(
    "dumping", "Dumping on the way",
    "The truck pulls over on the roadside, stands for a quarter of an hour and tips part of its load; the "
    "arrival weighbridge then weighs it short.",
    ("UNAUTHORIZED_STOP", "LOAD_DROP", "TONNAGE_SHORTFALL"), ("ACCEPTANCE_MISMATCH",))


def _far_from_places(region: Region, p: Point, margin: float) -> bool:
    for s in region.sites.values():
        if dist(p, s.center) < margin or dist(p, s.gate) < margin:
            return False
    for z in region.zones.values():
        if dist(p, z.center) < margin + 800:
            return False
    return all(dist(p, d.center) > d.radius_m + 600 for d in region.dead_zones)


def dump_spot(region: Region, info: RouteInfo) -> float | None:
    """Arc length along the route of a roadside far from sites, zones and dead zones."""
    pts = [v.p for v in info.verts]
    total = polyline_length(pts)
    for f in (0.45, 0.35, 0.55, 0.3, 0.6, 0.25, 0.65):
        if _far_from_places(region, point_along(pts, total * f), 1400):
            return total * f
    return None


def _roadside(a: Point, b: Point, metres: float) -> Point:
    """``metres`` to the left of the road a -> b, level with b."""
    n = dist(a, b) or 1.0
    return (b[0] - (b[1] - a[1]) / n * metres, b[1] + (b[0] - a[0]) / n * metres)


def tip_part_of_the_load(trip: Trip) -> None:
    rng, m, load = trip.rng, trip.m, trip.load
    head, tail = split_verts(trip.leg, _on_this_route(dump_spot(trip.region, trip.info)))
    trip.drive(head)
    spot = _roadside(head[-2].p, head[-1].p, 25)
    m.go(spot, 20)
    stop_at = m.t
    m.wait(rng.uniform(150, 210))
    drop_at = m.t
    load.hold(drop_at)
    dumped = trip.net_kg * rng.uniform(0.35, 0.5)
    m.wait(rng.uniform(150, 200))
    load.set(m.t, trip.net_kg - dumped)
    m.wait(rng.uniform(8, 10) * 60)
    load.hold(m.t)
    m.go(tail[0].p, 20)
    trip.drive(tail)
    trip.expect("UNAUTHORIZED_STOP", spot, stop_at, "the roadside stop")
    trip.expect("LOAD_DROP", spot, drop_at, "where the load was tipped")
    trip.expect("TONNAGE_SHORTFALL", spot, None, "located at the load drop")
    trip.notes.append(f"tipped {dumped:,.0f} kg at the roadside")


# --- skimming -----------------------------------------------------------------------------------

SKIMMING = Scenario(
    "skimming", "Skimming between weighbridges",
    "The departure ticket is inflated by about two tonnes; the truck never stops and its load cell never "
    "drops, but the receiver's weighbridge weighs it short.",
    ("TONNAGE_SHORTFALL",), ("DECLARATION_MISMATCH",))


def inflate_the_departure_ticket(trip: Trip) -> None:
    skim = trip.rng.uniform(1_700, 2_400)
    trip.net_kg = min(trip.net_kg, trip.sim.v.max_load_kg - skim - 200)
    trip.declared_kg = int((trip.net_kg + skim) // 100 * 100)
    trip.ticket_extra_kg = skim


# --- diversion ----------------------------------------------------------------------------------

DIVERSION = Scenario(
    "diversion", "Diversion to another site",
    "On the way the truck turns into another company's yard, unloads about half its load there in twenty "
    "minutes, then delivers the rest to the named receiver.",
    ("DIVERSION",), ("LOAD_DROP", "TONNAGE_SHORTFALL", "UNAUTHORIZED_STOP", "ROUTE_DEVIATION"))


def diversion_site(region: Region, info: RouteInfo) -> SiteSpec | None:
    """Another company's yard (not a depot) at a junction the route passes."""
    for j in info.junctions[1:-1]:
        for s in region.sites.values():
            if s.junction == j and s.key not in (info.flow.generator, info.flow.receiver) and s.kind != "parking":
                return s
    return None


def unload_half_at_another_site(trip: Trip) -> None:
    region, rng, m = trip.region, trip.rng, trip.m
    other = _on_this_route(diversion_site(region, trip.info))
    trip.drive(road_verts(region, f"G:{trip.generator.key}", f"G:{other.key}"))
    entered = m.t
    m.go(other.scale, SITE_KMH)
    m.go(other.yard, SITE_KMH)
    m.wait(rng.uniform(180, 240))
    trip.load.hold(m.t)
    dumped = trip.net_kg * rng.uniform(0.4, 0.6)
    m.wait(rng.uniform(360, 480))
    trip.load.set(m.t, trip.net_kg - dumped)
    m.wait(rng.uniform(400, 600))
    trip.load.hold(m.t)
    m.go(other.scale, SITE_KMH)
    m.go(other.gate, SITE_KMH)
    left = m.t
    trip.drive(road_verts(region, f"G:{other.key}", f"G:{trip.receiver.key}"))
    inside = [m.at(t)[0] for t in _grid(entered, left, FIX_INTERVAL_S) if other.contains(m.at(t)[0])]
    mean = (sum(p[0] for p in inside) / len(inside), sum(p[1] for p in inside) / len(inside))
    trip.expect("DIVERSION", mean, entered, f"inside {other.name}")
    trip.notes.append(f"unloaded {dumped:,.0f} kg at {other.name}")


def _grid(t0: float, t1: float, step: float) -> list[float]:
    n = int((t1 - t0) // step)
    return [t0 + k * step for k in range(n + 1)]


# --- detour -------------------------------------------------------------------------------------

DETOUR = Scenario(
    "detour", "Detour out of the corridor",
    "The truck leaves the planned route's corridor for a loop of several kilometres through other roads, "
    "without stopping, and comes back to it.",
    ("ROUTE_DEVIATION",))


def detour_via(region: Region, info: RouteInfo) -> str | None:
    """The junction (at least 2.5 km off the route) whose loop adds least, under 16 km, avoiding the zone."""
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


def loop_out_of_the_corridor(trip: Trip) -> None:
    via = _on_this_route(detour_via(trip.region, trip.info))
    trip.drive(road_verts(trip.region, f"G:{trip.generator.key}", f"G:{trip.receiver.key}", via=via))
    trip.notes.append(f"detour through junction {via}")
    for t in trip.fix_times(trip.dispatch_at, trip.m.t):
        p = trip.m.at(t)[0]
        if distance_to_polyline(p, trip.info.planned) > CORRIDOR_M:
            trip.expect("ROUTE_DEVIATION", p, t, "the first fix out of the corridor")
            return


# --- restricted-zone entry ----------------------------------------------------------------------

RESTRICTED = Scenario(
    "restricted", "Restricted-zone entry",
    "Loaded, the truck takes a short cut across the drinking-water source protection zone.",
    ("RESTRICTED_ZONE_ENTRY",), ("ROUTE_DEVIATION",))


def shortcut(region: Region, info: RouteInfo) -> tuple[float, float, list[Point]] | None:
    """A track from the route across the restricted zone and back: (s_from, s_to, points)."""
    zone = _restricted_zone(region)
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


def cut_across_the_protected_zone(trip: Trip) -> None:
    s_from, s_to, track = _on_this_route(shortcut(trip.region, trip.info))
    head, _ = split_verts(trip.leg, s_from)
    _, tail = split_verts(trip.leg, s_to)
    trip.drive(head)
    trip.drive(verts_of(track, "track"), lights=False)
    trip.drive(tail)
    zone, m = _restricted_zone(trip.region), trip.m
    t_in = next(t for t in trip.fix_times(trip.dispatch_at, m.t) if zone.contains(m.at(t)[0]))
    trip.expect("RESTRICTED_ZONE_ENTRY", m.at(t_in)[0], t_in, "the first fix inside the zone")


# --- GPS switched off ---------------------------------------------------------------------------

GPS_OFF = Scenario(
    "gps_off", "GPS switched off mid-trip",
    "A quarter of an hour into the trip the positioning terminal is switched off for about twenty minutes, "
    "then on again; nothing is buffered.",
    ("GPS_GAP",))


def switch_the_terminal_off_a_while(trip: Trip) -> None:
    off_at = trip.dispatch_at + trip.rng.uniform(9, 12) * 60
    trip.drive(trip.leg)
    back_on_at = off_at + trip.rng.uniform(17, 21) * 60
    trip.sim.day.gps_off.append((off_at, back_on_at))
    last = trip.fix_times(off_at - 3 * FIX_INTERVAL_S, off_at)[-1]
    trip.expect("GPS_GAP", trip.m.at(last)[0], last, "the last fix before the terminal went quiet")
    trip.notes.append(f"terminal off for {(back_on_at - off_at) / 60:.0f} min")


# --- ghost trip ---------------------------------------------------------------------------------

GHOST = Scenario(
    "ghost", "Ghost trip",
    "Tickets are printed at both weighbridges and both signatures given, but the truck never moves: its "
    "terminal reports nothing for the whole trip.",
    ("NO_TRACK",))


def stand_in_the_depot(trip: Trip) -> None:
    """The truck goes home and its terminal goes off for the rest of the day."""
    sim, depot = trip.sim, trip.region.sites[trip.sim.v.depot]
    if sim.node != f"G:{depot.key}":
        sim.go_to_gate_of(depot.key)
        trip.m.go(depot.yard, SITE_KMH)
    sim.end_day(terminal_off_at=trip.m.t + 120)


def tickets_and_signatures_only(trip: Trip) -> TripPlan:
    stand_in_the_depot(trip)
    sim, rng, gen, rec = trip.sim, trip.rng, trip.generator, trip.receiver
    t = trip.m.t + rng.uniform(70, 110) * 60
    trip.declared_kg = int(trip.flow.nominal_kg * rng.uniform(0.97, 1.03) // 100 * 100)
    net = trip.declared_kg * rng.uniform(0.98, 1.02)
    tare = sim.v.tare_kg + sim.fuel
    trip.filed_at = t - 30 * 60
    dep = TicketPlan(gen.key, trip.plate, sim.weigh(gen.key, tare + net), sim.weigh(gen.key, tare),
                     t + 25 * 60, t, trip.key)
    trip.dispatch_at = dep.gross_at + rng.uniform(120, 240)
    travel = vlength(trip.info.verts) / (45 / 3.6)
    arr_gross = trip.dispatch_at + travel + 300
    arr = TicketPlan(rec.key, trip.plate, sim.weigh(rec.key, tare + net), sim.weigh(rec.key, tare + 60),
                     arr_gross, arr_gross + 11 * 60, trip.key)
    receive_at = arr.tare_at + rng.uniform(60, 150)
    sim.tickets += [dep, arr]
    trip.departure_ticket = dep
    trip.planned_departure = round(trip.dispatch_at / 300) * 300
    trip.planned_arrival = math.ceil((trip.planned_departure + travel * 1.3 + 900) / 300) * 300
    trip.expect("NO_TRACK", None, None, "no fix between dispatch and receipt")
    trip.notes.append("the truck stood in its depot, terminal off")
    return trip.plan(receive_at, arr, arr.net_kg)


# --- spoofed position ---------------------------------------------------------------------------

SPOOF = Scenario(
    "spoof", "Spoofed position jump",
    "A spoofer makes one fix land some twenty kilometres away, then the track goes on as before.",
    ("IMPOSSIBLE_JUMP",))

SPOOF_OFFSETS_M = ((15_500, 14_000), (-15_500, 14_000), (15_500, -14_000), (-15_500, -14_000))


def _far_away_position(region: Region, p: Point) -> Point:
    """Some 21 km from ``p``, clear of every site and zone (so the fake fix raises nothing else)."""
    candidates = ((p[0] + dx, p[1] + dy) for dx, dy in SPOOF_OFFSETS_M)
    return next(q for q in candidates if min(dist(q, s.center) for s in region.sites.values()) > 3_000
                and min(dist(q, z.center) for z in region.zones.values()) > 4_000)


def spoof_one_fix(trip: Trip) -> None:
    trip.drive(trip.leg)
    around = trip.dispatch_at + trip.rng.uniform(9, 13) * 60
    t = trip.fix_times(around, around + 2 * FIX_INTERVAL_S)[0]
    fake = _far_away_position(trip.region, trip.m.at(t)[0])
    trip.sim.day.spoofs[t] = fake
    trip.expect("IMPOSSIBLE_JUMP", fake, t - FIX_INTERVAL_S, "the spoofed fix")


# --- plate swap ---------------------------------------------------------------------------------

PLATE_SWAP = Scenario(
    "plate_swap", "Plate swap at the weighbridge",
    "The departure ticket that names this manifest was weighed with another truck's plate.",
    ("PLATE_MISMATCH",))


def another_trucks_plate(trip: Trip) -> str:
    own = trip.sim.v
    others = [v for v in trip.region.vehicles if v.transporter == own.transporter and v.plate != own.plate]
    plate = others[trip.rng.randrange(len(others))].plate
    trip.notes.append(f"departure ticket weighed as {plate}")
    trip.expect("PLATE_MISMATCH", None, min(trip.gross_at, trip.tare_at), "the departure ticket's weighing")
    return plate


# --- reused ticket ------------------------------------------------------------------------------

REUSED_TICKET = Scenario(
    "reused_ticket", "Reused weigh ticket",
    "The truck is never weighed out: the generator signs the departure naming an earlier ticket that already "
    "belongs to another manifest.",
    ("DUPLICATE_TICKET",), ("MISSING_TICKET",))


def start_at_the_same_generator(region: Region, flows: list[Flow], rng: random.Random) -> None:
    """The truck's first trip leaves from the same weighbridge, so an earlier ticket exists to reuse."""
    if len(flows) >= 2:
        same = [f for f in region.flows if f.generator == flows[-1].generator]
        flows[0] = same[rng.randrange(len(same))]


def name_an_earlier_ticket(trip: TripPlan, tickets: list[TicketPlan]) -> None:
    earlier = [t for t in tickets if t.site == trip.generator and t.trip and t.trip != trip.key
               and t.done_at < trip.dispatch_at - 600]
    if earlier:
        old = max(earlier, key=lambda t: t.done_at)
        trip.named_departure_ticket = old.ticket_no
        trip.notes.append(f"dispatch names ticket {old.ticket_no}, weighed for trip {old.trip}")


# --- overdue ------------------------------------------------------------------------------------

OVERDUE = Scenario(
    "overdue", "Overdue",
    "Dispatched, the truck pulls into a rest area, switches its terminal off and is never received: the "
    "watchdog (running on the simulated clock) raises the alarm two hours after the planned arrival.",
    ("OVERDUE",))


def park_in_a_rest_area_for_good(trip: Trip) -> None:
    zone = _on_this_route(rest_area_on(trip.region, trip.info))
    s, _ = arclength_of_nearest([v.p for v in trip.leg], zone.center)
    head, _ = split_verts(trip.leg, s)
    trip.drive(head)
    trip.m.go((zone.center[0] + 30, zone.center[1] + 45), 15)
    trip.m.wait(20 * 60)
    trip.sim.end_day(terminal_off_at=trip.m.t)
    trip.expect("OVERDUE", None, trip.planned_arrival + 7200, "planned arrival + 2 h")
    trip.notes.append(f"parked at {zone.name}, terminal off, never delivered")


# --- the table ----------------------------------------------------------------------------------

SCRIPTS: tuple[Script, ...] = (
    Script(CLEAN, loaded_leg=perhaps_a_rest_area_break),
    Script(DUMPING, loaded_leg=tip_part_of_the_load, suits_route=lambda r, i: dump_spot(r, i) is not None),
    Script(SKIMMING, before_loading=inflate_the_departure_ticket),
    Script(DIVERSION, loaded_leg=unload_half_at_another_site,
           suits_route=lambda r, i: diversion_site(r, i) is not None),
    Script(DETOUR, loaded_leg=loop_out_of_the_corridor, suits_route=lambda r, i: detour_via(r, i) is not None),
    Script(RESTRICTED, loaded_leg=cut_across_the_protected_zone,
           suits_route=lambda r, i: shortcut(r, i) is not None),
    Script(GPS_OFF, loaded_leg=switch_the_terminal_off_a_while, suits_route=at_least(9_000)),
    Script(GHOST, paper_only=tickets_and_signatures_only, max_trips=2),
    Script(SPOOF, loaded_leg=spoof_one_fix, suits_route=at_least(6_000)),
    Script(PLATE_SWAP, departure_plate=another_trucks_plate),
    Script(REUSED_TICKET, weighed_out=False, arrange_flows=start_at_the_same_generator,
           after_ticketing=name_an_earlier_ticket),
    Script(OVERDUE, loaded_leg=park_in_a_rest_area_for_good, delivers=False, max_trips=2,
           suits_route=lambda r, i: rest_area_on(r, i) is not None),
)
"""One row per scenario; the violations are planted in this order."""

SCRIPT_OF: dict[str, Script] = {s.scenario.name: s for s in SCRIPTS}
VIOLATIONS: tuple[Scenario, ...] = tuple(s.scenario for s in SCRIPTS if s.scenario.is_violation)
ALL: dict[str, Scenario] = {s.scenario.name: s.scenario for s in SCRIPTS}
