"""JT/T 808 message bodies: the terminal's messages read, the platform's replies written.

Pure: a body in, a record or a :class:`BodyError` out, never an exception. Only what
devices.md's table needs is read; the rest of a body (a register message's plate, vendor
items of a location report) is skipped by its length.

Location report (``0x0200``, and each item of a ``0x0704`` batch): alarm DWORD, status
DWORD, latitude DWORD and longitude DWORD in 10⁻⁶ degrees (status bit 2 south, bit 3
west), altitude WORD (signed, metres), speed WORD (0.1 km/h), direction WORD, time
BCD[6] ``YYMMDDhhmmss`` in GMT+8, then additional items (id BYTE, length BYTE, value).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from mqtt_bridge.gateways.jt808.framing import V2019

# Terminal -> platform
TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
LOCATION_BATCH = 0x0704
# Platform -> terminal
PLATFORM_RESPONSE = 0x8001
RESEND_PACKAGES = 0x8003
REGISTER_RESPONSE = 0x8100

# 0x8001 results
OK, FAILED, MESSAGE_ERROR, UNSUPPORTED = 0, 1, 2, 3
# 0x8100 results
REGISTERED, NO_SUCH_TERMINAL = 0, 4

# 0x0704 batch types
BATCH_NORMAL, BATCH_BLIND_AREA = 0, 1

# Additional items kept as attributes
ITEM_MILEAGE, ITEM_SIGNAL, ITEM_SATELLITES = 0x01, 0x30, 0x31

BEIJING = timezone(timedelta(hours=8))
_BASIC = struct.Struct(">IIIIhHH6s")  # alarm, status, lat, lon, altitude (signed), speed, direction, time
STATUS_FIX, STATUS_SOUTH, STATUS_WEST = 1 << 1, 1 << 2, 1 << 3


@dataclass(frozen=True)
class BodyError:
    reason: str  # bad_body | bad_time
    detail: str


@dataclass(frozen=True)
class Location:
    alarm: int
    status: int
    lat: float  # signed degrees (south negative)
    lon: float  # signed degrees (west negative)
    altitude_m: int
    speed_kmh: float
    direction: int
    ts: datetime  # UTC
    items: dict[int, bytes] = field(default_factory=dict)
    items_cut: bool = False  # the last additional item overran the body and was dropped

    @property
    def has_fix(self) -> bool:
        return bool(self.status & STATUS_FIX)

    @property
    def load_state(self) -> int:
        """Status bits 8-9: 0 empty, 1 half, 3 full (2 is reserved)."""
        return (self.status >> 8) & 0x03

    def item_int(self, item_id: int) -> int | None:
        value = self.items.get(item_id)
        return int.from_bytes(value, "big") if value else None


@dataclass(frozen=True)
class Batch:
    kind: int  # BATCH_NORMAL or BATCH_BLIND_AREA
    items: list[Location | BodyError]


def bcd_time(raw: bytes) -> datetime | BodyError:
    """``YYMMDDhhmmss`` in GMT+8 to an aware UTC datetime."""
    digits = raw.hex()
    if not digits.isdigit():
        return BodyError("bad_time", f"time {digits!r} is not BCD")
    yy, mo, dd, hh, mi, ss = (int(digits[i:i + 2]) for i in range(0, 12, 2))
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return BodyError("bad_time", f"time {digits} is not a date and time (YYMMDDhhmmss)")


def decode_location(body: bytes) -> Location | BodyError:
    if len(body) < _BASIC.size:
        return BodyError("bad_body", f"location body is {len(body)} bytes, shorter than its {_BASIC.size} fixed bytes")
    alarm, status, lat_raw, lon_raw, altitude, speed, direction, time_raw = _BASIC.unpack_from(body)
    ts = bcd_time(time_raw)
    if isinstance(ts, BodyError):
        return ts
    lat = -lat_raw / 1e6 if status & STATUS_SOUTH else lat_raw / 1e6
    lon = -lon_raw / 1e6 if status & STATUS_WEST else lon_raw / 1e6
    items, cut = _items(body, _BASIC.size)
    return Location(alarm, status, lat, lon, altitude, speed / 10, direction, ts, items, cut)


def _items(body: bytes, at: int) -> tuple[dict[int, bytes], bool]:
    """Additional items by id (a repeated id: the last wins); True when the last one overran the body."""
    items: dict[int, bytes] = {}
    while at + 2 <= len(body):
        item_id, length = body[at], body[at + 1]
        end = at + 2 + length
        if end > len(body):
            return items, True
        items[item_id] = body[at + 2:end]
        at = end
    return items, at != len(body)


def decode_batch(body: bytes) -> Batch | BodyError:
    """``0x0704``: count WORD, type BYTE, then each location with its length WORD in front."""
    if len(body) < 3:
        return BodyError("bad_body", f"batch body is {len(body)} bytes, shorter than its count and type")
    count, kind = int.from_bytes(body[0:2], "big"), body[2]
    if kind not in (BATCH_NORMAL, BATCH_BLIND_AREA):
        return BodyError("bad_body", f"batch type {kind} is neither 0 (normal) nor 1 (blind-area back-fill)")
    items: list[Location | BodyError] = []
    at = 3
    while at < len(body):
        if at + 2 > len(body):
            return BodyError("bad_body", f"batch item {len(items)} has a cut-off length")
        length = int.from_bytes(body[at:at + 2], "big")
        if at + 2 + length > len(body):
            return BodyError("bad_body", f"batch item {len(items)} declares {length} bytes, "
                                         f"{len(body) - at - 2} remain")
        items.append(decode_location(body[at + 2:at + 2 + length]))
        at += 2 + length
    if len(items) != count:
        return BodyError("bad_body", f"batch declares {count} items and holds {len(items)}")
    return Batch(kind, items)


def decode_auth_code(body: bytes, version: int) -> bytes:
    """The authentication code of a ``0x0102``: the whole body (2013), or length BYTE + code (2019)."""
    if version == V2019:
        return body[1:1 + body[0]] if body else b""
    return body.rstrip(b"\x00")


# --- the platform's replies --------------------------------------------------------------------


def platform_response(serial: int, msg_id: int, result: int) -> bytes:
    """``0x8001`` body: the answered serial and message id, and the result."""
    return serial.to_bytes(2, "big") + msg_id.to_bytes(2, "big") + bytes([result])


def register_response(serial: int, result: int, auth_code: str = "") -> bytes:
    """``0x8100`` body: the answered serial, the result and, on success, the authentication code."""
    body = serial.to_bytes(2, "big") + bytes([result])
    return body + auth_code.encode("ascii") if result == REGISTERED else body


def resend_request(first_serial: int, missing: list[int], version: int) -> bytes:
    """``0x8003`` body: the first package's serial, the count (BYTE in 2013, WORD in 2019), the ids."""
    count = len(missing).to_bytes(2 if version == V2019 else 1, "big")
    return first_serial.to_bytes(2, "big") + count + b"".join(n.to_bytes(2, "big") for n in missing)


