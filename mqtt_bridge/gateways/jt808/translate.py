"""Locations into the canonical payloads of mqtt.md (pure).

A fix is the gps payload with ``seq`` = the frame's serial number, ``ts`` in UTC,
``speed_kmh`` and ``heading``, ``"via": "jt808"``, and the terminal's words as ``attrs``:
alarm and status, mileage (item ``0x01``, km), signal strength (``0x30``), satellites
(``0x31``), the load state of status bits 8-9, and ``blind_area`` for a back-filled fix.
A device registered with a ``load_item`` also gets a load reading from that item.

The bridge judges every reading. One thing is decided here for its sake: a batch is
accepted or quarantined whole (mqtt.md), so a location the bridge would certainly refuse
(a position out of range or (0, 0), a direction over 360, a time outside its window) is
published on its own, where its refusal costs the rest of the batch nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from mqtt_bridge.gateways.jt808.messages import (
    ITEM_MILEAGE,
    ITEM_SATELLITES,
    ITEM_SIGNAL,
    Location,
)
from mqtt_bridge.gateways.publisher import device_topic
from mqtt_bridge.parsing import Limits

VIA = "jt808"
MAX_ITEMS_PER_MESSAGE = 500
"""Well under the bridge's 1,000-item and 256 KiB limits (a fix with its attrs is ~300 bytes)."""

LOAD_STATES = {0: "empty", 1: "half", 2: "reserved", 3: "full"}
_LIMITS = Limits()
_PAST_MARGIN = timedelta(hours=1)  # the bridge receives later than we judge: keep clear of its edge
_FUTURE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class LoadItem:
    """Where a vendor's terminal carries the measured load: item id, its size, kg per unit."""

    id: int
    bytes: int
    unit_kg: float

    @classmethod
    def from_registry(cls, value: dict | None) -> LoadItem | None:
        if not value:
            return None
        return cls(int(value["id"]), int(value["bytes"]), float(value["unit_kg"]))


def iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def attrs(location: Location, blind_area: bool = False) -> dict:
    out: dict = {"alarm": location.alarm, "status": location.status,
                 "load_state": LOAD_STATES[location.load_state], "altitude_m": location.altitude_m}
    mileage = location.item_int(ITEM_MILEAGE)
    if mileage is not None:
        out["mileage_km"] = mileage / 10
    for name, item in (("signal", ITEM_SIGNAL), ("satellites", ITEM_SATELLITES)):
        value = location.item_int(item)
        if value is not None:
            out[name] = value
    if blind_area:
        out["blind_area"] = True
    if location.items_cut:
        out["items_cut"] = True
    return out


def fix(location: Location, seq: int, blind_area: bool = False) -> dict:
    return {"seq": seq, "ts": iso_utc(location.ts), "lat": location.lat, "lon": location.lon,
            "speed_kmh": location.speed_kmh, "heading": location.direction, "attrs": attrs(location, blind_area)}


def load_reading(location: Location, seq: int, item: LoadItem) -> dict | None:
    """The vendor load item as a load reading; None when the item is absent or not of its registered size."""
    value = location.items.get(item.id)
    if value is None or len(value) != item.bytes:
        return None
    return {"seq": seq, "ts": iso_utc(location.ts), "load_kg": round(int.from_bytes(value, "big") * item.unit_kg)}


def plausible(location: Location, now: datetime) -> bool:
    """Would the bridge take this fix? (If not, it travels alone: see the module docstring.)"""
    lat, lon = location.lat, location.lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0) or location.direction > 360:
        return False
    return in_time_window(location.ts, now)


def in_time_window(ts: datetime, now: datetime) -> bool:
    oldest = now - timedelta(seconds=_LIMITS.max_past_s) + _PAST_MARGIN
    latest = now + timedelta(seconds=_LIMITS.max_future_s) - _FUTURE_MARGIN
    return oldest <= ts <= latest


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def messages(device_id: str, kind: str, items: list[dict], alone: list[dict]) -> list[tuple[str, bytes]]:
    """``items`` as batches of at most :data:`MAX_ITEMS_PER_MESSAGE` (one item: a single message),
    and each of ``alone`` as a message of its own."""
    topic = device_topic(device_id, kind)
    out = [(topic, encode({**item, "via": VIA})) for item in alone]
    if len(items) == 1:
        out.append((topic, encode({**items[0], "via": VIA})))
    elif items:
        for start in range(0, len(items), MAX_ITEMS_PER_MESSAGE):
            out.append((topic, encode({"batch": items[start:start + MAX_ITEMS_PER_MESSAGE], "via": VIA})))
    return out


def location_messages(device_id: str, seq: int, locations: list[Location], now: datetime,
                      load_item: LoadItem | None = None, blind_area: bool = False) -> list[tuple[str, bytes]]:
    """Every publish one location report (or batch) makes: the fixes of the locations that have
    one, and the load readings of all of them (a load measured without a fix is still a load)."""
    fixes: tuple[list[dict], list[dict]] = ([], [])  # (batched, alone)
    loads: tuple[list[dict], list[dict]] = ([], [])
    for location in locations:
        if location.has_fix:
            fixes[not plausible(location, now)].append(fix(location, seq, blind_area))
        reading = load_reading(location, seq, load_item) if load_item else None
        if reading is not None:
            loads[not in_time_window(location.ts, now)].append(reading)
    return messages(device_id, "gps", *fixes) + messages(device_id, "load", *loads)
