"""Weighings paired into weigh tickets (devices.md, mqtt.md "weigh"). Pure.

Two weighings of the same plate within 12 h make a ticket: the heavier is gross, the lighter
tare, each with its own time, so an outbound ticket (empty in, loaded out) and an inbound one
(loaded in, empty out) both come out right whichever weighing came first. A ticket is numbered
``{device_id}-{YYYYMMDD}-{n:05d}`` (the day of its later weighing in China Standard Time, where
weighbridges keep their books) and published with ``seq`` = n and ``ts`` = the later weighing's
time: both fixed when the ticket is made, so a resend is the same message and is stored once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from mqtt_bridge.signing import sign

PAIR_WITHIN = timedelta(hours=12)
PLATE_EXPIRES = timedelta(minutes=10)
BOOK_TIME = timezone(timedelta(hours=8), "CST")
VIA = "scale"


@dataclass(frozen=True)
class Weighing:
    id: int
    kg: int
    at: datetime
    plate: str | None = None
    manifest_no: str | None = None


def pairs_with(first: Weighing, second: Weighing) -> bool:
    """Same plate, within 12 h of each other."""
    return first.plate is not None and first.plate == second.plate and abs(first.at - second.at) <= PAIR_WITHIN


def ticket_day(first: Weighing, second: Weighing) -> date:
    return max(first.at, second.at).astimezone(BOOK_TIME).date()


def ticket_no(device_id: str, day: date, n: int) -> str:
    return f"{device_id}-{day:%Y%m%d}-{n:05d}"


def _iso(at: datetime) -> str:
    return at.astimezone(BOOK_TIME).isoformat(timespec="seconds")


def ticket_payload(device_id: str, n: int, first: Weighing, second: Weighing) -> dict:
    """The weigh payload (unsigned) of the ticket numbered ``n`` made of two weighings."""
    gross, tare = (first, second) if first.kg >= second.kg else (second, first)
    later = max(first.at, second.at)
    payload = {"seq": n, "ts": _iso(later), "ticket_no": ticket_no(device_id, ticket_day(first, second), n),
               "plate": gross.plate or tare.plate, "gross_kg": gross.kg, "tare_kg": tare.kg,
               "net_kg": gross.kg - tare.kg, "gross_at": _iso(gross.at), "tare_at": _iso(tare.at), "via": VIA}
    manifest_no = second.manifest_no or first.manifest_no
    if manifest_no:
        payload["manifest_no"] = manifest_no
    return payload


def signed_bytes(device_id: str, secret: str, payload: dict) -> bytes:
    """The wire bytes, signed with the weighbridge's secret (mqtt.md, "Signatures")."""
    body = dict(payload, sig=sign(device_id, secret, payload))
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
