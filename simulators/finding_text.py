"""Findings in a regulator's words: what each code means, and one line reading a finding's evidence.

:data:`READINGS` is a table of small functions, one per finding code, each turning that
code's evidence (the API's ``evidence`` object) into a line of text; a new finding code gets
a :data:`MEANING` and, if its evidence deserves better than the generic fallback, a reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

MEANING = {
    "ROUTE_DEVIATION": "left the planned route's corridor while loaded",
    "UNAUTHORIZED_STOP": "stood ≥ 10 min while loaded, away from the sites, rest areas and own depot",
    "LOAD_DROP": "the on-board load fell outside the receiving site",
    "DIVERSION": "stayed ≥ 5 min inside another registered site while loaded",
    "RESTRICTED_ZONE_ENTRY": "entered a restricted zone while loaded",
    "IMPOSSIBLE_JUMP": "two fixes imply more than 180 km/h over more than 1 km",
    "OVERDUE": "dispatched, not received by the planned arrival + 2 h",
    "GPS_GAP": "no fix for ≥ 10 min between dispatch and receipt",
    "NO_TRACK": "received, but no fix at all between dispatch and receipt",
    "NEVER_ARRIVED": "received, but the truck was never inside the receiving site",
    "TONNAGE_SHORTFALL": "arrival net below departure net − tolerance",
    "TONNAGE_SURPLUS": "arrival net above departure net + tolerance",
    "DECLARATION_MISMATCH": "departure net differs from the declared kg by > 10 %",
    "ACCEPTANCE_MISMATCH": "accepted kg differs from the arrival net beyond tolerance",
    "MISSING_TICKET": "received without a departure or arrival weigh ticket",
    "PLATE_MISMATCH": "a weigh ticket naming this manifest carries another plate",
    "DUPLICATE_TICKET": "a ticket already linked to one manifest presented for another",
    "CAPACITY_EXCEEDED": "a receiver's accepted tonnage this year exceeds its permit",
}

Evidence = dict[str, Any]
SiteNames = dict[Any, str]  # registered site id -> name
Reading = Callable[[Evidence, SiteNames], str]


def local_time(ts: str | None, fmt: str = "%H:%M:%S") -> str:
    """An API timestamp as local (Asia/Shanghai) clock time; a dash when there is none."""
    if not ts:
        return "–"
    return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).astimezone(TZ).strftime(fmt)


def _hm(ts: str | None) -> str:
    return local_time(ts, "%H:%M")


def _km(m: float | None) -> str:
    return f"{m / 1000:.1f} km" if m is not None and m >= 1000 else f"{m:.0f} m" if m is not None else "?"


def _stop(ev: Evidence, _: SiteNames) -> str:
    return (f"stood {ev['duration_s'] / 60:.0f} min ({_hm(ev['start'])}–{_hm(ev['end'])}), "
            f"{_km(ev.get('distance_to_generator_m'))} from the generator, "
            f"{_km(ev.get('distance_to_receiver_m'))} from the receiver")


def _load_drop(ev: Evidence, _: SiteNames) -> str:
    return (f"load fell from {ev['reference_kg']:,} kg to {ev['level_kg']:,} kg (−{ev['drop_kg']:,} kg) "
            f"between {_hm(ev['start'])} and {_hm(ev['end'])}")


def _shortfall(ev: Evidence, _: SiteNames) -> str:
    cands = ev.get("candidates") or []
    where = (f"; {len(cands)} candidate place(s): " + ", ".join(c["kind"].replace("_", " ") for c in cands[:3])
             if cands else "; no stop or load drop on the way")
    return (f"departed {ev['departure_net_kg']:,} kg, arrived {ev['arrival_net_kg']:,} kg: "
            f"{-ev['difference_kg']:,} kg short (tolerance {ev['tolerance_kg']:,.0f} kg){where}")


def _surplus(ev: Evidence, _: SiteNames) -> str:
    return (f"departed {ev['departure_net_kg']:,} kg, arrived {ev['arrival_net_kg']:,} kg "
            f"(+{ev['difference_kg']:,} kg, tolerance {ev['tolerance_kg']:,.0f} kg)")


def _inside_a_place(ev: Evidence, _: SiteNames) -> str:
    return (f"{ev['duration_s'] / 60:.0f} min inside {ev['place_name']} "
            f"({_hm(ev['start'])}–{_hm(ev['end'])}, {ev['fix_count']} fixes)")


def _route_deviation(ev: Evidence, _: SiteNames) -> str:
    return (f"{ev['fix_count']} fixes over {ev['duration_s'] / 60:.0f} min outside the {ev['corridor_m']:.0f} m "
            f"corridor, up to {_km(ev['max_distance_m'])} from the route")


def _jump(ev: Evidence, _: SiteNames) -> str:
    s = ev["steps"][0]
    return (f"{_km(s['distance_m'])} in {s['seconds']:.0f} s ({s['speed_kmh']:,.0f} km/h) "
            f"at {local_time(s['from_ts'])}")


def _gps_gap(ev: Evidence, _: SiteNames) -> str:
    return (f"no fix for {ev['gap_s'] / 60:.0f} min from {_hm(ev['before']['ts'])}; "
            f"{_km(ev['distance_m'])} between the fixes either side")


def _no_track(ev: Evidence, _: SiteNames) -> str:
    return f"no fix from the truck's terminal between {_hm(ev['window_start'])} and {_hm(ev['window_end'])}"


def _never_arrived(ev: Evidence, _: SiteNames) -> str:
    return f"closest approach to the receiving site {_km(ev.get('closest_approach_m'))}"


def _overdue(ev: Evidence, _: SiteNames) -> str:
    return (f"deadline {_hm(ev['deadline'])}, overdue by {ev['overdue_s'] / 3600:.1f} h"
            + (f"; last fix {_hm(ev['last_fix']['ts'])}" if ev.get("last_fix") else ""))


def _plate_mismatch(ev: Evidence, _: SiteNames) -> str:
    return (f"ticket {ev['ticket_no']} weighed {ev['ticket_plate']}, the manifest names {ev['manifest_plate']} "
            f"(net {ev['net_kg']:,} kg)")


def _duplicate_ticket(ev: Evidence, site_names: SiteNames) -> str:
    return (f"ticket {ev['ticket_no']} ({site_names.get(ev.get('site_id'), 'site')}) already belongs to "
            f"{ev['already_linked_to']}")


def _missing_ticket(ev: Evidence, _: SiteNames) -> str:
    return "no " + " and no ".join(ev.get("missing", [])) + " weigh ticket"


def _declaration_mismatch(ev: Evidence, _: SiteNames) -> str:
    return (f"declared {ev['declared_kg']:,} kg, weighed out {ev['departure_net_kg']:,} kg "
            f"({ev['difference_pct']:+.1f} %)")


def _acceptance_mismatch(ev: Evidence, _: SiteNames) -> str:
    return f"accepted {ev['accepted_kg']:,} kg, weighed in {ev['arrival_net_kg']:,} kg"


def _capacity_exceeded(ev: Evidence, _: SiteNames) -> str:
    return (f"{ev['site_name']}: {ev['year_accepted_kg'] / 1000:,.0f} t accepted this year, "
            f"permit {ev['capacity_kg'] / 1000:,.0f} t")


READINGS: dict[str, Reading] = {
    "UNAUTHORIZED_STOP": _stop,
    "LOAD_DROP": _load_drop,
    "TONNAGE_SHORTFALL": _shortfall,
    "TONNAGE_SURPLUS": _surplus,
    "DIVERSION": _inside_a_place,
    "RESTRICTED_ZONE_ENTRY": _inside_a_place,
    "ROUTE_DEVIATION": _route_deviation,
    "IMPOSSIBLE_JUMP": _jump,
    "GPS_GAP": _gps_gap,
    "NO_TRACK": _no_track,
    "NEVER_ARRIVED": _never_arrived,
    "OVERDUE": _overdue,
    "PLATE_MISMATCH": _plate_mismatch,
    "DUPLICATE_TICKET": _duplicate_ticket,
    "MISSING_TICKET": _missing_ticket,
    "DECLARATION_MISMATCH": _declaration_mismatch,
    "ACCEPTANCE_MISMATCH": _acceptance_mismatch,
    "CAPACITY_EXCEEDED": _capacity_exceeded,
}


def describe(f: dict, site_names: SiteNames) -> str:
    """One line a regulator can read: what the evidence says (its first plain fields if unreadable)."""
    ev = f.get("evidence") or {}
    reading = READINGS.get(f["code"])
    if reading is not None:
        try:
            return reading(ev, site_names)
        except (KeyError, TypeError, IndexError, ValueError):
            pass  # evidence of another shape than expected: fall back to its plain fields
    flat = [f"{k} {v}" for k, v in ev.items() if isinstance(v, (int, float, str))][:5]
    return "; ".join(flat)