# --- what a terminal sends (the simulator and the tests write these) ---------------------------


def location_body(lat: float, lon: float, when: datetime, *, speed_kmh: float = 0.0, direction: int = 0,
                  altitude_m: int = 0, alarm: int = 0, status: int = STATUS_FIX,
                  items: dict[int, bytes] | None = None) -> bytes:
    status |= (STATUS_SOUTH if lat < 0 else 0) | (STATUS_WEST if lon < 0 else 0)
    local = when.astimezone(BEIJING)
    time_raw = bytes.fromhex(local.strftime("%y%m%d%H%M%S"))
    body = _BASIC.pack(alarm, status, round(abs(lat) * 1e6), round(abs(lon) * 1e6), altitude_m,
                       round(speed_kmh * 10), direction, time_raw)
    return body + b"".join(bytes([k, len(v)]) + v for k, v in (items or {}).items())


def batch_body(kind: int, locations: list[bytes]) -> bytes:
    return (len(locations).to_bytes(2, "big") + bytes([kind])
            + b"".join(len(b).to_bytes(2, "big") + b for b in locations))


def auth_body(code: str, version: int, imei: str = "860000000000000", software: str = "wf-sim") -> bytes:
    raw = code.encode("ascii")
    if version != V2019:
        return raw
    return bytes([len(raw)]) + raw + imei.encode("ascii")[:15].ljust(15, b"\x00") + \
        software.encode("ascii")[:20].ljust(20, b"\x00")


def register_body(plate: str, version: int, province: int = 15, city: int = 200, maker: str = "WFSIM",
                  model: str = "WF-808", terminal: str = "0000001", plate_color: int = 2) -> bytes:
    sizes = (11, 30, 30) if version == V2019 else (5, 20, 7)
    texts = (maker, model, terminal)
    fixed = [text.encode("ascii")[:n].ljust(n, b"\x00") for text, n in zip(texts, sizes, strict=True)]
    return (province.to_bytes(2, "big") + city.to_bytes(2, "big") + b"".join(fixed)
            + bytes([plate_color]) + plate.encode("gbk"))
