"""OsmAnd and Traccar Client requests into the canonical gps payloads of mqtt.md (pure).

Traccar's OsmAnd protocol (devices.md, "OsmAnd HTTP") comes in three shapes, all read here:
a ``GET`` query string, a form ``POST`` (its fields joined to the query's; the query's win), and
the JSON body Traccar Client 9 posts (``{"device_id", "location": {"timestamp", "coords":
{...}, "battery": {...}}}``; ``location`` may also be a list of them).

A fix becomes ``{"seq", "ts", "lat", "lon", "speed_kmh", "heading", "hdop", "attrs", "via":
"osmand"}`` for device ``osmand:{id}``:

* ``seq`` is the fix's time in whole epoch seconds, so a phone resending a fix it was not
  answered for is stored once; ``ts`` is that time in UTC (milliseconds kept when sent);
* ``timestamp`` is epoch seconds, or milliseconds when over 10¹¹, or ISO 8601 (a time without
  an offset is UTC, as Traccar reads it); a request without one is timed when it arrived;
* ``speed`` is in knots in the OsmAnd fields (× 1.852) and in m/s in the JSON body (× 3.6);
  ``bearing`` or ``heading`` is the heading; ``hdop`` stays ``hdop``;
* kept as ``attrs``: ``altitude`` (m), ``accuracy`` (m), the battery in percent (``batt``, or
  the JSON battery level × 100) and whether it is charging, and the JSON ``is_moving``;
* the JSON body's ``-1`` for an unknown speed or heading (the convention of the location
  library Traccar Client uses) means absent.

:func:`translate` never raises. It refuses, as :class:`Unreadable`, only what it cannot read:
no id, an id that cannot name a device, an unknown device, a body that is neither form nor
JSON, a missing position, a number that does not parse (or is not finite), a latitude or
longitude out of range, a time that is not a time. Everything else is published, and the
bridge judges it like any device's message (a fix at (0, 0), a time a year old, a heading of
400 are the bridge's to quarantine).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from mqtt_bridge.gateways.publisher import device_topic
from mqtt_bridge.signing import canonical_json

VIA = "osmand"
DEVICE_PREFIX = "osmand:"
KNOTS_TO_KMH = 1.852
MS_TO_KMH = 3.6
MILLISECONDS_ABOVE = 10**11
MAX_FIXES = 1000
MAX_FIELDS = 200

_DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

REASONS = frozenset({"no_id", "bad_id", "unknown_device", "bad_body", "missing_field", "bad_number",
                     "bad_latitude", "bad_longitude", "bad_timestamp", "too_many_fixes", "too_large",
                     "internal_error"})
"""Every reason a request is refused for (``too_large``: the edge's, for a body over its limit)."""


@dataclass(frozen=True)
class Request:
    """What the HTTP edge hands over: enough to read any of the three shapes."""

    method: str
    content_type: str
    query: str
    body: bytes


@dataclass(frozen=True)
class Translated:
    device_id: str
    messages: list[tuple[str, bytes]]


@dataclass(frozen=True)
class Unreadable:
    reason: str
    detail: str
    device_id: str | None = None  # set when the request named a possible device id


class _Refusal(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.raw_id: str | None = None  # the id the request gave, once read


@contextmanager
def _naming(raw_id: str) -> Iterator[None]:
    """A refusal raised inside names the device the request was for."""
    try:
        yield
    except _Refusal as refusal:
        refusal.raw_id = raw_id
        raise


def translate(request: Request, known: Callable[[str], bool], now: datetime) -> Translated | Unreadable:
    """The messages to publish for ``request``, or why it cannot be read. Never raises."""
    device_id = None
    try:
        raw_id, fixes = read_request(request, now)
        device_id = device_id_of(raw_id)
        if not known(device_id):
            raise _Refusal("unknown_device", f"no device registered as {device_id}")
        topic = device_topic(device_id, "gps")
        return Translated(device_id, [(topic, encode(fix)) for fix in fixes])
    except _Refusal as refusal:
        return Unreadable(refusal.reason, refusal.detail, device_id or _possible_id(refusal.raw_id))
    except Exception as exc:  # a bug here must cost one request, not the gateway
        return Unreadable("internal_error", f"{type(exc).__name__}: {str(exc)[:200]}", device_id)


def _possible_id(raw_id: str | None) -> str | None:
    """The device a refused request named, when it could be one (for its quarantine record)."""
    if raw_id is None:
        return None
    device_id = DEVICE_PREFIX + raw_id.strip()
    return device_id if _DEVICE_ID.fullmatch(device_id) else None


def device_id_of(raw_id: str) -> str:
    device_id = DEVICE_PREFIX + raw_id.strip()
    if not _DEVICE_ID.fullmatch(device_id):
        raise _Refusal("bad_id", f"id {raw_id[:40]!r} cannot name a device: osmand:{{id}} must be 1-64 "
                                 "characters of A-Z a-z 0-9 . _ : -")
    return device_id


def encode(payload: dict) -> bytes:
    return canonical_json({**payload, "via": VIA})


def read_request(request: Request, now: datetime) -> tuple[str, list[dict]]:
    """(the phone's own id, its fixes) from any of the three shapes."""
    if _is_json(request):
        return read_json(request.body, now)
    fields = _form_fields(request.query.encode("latin-1", "replace"), "query string")
    if request.body.strip():
        body_fields = _form_fields(request.body, "form body")
        fields = {**body_fields, **fields}
    return read_fields(fields, now)


def _is_json(request: Request) -> bool:
    if "json" in request.content_type.lower():
        return True
    return "form" not in request.content_type.lower() and request.body.lstrip()[:1] in (b"{", b"[")


def _form_fields(raw: bytes, where: str) -> dict[str, str]:
    """Each field's first value (a form is read as Traccar reads it)."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Refusal("bad_body", f"the {where} is not a UTF-8 form ({str(exc)[:80]})") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key.strip().lower(), value)
    return fields


# --- the OsmAnd fields ---------------------------------------------------------------------------

def read_fields(fields: dict[str, str], now: datetime) -> tuple[str, list[dict]]:
    raw_id = fields.get("id") or fields.get("deviceid") or ""
    if not raw_id.strip():
        raise _Refusal("no_id", "the request names no device: give id (or deviceid)")
    with _naming(raw_id):
        return raw_id, [_form_fix(fields, now)]


def _form_fix(fields: dict[str, str], now: datetime) -> dict:
    lat, lon = _form_position(fields)
    moment = _moment(fields["timestamp"], "timestamp") if fields.get("timestamp", "").strip() else now
    speed = _optional(fields, "speed")
    fix = _fix(moment, lat, lon)
    _put(fix, "speed_kmh", None if speed is None else round(speed * KNOTS_TO_KMH, 2))
    _put(fix, "heading", _optional(fields, "bearing") if "bearing" in fields else _optional(fields, "heading"))
    _put(fix, "hdop", _optional(fields, "hdop"))
    attrs: dict = {}
    _put(attrs, "altitude_m", _optional(fields, "altitude"))
    _put(attrs, "accuracy_m", _optional(fields, "accuracy"))
    _put(attrs, "battery_pct", _optional(fields, "batt"))
    if fields.get("charge", "").strip():
        attrs["charging"] = fields["charge"].strip().lower() in ("true", "1")
    _put(fix, "attrs", attrs or None)
    return fix


def _form_position(fields: dict[str, str]) -> tuple[float, float]:
    if "lat" in fields or "lon" in fields:
        return _latitude(fields.get("lat"), "lat"), _longitude(fields.get("lon"), "lon")
    if "location" in fields:
        parts = fields["location"].split(",")
        if len(parts) != 2:
            raise _Refusal("bad_number", f"location {fields['location'][:40]!r} must be lat,lon")
        return _latitude(parts[0], "location"), _longitude(parts[1], "location")
    raise _Refusal("missing_field", "the request has no position: give lat and lon (or location=lat,lon)")


def _optional(fields: dict[str, str], name: str) -> float | None:
    value = fields.get(name, "")
    return _number(value, name) if value.strip() else None


# --- Traccar Client's JSON -----------------------------------------------------------------------

def read_json(body: bytes, now: datetime) -> tuple[str, list[dict]]:
    try:
        root = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Refusal("bad_body", f"the body is not JSON ({str(exc)[:80]})") from None
    if not isinstance(root, dict):
        raise _Refusal("bad_body", "the JSON body must be an object with device_id and location")
    raw_id = root.get("device_id", root.get("id"))
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise _Refusal("no_id", "the JSON body names no device: give device_id")
    locations = root.get("location")
    locations = locations if isinstance(locations, list) else [locations]
    with _naming(raw_id):
        if len(locations) > MAX_FIXES:
            raise _Refusal("too_many_fixes", f"{len(locations)} locations in one request; at most {MAX_FIXES}")
        fixes = [_json_fix(location, root, f"location[{i}]" if len(locations) > 1 else "location", now)
                 for i, location in enumerate(locations)]
    return raw_id, fixes


def _no_constant(token: str) -> float:
    raise ValueError(f"{token} is not a number JSON allows")


def _json_fix(location: object, root: dict, path: str, now: datetime) -> dict:
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise _Refusal("missing_field", f"{path}.coords with latitude and longitude is missing")
    coords = location["coords"]
    lat = _latitude(coords.get("latitude"), f"{path}.coords.latitude")
    lon = _longitude(coords.get("longitude"), f"{path}.coords.longitude")
    stamp = location.get("timestamp")
    moment = now if stamp is None or stamp == "" else _moment(stamp, f"{path}.timestamp")
    fix = _fix(moment, lat, lon)
    speed = _known(_json_number(coords, "speed", path))
    _put(fix, "speed_kmh", None if speed is None else round(speed * MS_TO_KMH, 2))
    _put(fix, "heading", _known(_json_number(coords, "heading", path)))
    attrs: dict = {}
    _put(attrs, "altitude_m", _json_number(coords, "altitude", path))
    _put(attrs, "accuracy_m", _json_number(coords, "accuracy", path))
    _battery(location.get("battery", root.get("battery")), attrs, path)
    if isinstance(location.get("is_moving"), bool):
        attrs["moving"] = location["is_moving"]
    _put(fix, "attrs", attrs or None)
    return fix


def _battery(battery: object, attrs: dict, path: str) -> None:
    if not isinstance(battery, dict):
        return
    level = _json_number(battery, "level", f"{path}.battery")
    if level is not None and level >= 0:
        attrs["battery_pct"] = round(level * 100, 1) if level <= 1 else level
    if isinstance(battery.get("is_charging"), bool):
        attrs["charging"] = battery["is_charging"]


def _json_number(obj: dict, name: str, path: str) -> float | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Refusal("bad_number", f"{path}.{name} must be a number, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > 1e15:
            raise _Refusal("bad_number", f"{path}.{name} must be a finite number")
        return float(value)
    if isinstance(value, str):
        return _number(value, f"{path}.{name}")
    raise _Refusal("bad_number", f"{path}.{name} must be a number")


def _known(value: float | None) -> float | None:
    """-1 (any negative) is the location library's 'unknown'."""
    return None if value is None or value < 0 else value


# --- values --------------------------------------------------------------------------------------

def _fix(moment: datetime, lat: float, lon: float) -> dict:
    return {"seq": math.floor(moment.timestamp()), "ts": iso_utc(moment), "lat": lat, "lon": lon}


def _put(target: dict, name: str, value: object) -> None:
    if value is not None:
        target[name] = value


def iso_utc(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _number(value: object, name: str) -> float:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, bool) or not (isinstance(text, int | float) or
                                      (isinstance(text, str) and _NUMBER.fullmatch(text))):
        raise _Refusal("bad_number", f"{name} {str(value)[:40]!r} is not a number")
    number = float(text)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise _Refusal("bad_number", f"{name} {str(value)[:40]!r} is not a finite number")
    return number


def _latitude(value: object, name: str) -> float:
    if value is None or value == "":
        raise _Refusal("missing_field", f"{name} (latitude) is missing")
    lat = _number(value, name)
    if not -90 <= lat <= 90:
        raise _Refusal("bad_latitude", f"{name} latitude {lat} is outside -90..90")
    return lat


def _longitude(value: object, name: str) -> float:
    if value is None or value == "":
        raise _Refusal("missing_field", f"{name} (longitude) is missing")
    lon = _number(value, name)
    if not -180 <= lon <= 180:
        raise _Refusal("bad_longitude", f"{name} longitude {lon} is outside -180..180")
    return lon


def _moment(value: object, name: str) -> datetime:
    """Epoch seconds, epoch milliseconds (over 10¹¹), or ISO 8601 (UTC when it has no offset)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool) or \
                isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            seconds = float(value.strip() if isinstance(value, str) else value)
            seconds = seconds / 1000 if abs(seconds) > MILLISECONDS_ABOVE else seconds
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _Refusal("bad_timestamp", f"{name} {str(value)[:40]!r} is not epoch seconds, milliseconds or ISO 8601")
