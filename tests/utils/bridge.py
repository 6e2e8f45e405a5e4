"""Shared fixtures-as-functions for the bridge tests: a small registry and payload builders."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mqtt_bridge.parsing import Accepted, DeviceInfo, Rejected, parse_message
from mqtt_bridge.signing import signed_payload

NOW = datetime(2026, 11, 23, 0, 5, 0, tzinfo=UTC)  # 08:05 in Baotou (+08:00)
TS = "2026-11-23T08:00:05+08:00"                                # 5 minutes before NOW

SECRET = "s3cret-for-tests"
NEW_SECRET = "n3w-s3cret-after-rotation"

DEVICES = {
    d.id: d
    for d in [
        DeviceInfo("gps-1", "gps", SECRET, True, vehicle_id=1),
        DeviceInfo("gps-legacy", "gps", SECRET, False, vehicle_id=2),
        DeviceInfo("load-1", "load_cell", SECRET, True, vehicle_id=1),
        DeviceInfo("wb-1", "weighbridge", SECRET, True, site_id=7),
        DeviceInfo("owntracks:alice/phone", "gps", "", False, vehicle_id=3),
        DeviceInfo("gps-off", "gps", SECRET, True, vehicle_id=4, enabled=False),
        DeviceInfo("gps-rotated", "gps", NEW_SECRET, True, vehicle_id=5, previous_secrets=(SECRET,)),
    ]
}


def lookup(device_id: str) -> DeviceInfo | None:
    return DEVICES.get(device_id)


def gps_fix(**overrides) -> dict:
    fix = {"seq": 1042, "ts": TS, "lat": 40.6571, "lon": 109.8403,
           "speed_kmh": 42.5, "heading": 271, "hdop": 0.9}
    return _apply(fix, overrides)


def load_reading(**overrides) -> dict:
    return _apply({"seq": 77, "ts": TS, "load_kg": 24180}, overrides)


def weigh_ticket(**overrides) -> dict:
    ticket = {"seq": 9, "ts": TS, "ticket_no": "BT-20261123-0031", "plate": "蒙B12345",
              "gross_kg": 49260, "tare_kg": 15080, "net_kg": 34180,
              "gross_at": "2026-11-23T07:40:00+08:00", "tare_at": "2026-11-23T07:10:00+08:00",
              "manifest_no": "WF-150200-20261123-000042"}
    return _apply(ticket, overrides)


def owntracks_location(**overrides) -> dict:
    tst = int(NOW.timestamp()) - 60
    return _apply({"_type": "location", "lat": 40.6571, "lon": 109.8403, "tst": tst,
                   "vel": 40, "cog": 90, "acc": 12, "tid": "ph"}, overrides)


DROP = object()  # as an override value: remove the field


def _apply(base: dict, overrides: dict) -> dict:
    """Overrides replace fields; an override of DROP removes the field."""
    merged = {**base, **overrides}
    return {key: value for key, value in merged.items() if value is not DROP}


def signed(device_id: str, payload: dict) -> bytes:
    return signed_payload(device_id, DEVICES[device_id].secret, payload)


def unsigned(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def topic(device_id: str, kind: str) -> str:
    return f"wf/v1/dev/{device_id}/{kind}"


def parse(topic_name: str, payload: bytes, **kwargs) -> Accepted | Rejected:
    return parse_message(topic_name, payload, lookup, NOW, **kwargs)
