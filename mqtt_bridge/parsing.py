"""Turn one MQTT message (topic + raw bytes) into validated records, or a reason to quarantine it.

Pure: no I/O, no database, no clock (``now`` is passed in). The contract is
shared/spec/mqtt.md; this module decides everything the spec leaves open, listed here.

Entry point: :func:`parse_message` returns :class:`Accepted` or :class:`Rejected` and never
raises, whatever the topic, payload, device lookup or clock.

Order of checks (the first failure wins, so a message gets exactly one reason):

1. size (``payload_too_large``) - before anything else touches the bytes;
2. topic shape (``bad_topic``);
3. device: registered (``unknown_device``), enabled (``device_disabled``), allowed to publish
   that kind (``wrong_kind``);
4. decoding: UTF-8, JSON, finite numbers, object (``not_utf8``, ``not_json``,
   ``not_finite``, ``not_object``);
5. signature (``missing_signature``, ``bad_signature``) - checked before the content, because
   the content of an untrusted message is not worth judging;
6. content: fields, types, ranges, timestamps.

Reason codes (stable, machine readable; ``Rejected.detail`` is the human sentence naming the
field, e.g. ``"batch[3].lat must be within -90..90, got 91.2"``):

================================  ==========================================================
``payload_too_large``             payload over ``Limits.max_payload_bytes`` (256 KiB)
``bad_topic``                     not ``wf/v1/dev/{id}/{gps|load|weigh|status}`` or
                                  ``owntracks/{user}/{device}``, or an invalid device id
``unknown_device``                no device registered under that id
``device_disabled``               the device is registered but disabled (api.md)
``wrong_kind``                    device publishing a kind it is not registered for
                                  (gps: ``gps`` and OwnTracks; load_cell: ``load``;
                                  weighbridge: ``weigh``; ``status`` is allowed for any)
``not_utf8``                      bytes are not UTF-8, or JSON ``\\uXXXX`` escapes make an
                                  unpaired surrogate (not storable, not signable)
``not_json``                      not parseable JSON (also: nested too deeply, integer with
                                  more than 4300 digits)
``not_finite``                    ``NaN``/``Infinity`` tokens or a float overflowing to inf
                                  (Python's json would accept them; we do not)
``not_object``                    top level (or a batch item) is not a JSON object
``missing_signature``             device must sign and there is no ``sig``
``bad_signature``                 device must sign and ``sig`` is wrong or not a string
``missing_field``                 a required field is absent
``wrong_type``                    a field has the wrong JSON type (``true`` is not an
                                  integer; ``null`` for a required field; a float where an
                                  integer number of kg is required)
``bad_value``                     a value of the right type outside its sane range, or one
                                  its column cannot hold (:mod:`wasteflow.columns`): negative
                                  ``seq`` or over 2**63-1 (2**31-1 on a ticket), negative
                                  speed/hdop, heading outside 0..360, empty, control-character
                                  or over-long text, mass over 10,000,000 kg, a number too
                                  large for a float
``batch_not_allowed``             a ``batch`` on a ``weigh`` topic (batches: gps and load)
``empty_batch``                   ``"batch": []``
``batch_too_large``               more than ``Limits.max_batch`` items
``bad_latitude``                  latitude outside -90..90
``bad_longitude``                 longitude outside -180..180
``null_island``                   exactly (0, 0): a terminal without a fix
``negative_mass``                 a mass field below 0
``net_mismatch``                  net_kg differs from gross_kg - tare_kg by more than 1 kg
``bad_timestamp``                 not RFC 3339 with an offset (``Z`` or ``+08:00``), an
                                  impossible date/time, or an OwnTracks ``tst`` out of range
``ts_in_future``                  a timestamp more than ``Limits.max_future_s`` after ``now``
``ts_too_old``                    a timestamp more than ``Limits.max_past_s`` before ``now``
``bad_status``                    status payload other than ``online``/``offline``
``not_owntracks_location``        OwnTracks message whose ``_type`` is not ``location``
                                  (``lwt``, ``transition``, ...), or an OwnTracks sub-topic
``lookup_failed``                 the device lookup callback raised (e.g. database down).
                                  TRANSIENT: see :data:`TRANSIENT_REASONS` - do not
                                  quarantine, do not acknowledge; let the broker redeliver
``internal_error``                a bug in this module; the message is kept in quarantine
                                  rather than crashing the bridge
``not_storable``                  set by the store, not here: the database refused the
                                  accepted message for its data (a limit this module missed);
                                  the store isolates it so the rest of its batch is stored
================================  ==========================================================

Decisions the spec leaves open:

* Unknown extra fields are accepted and ignored (friendlier to device makers adding fields);
  they still count for the signature, which covers the whole object.
* ``null`` for an optional field (``speed_kmh``, ``heading``, ``hdop``, ``manifest_no``) means
  absent.
* A batch is signed once over the whole object, and any bad item rejects the whole message:
  the signed unit stays atomic and the raw message stays in quarantine as a whole. A batch's
  items may carry their own ``sig``; it is ignored.
* If a message has a ``batch`` key it is a batch; other top-level keys are ignored.
* ``verified``: True when the signature is present and correct. For a device with
  ``require_signature`` that is the only way in; a device without it is accepted either way
  and ``verified`` is True only if it happened to send a correct ``sig`` (a wrong ``sig``
  from such a device is accepted unverified, as if unsigned).
* Status messages are plain text (``online``/``offline``, surrounding whitespace ignored) or a
  JSON string ``"online"``; they cannot carry a signature, so none is required, and they are
  not evidence. An empty payload (a retained-message clear) is ``bad_status``.
* Mass is an integer number of kilograms: ``24180.0`` is ``wrong_type``.
* Range checks on every timestamp of a message (``ts``, ``gross_at``, ``tare_at``, each
  batch item). Leap second ``:60`` is ``bad_timestamp``. A naive ``now`` is taken as UTC.
* Text fields must fit their columns (``ticket_no`` 64, ``plate`` 16, ``manifest_no`` 40
  characters: :mod:`wasteflow.columns`, the one source of both) and hold no control characters
  (PostgreSQL cannot store NUL). What the database still refuses is ``not_storable``.
* A message on ``wf/v1/quarantine/{gateway}`` is what a gateway could not translate: it is
  always a :class:`Rejected`, with the gateway's own reason and the raw bytes it sent (or
  ``bad_gateway_message`` and the message as it came, when the message itself is unreadable);
  see :mod:`mqtt_bridge.gateway_quarantine`.
* ``via`` (the gateway a reading came through: 1-16 of ``a-z 0-9 _ -``) on gps, load and weigh
  payloads, and ``attrs`` on gps fixes (an object of at most 24 keys of ``a-z 0-9 _``, each
  at most 32 characters, whose values are scalars: booleans, integers that fit 64 bits,
  finite numbers, strings of at most 64 characters, null; at most 1 KiB as JSON) are
  optional. A batch's top-level ``via`` applies to every item that names none.
  A gps device registered with a JT/T 808 ``load_item`` (``DeviceInfo.publishes_load``)
  may publish ``load`` too.
* OwnTracks: ``tst`` (integer epoch seconds) is both ``ts`` and ``seq``; ``vel`` -> speed_kmh,
  ``cog`` -> heading, ``acc`` (metres) -> ``accuracy_m``. ``acc`` is not an HDOP, so
  ``hdop`` is None. ``owntracks/{user}/{device}/{anything}`` (event, info, cmd, ...) is
  ``not_owntracks_location``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mqtt_bridge import canonical, signing
from mqtt_bridge.gateway_quarantine import GATEWAY_QUARANTINE_PREFIX, read_gateway_quarantine
from wasteflow import columns

REASONS: frozenset[str] = frozenset({
    "payload_too_large", "bad_topic", "unknown_device", "device_disabled", "wrong_kind", "not_utf8", "not_json",
    "not_finite", "not_object", "missing_signature", "bad_signature", "missing_field",
    "wrong_type", "bad_value", "batch_not_allowed", "empty_batch", "batch_too_large",
    "bad_latitude", "bad_longitude", "null_island", "negative_mass", "net_mismatch",
    "bad_timestamp", "ts_in_future", "ts_too_old", "bad_status", "not_owntracks_location",
    "lookup_failed", "internal_error", "not_storable",
})

#: Reasons that say nothing about the message itself: retry later instead of quarantining.
TRANSIENT_REASONS: frozenset[str] = frozenset({"lookup_failed"})

MAX_SEQ = columns.READING_SEQ_MAX
MAX_MASS_KG = min(10_000_000, columns.MASS_KG_COLUMN_MAX)  # no vehicle or weighbridge comes near
NET_TOLERANCE_KG = 1

# ---------------------------------------------------------------------------------------------
# Public data types


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    kind: str  # "gps" | "load_cell" | "weighbridge"
    secret: str
    require_signature: bool
    vehicle_id: int | None = None
    site_id: int | None = None
    publishes_load: bool = False  # a gps terminal that also carries the load sensor (JT/T 808 load_item)
    previous_secrets: tuple[str, ...] = ()  # a rotated-out secret, within its grace period
    enabled: bool = True  # False: every message is quarantined as ``device_disabled``

    @property
    def valid_secrets(self) -> tuple[str, ...]:
        return (self.secret, *self.previous_secrets)


DeviceLookup = Callable[[str], DeviceInfo | None]


@dataclass(frozen=True)
class GpsRecord:
    device_id: str
    seq: int
    ts: datetime
    lat: float
    lon: float
    speed_kmh: float | None
    heading: float | None
    hdop: float | None
    verified: bool
    accuracy_m: float | None = None  # OwnTracks ``acc``; None for terminals
    via: str | None = None  # the gateway it came through
    attrs: dict | None = None  # the terminal's own words (alarm/status, mileage, ...)


@dataclass(frozen=True)
class LoadRecord:
    device_id: str
    seq: int
    ts: datetime
    load_kg: int
    verified: bool
    via: str | None = None


@dataclass(frozen=True)
class TicketRecord:
    device_id: str
    seq: int
    ts: datetime
    ticket_no: str
    plate: str
    gross_kg: int
    tare_kg: int
    net_kg: int
    gross_at: datetime
    tare_at: datetime
    manifest_no: str | None
    verified: bool
    via: str | None = None


@dataclass(frozen=True)
class StatusRecord:
    device_id: str
    online: bool


@dataclass(frozen=True)
class Accepted:
    topic: str
    kind: str  # gps | load | weigh | status
    device_id: str
    records: tuple
    payload: bytes = b""
    """The message as it came: what quarantine keeps if the database refuses the records."""


@dataclass(frozen=True)
class Rejected:
    topic: str
    payload: bytes
    reason: str
    detail: str
    device_id: str | None


@dataclass(frozen=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_batch: int = 1000
    max_future_s: float = 300
    max_past_s: float = 30 * 86400


# ---------------------------------------------------------------------------------------------
# Entry point


class _Reject(Exception):
    """Raised by validators deep in the call tree; turned into a Rejected at the top."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Context:
    topic: str
    device_id: str
    kind: str               # gps | load | weigh | status | owntracks
    device: DeviceInfo
    now: datetime
    limits: Limits
    raw: bytes = b""


def parse_message(
    topic: str,
    payload: bytes,
    lookup: DeviceLookup,
    now: datetime,
    limits: Limits = Limits(),
) -> Accepted | Rejected:
    """Validate one MQTT message. Never raises (see the module docstring for the reasons)."""
    raw = _as_bytes(payload)
    topic_text = topic if isinstance(topic, str) else repr(topic)
    device_id: str | None = None
    try:
        _check_size(raw, limits)
        if topic_text.startswith(GATEWAY_QUARANTINE_PREFIX):
            return Rejected(topic_text, *read_gateway_quarantine(topic_text, raw))
        device_id, kind = _parse_topic(topic_text)
        device = _lookup_device(lookup, device_id)
        _check_kind(device, kind)
        ctx = _Context(topic_text, device_id, kind, device, _as_utc(now), limits, raw)
        return _parse_body(ctx, raw)
    except _Reject as rejection:
        return Rejected(topic_text, raw, rejection.reason, rejection.detail, device_id)
    except Exception as exc:  # a bug here must not stop the bridge; keep the evidence
        detail = f"internal error while parsing: {type(exc).__name__}: {exc}"[:500]
        return Rejected(topic_text, raw, "internal_error", detail, device_id)


def _as_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    try:
        return bytes(payload)
    except Exception:
        return repr(payload).encode("utf-8", "backslashreplace")


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_size(raw: bytes, limits: Limits) -> None:
    if len(raw) > limits.max_payload_bytes:
        raise _Reject("payload_too_large",
                      f"payload is {len(raw)} bytes, over the limit of {limits.max_payload_bytes}")


# ---------------------------------------------------------------------------------------------
# Topic and device

_ID_CHARS = r"[A-Za-z0-9._:\-]"
_DEVICE_ID = re.compile(_ID_CHARS + r"{1,64}")
_ID_PART = re.compile(_ID_CHARS + r"+")
_WF_KINDS = ("gps", "load", "weigh", "status")
_OWNTRACKS_PREFIX = "owntracks:"
MAX_DEVICE_ID_CHARS = 64

# Which registered device kind may publish which topic kind (status: any).
_TOPIC_KINDS_BY_DEVICE_KIND = {
    "gps": {"gps", "owntracks", "status"},
    "load_cell": {"load", "status"},
    "weighbridge": {"weigh", "status"},
}


def _parse_topic(topic: str) -> tuple[str, str]:
    """Return (device_id, kind) where kind is gps|load|weigh|status|owntracks."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[:3] == ["wf", "v1", "dev"]:
        return _parse_wf_topic(parts[3], parts[4])
    if len(parts) >= 3 and parts[0] == "owntracks":
        return _parse_owntracks_topic(parts)
    raise _Reject("bad_topic", f"topic {topic[:200]!r} is not wf/v1/dev/{{device_id}}/{{kind}} "
                               "or owntracks/{user}/{device}")


def _parse_wf_topic(device_id: str, kind: str) -> tuple[str, str]:
    if not _DEVICE_ID.fullmatch(device_id):
        raise _Reject("bad_topic", f"device id {device_id[:100]!r} in the topic is not 1-64 "
                                   "characters of A-Z a-z 0-9 . _ : -")
    if kind not in _WF_KINDS:
        raise _Reject("bad_topic", f"topic kind {kind[:100]!r} is not one of {', '.join(_WF_KINDS)}")
    return device_id, kind


def _parse_owntracks_topic(parts: list[str]) -> tuple[str, str]:
    user, device = parts[1], parts[2]
    if not (_ID_PART.fullmatch(user) and _ID_PART.fullmatch(device)):
        raise _Reject("bad_topic", "OwnTracks user and device in the topic must be characters "
                                   "of A-Z a-z 0-9 . _ : -")
    device_id = f"{_OWNTRACKS_PREFIX}{user}/{device}"
    if len(device_id) > MAX_DEVICE_ID_CHARS:
        raise _Reject("bad_topic", f"device id {device_id[:100]!r} is longer than 64 characters")
    if len(parts) > 3:
        raise _Reject("not_owntracks_location",
                      f"OwnTracks sub-topic {'/'.join(parts[3:])[:100]!r} carries no location fix")
    return device_id, "owntracks"


def _lookup_device(lookup: DeviceLookup, device_id: str) -> DeviceInfo:
    try:
        device = lookup(device_id)
    except Exception as exc:
        raise _Reject("lookup_failed",
                      f"device lookup for {device_id!r} failed: {type(exc).__name__}: {exc}"[:500]) from None
    if device is None:
        raise _Reject("unknown_device", f"device {device_id!r} is not registered")
    if not device.enabled:
        raise _Reject("device_disabled", f"device {device_id!r} is disabled")
    return device


def _check_kind(device: DeviceInfo, topic_kind: str) -> None:
    allowed = _TOPIC_KINDS_BY_DEVICE_KIND.get(device.kind, set())
    if topic_kind not in allowed and not (topic_kind == "load" and device.publishes_load):
        shown = "owntracks location" if topic_kind == "owntracks" else topic_kind
        raise _Reject("wrong_kind", f"device {device.id!r} is registered as {device.kind!r} "
                                    f"and may not publish {shown}")


# ---------------------------------------------------------------------------------------------
# Decoding


class _NotFinite(Exception):
    pass


def _reject_constant(token: str) -> Any:
    raise _NotFinite(token)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _decode_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Reject("not_utf8", f"payload is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NotFinite as exc:
        raise _Reject("not_finite", f"payload contains the non-finite number {str(exc)[:40]}") from None
    except RecursionError:
        raise _Reject("not_json", "payload JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with too many digits
        raise _Reject("not_json", f"payload is not JSON: {str(exc)[:200]}") from None
    if "\\u" in text:  # only a \u escape can smuggle in an unpaired surrogate
        _check_encodable(value)
    return value


def _check_encodable(value: Any) -> None:
    """Reject what parses but cannot be re-serialised: unpaired surrogates, absurd depth."""
    try:
        signing.canonical_json(value)
    except UnicodeEncodeError:
        raise _Reject("not_utf8", "payload has a \\u escape that is an unpaired UTF-16 surrogate") from None
    except (RecursionError, ValueError) as exc:
        raise _Reject("not_json", f"payload cannot be re-serialised: {type(exc).__name__}") from None


def _decode_object(raw: bytes) -> tuple[dict, bytes | None]:
    """The payload object, with its canonical JSON (without ``sig``) when orjson could write it
    exactly (:mod:`mqtt_bridge.canonical`); otherwise the standard library decides everything."""
    fast = canonical.fast_decode(raw)
    if fast is not None:
        return fast
    value = _decode_json(raw)
    if not isinstance(value, dict):
        raise _Reject("not_object", f"payload must be a JSON object, got {_json_type(value)}")
    return value, None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# ---------------------------------------------------------------------------------------------
# Body dispatch and signatures


def _parse_body(ctx: _Context, raw: bytes) -> Accepted:
    if ctx.kind == "status":
        return _accept(ctx, "status", [_parse_status(ctx, raw)])
    message, signed = _decode_object(raw)
    if ctx.kind == "owntracks":
        _check_owntracks_type(message)
    verified = _check_signature(ctx, message, signed)
    if ctx.kind == "owntracks":
        return _accept(ctx, "gps", [_owntracks_fix(ctx, message, verified)])
    if ctx.kind == "weigh":
        if "batch" in message:
            raise _Reject("batch_not_allowed", "a weigh topic carries one ticket, not a batch")
        return _accept(ctx, "weigh", [_ticket(ctx, message, "", verified)])
    parse_item = _gps_fix if ctx.kind == "gps" else _load_reading
    items = _items(ctx, message)
    via = _via(message, "") if "batch" in message else None
    records = [parse_item(ctx, item, path, verified, via) for path, item in items]
    return _accept(ctx, ctx.kind, records)


def _accept(ctx: _Context, kind: str, records: list) -> Accepted:
    return Accepted(ctx.topic, kind, ctx.device_id, tuple(records), ctx.raw)


def _check_signature(ctx: _Context, message: dict, signed: bytes | None) -> bool:
    """Return ``verified``; reject only when the device is required to sign."""
    device = ctx.device
    has_sig = "sig" in message
    correct = has_sig and _signature_matches(ctx.device_id, device.valid_secrets, message, signed)
    if device.require_signature and not has_sig:
        raise _Reject("missing_signature", f"device {ctx.device_id!r} must sign; no sig field")
    if device.require_signature and not correct:
        raise _Reject("bad_signature", f"sig does not match the payload for {ctx.device_id!r}")
    return correct


def _signature_matches(device_id: str, secrets: Iterable[str], message: dict, signed: bytes | None) -> bool:
    """The message's ``sig`` checked against each secret the device holds. ``signed``: its canonical
    JSON without ``sig`` when already written (once per message); None: the standard library writes it."""
    claimed = message.get(signing.SIGNATURE_FIELD)
    if not isinstance(claimed, str):
        return False
    if signed is None:
        try:
            signed = signing.canonical_json(signing.unsigned(message))
        except (TypeError, ValueError, RecursionError):
            return False
    return any(signing.verify_canonical(device_id, secret, signed, claimed) for secret in secrets)


def _items(ctx: _Context, message: dict) -> list[tuple[str, dict]]:
    """The (path, object) pairs of a single message or of a batch."""
    if "batch" not in message:
        return [("", message)]
    batch = message["batch"]
    if not isinstance(batch, list):
        raise _Reject("wrong_type", f"batch must be an array, got {_json_type(batch)}")
    if not batch:
        raise _Reject("empty_batch", "batch has no items")
    if len(batch) > ctx.limits.max_batch:
        raise _Reject("batch_too_large",
                      f"batch has {len(batch)} items, over the limit of {ctx.limits.max_batch}")
    for index, item in enumerate(batch):
        if not isinstance(item, dict):
            raise _Reject("not_object", f"batch[{index}] must be an object, got {_json_type(item)}")
    return [(f"batch[{index}].", item) for index, item in enumerate(batch)]


# ---------------------------------------------------------------------------------------------
# Status


_STATUS_WORDS = {"online": True, "offline": False}


def _parse_status(ctx: _Context, raw: bytes) -> StatusRecord:
    word = _status_word(raw)
    if word not in _STATUS_WORDS:
        raise _Reject("bad_status", f"status payload must be online or offline, got {raw[:40]!r}")
    return StatusRecord(ctx.device_id, _STATUS_WORDS[word])


def _status_word(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    return text


# ---------------------------------------------------------------------------------------------
# Readings


def _common(ctx: _Context, obj: dict, path: str, max_seq: int = MAX_SEQ) -> tuple[int, datetime]:
    seq = _integer(obj, "seq", path, minimum=0, maximum=max_seq)
    ts = _timestamp(ctx, obj, "ts", path)
    return seq, ts


def _gps_fix(ctx: _Context, obj: dict, path: str, verified: bool, via: str | None = None) -> GpsRecord:
    seq, ts = _common(ctx, obj, path)
    lat, lon = _position(obj, "lat", "lon", path)
    return GpsRecord(
        device_id=ctx.device_id, seq=seq, ts=ts, lat=lat, lon=lon,
        speed_kmh=_optional_number(obj, "speed_kmh", path, 0, None),
        heading=_optional_number(obj, "heading", path, 0, 360),
        hdop=_optional_number(obj, "hdop", path, 0, None),
        verified=verified,
        via=_via(obj, path) or via,
        attrs=_attrs(obj, path),
    )


def _load_reading(ctx: _Context, obj: dict, path: str, verified: bool, via: str | None = None) -> LoadRecord:
    seq, ts = _common(ctx, obj, path)
    load_kg = _mass(obj, "load_kg", path)
    return LoadRecord(ctx.device_id, seq, ts, load_kg, verified, _via(obj, path) or via)


def _ticket(ctx: _Context, obj: dict, path: str, verified: bool) -> TicketRecord:
    seq, ts = _common(ctx, obj, path, columns.TICKET_SEQ_MAX)
    ticket_no = _text(obj, "ticket_no", path, columns.TICKET_NO_CHARS)
    plate = _text(obj, "plate", path, columns.PLATE_CHARS)
    gross_kg, tare_kg, net_kg = (_mass(obj, name, path) for name in ("gross_kg", "tare_kg", "net_kg"))
    _check_net(gross_kg, tare_kg, net_kg, path)
    gross_at = _timestamp(ctx, obj, "gross_at", path)
    tare_at = _timestamp(ctx, obj, "tare_at", path)
    manifest_no = _text(obj, "manifest_no", path, columns.MANIFEST_NO_CHARS, required=False)
    assert ticket_no is not None and plate is not None  # required fields: _text rejected their absence
    return TicketRecord(ctx.device_id, seq, ts, ticket_no, plate, gross_kg, tare_kg, net_kg,
                        gross_at, tare_at, manifest_no, verified, _via(obj, path))


def _check_net(gross_kg: int, tare_kg: int, net_kg: int, path: str) -> None:
    expected = gross_kg - tare_kg
    if abs(net_kg - expected) > NET_TOLERANCE_KG:
        raise _Reject("net_mismatch", f"{path}net_kg is {net_kg} but gross_kg - tare_kg is {expected} "
                                      f"(tolerance {NET_TOLERANCE_KG} kg)")


# ---------------------------------------------------------------------------------------------
# OwnTracks


def _check_owntracks_type(message: dict) -> None:
    kind = message.get("_type")
    if kind != "location":
        shown = repr(kind)[:40] if "_type" in message else "missing"
        raise _Reject("not_owntracks_location",
                      f"OwnTracks _type is {shown}; only 'location' messages are fixes")


def _owntracks_fix(ctx: _Context, obj: dict, verified: bool) -> GpsRecord:
    tst = _integer(obj, "tst", "", minimum=0, maximum=MAX_SEQ)
    ts = _epoch_timestamp(ctx, tst, "tst")
    lat, lon = _position(obj, "lat", "lon", "")
    return GpsRecord(
        device_id=ctx.device_id, seq=tst, ts=ts, lat=lat, lon=lon,
        speed_kmh=_optional_number(obj, "vel", "", 0, None),
        heading=_optional_number(obj, "cog", "", 0, 360),
        hdop=None,
        verified=verified,
        accuracy_m=_optional_number(obj, "acc", "", 0, None),
    )


def _epoch_timestamp(ctx: _Context, seconds: int, name: str) -> datetime:
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Reject("bad_timestamp", f"{name} {seconds} is not a usable epoch time in seconds") from None
    _check_time_window(ctx, moment, name)
    return moment


# ---------------------------------------------------------------------------------------------
# Field readers: each names the field (with its batch path) in the detail


def _field(obj: dict, name: str, path: str) -> Any:
    if name not in obj:
        raise _Reject("missing_field", f"{path}{name} is required")
    return obj[name]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_float(value: int | float, label: str) -> float:
    try:
        result = float(value)
    except OverflowError:
        raise _Reject("bad_value", f"{label} is too large") from None
    if not math.isfinite(result):
        raise _Reject("not_finite", f"{label} is not a finite number")
    return result


def _number(obj: dict, name: str, path: str) -> int | float:
    value: Any = obj.get(name)
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return value  # the common case, decided without the checks below (JSON types are exact)
    value = _field(obj, name, path)
    if not _is_number(value):
        raise _Reject("wrong_type", f"{path}{name} must be a number, got {_json_type(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Reject("not_finite", f"{path}{name} is not a finite number")
    return value


def _optional_number(obj: dict, name: str, path: str,
                     minimum: float | None, maximum: float | None) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if (type(value) is float and math.isfinite(value) and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum)):
        return value  # the common case; anything else takes the checks that name the reason
    value = _number(obj, name, path)
    _check_range(value, f"{path}{name}", minimum, maximum)
    return _to_float(value, f"{path}{name}")


def _check_range(value: int | float, label: str, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise _Reject("bad_value", f"{label} must be at least {minimum}, got {_short(value)}")
    if maximum is not None and value > maximum:
        raise _Reject("bad_value", f"{label} must be at most {maximum}, got {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value) if not _is_integer(value) or abs(value) < 10**30 else "a huge integer"
    return text[:60]


def _integer(obj: dict, name: str, path: str, minimum: int, maximum: int) -> int:
    value = _field(obj, name, path)
    if not _is_integer(value):
        raise _Reject("wrong_type", f"{path}{name} must be an integer, got {_json_type(value)}")
    _check_range(value, f"{path}{name}", minimum, maximum)
    return value


def _mass(obj: dict, name: str, path: str) -> int:
    value = _field(obj, name, path)
    if not _is_integer(value):
        raise _Reject("wrong_type", f"{path}{name} must be an integer number of kg, "
                                    f"got {_json_type(value)}")
    if value < 0:
        raise _Reject("negative_mass", f"{path}{name} must not be negative, got {_short(value)}")
    _check_range(value, f"{path}{name}", 0, MAX_MASS_KG)
    return value


def _position(obj: dict, lat_name: str, lon_name: str, path: str) -> tuple[float, float]:
    lat = _number(obj, lat_name, path)
    lon = _number(obj, lon_name, path)
    if not -90 <= lat <= 90:
        raise _Reject("bad_latitude", f"{path}{lat_name} must be within -90..90, got {_short(lat)}")
    if not -180 <= lon <= 180:
        raise _Reject("bad_longitude", f"{path}{lon_name} must be within -180..180, got {_short(lon)}")
    if lat == 0 and lon == 0:
        raise _Reject("null_island", f"{path}{lat_name}/{lon_name} is exactly (0, 0): no fix")
    return float(lat), float(lon)


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _text(obj: dict, name: str, path: str, max_chars: int, required: bool = True) -> str | None:
    if not required and obj.get(name) is None:
        return None
    value = _field(obj, name, path)
    if not isinstance(value, str):
        raise _Reject("wrong_type", f"{path}{name} must be a string, got {_json_type(value)}")
    if not value.strip() or len(value) > max_chars:
        raise _Reject("bad_value", f"{path}{name} must be 1..{max_chars} characters (its column's size), "
                                   f"got {len(value)}")
    if _CONTROL_CHARS.search(value):
        raise _Reject("bad_value", f"{path}{name} must not contain control characters")
    return value


# ---------------------------------------------------------------------------------------------
# Gateways' additions: via and attrs

_VIA = re.compile(rf"[a-z0-9_\-]{{1,{columns.VIA_CHARS}}}")
_ATTR_KEY = re.compile(r"[a-z0-9_]{1,32}")
MAX_ATTRS = 24
MAX_ATTR_TEXT = 64
MAX_ATTRS_JSON = 1024


def _via(obj: dict, path: str) -> str | None:
    value = obj.get("via")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Reject("wrong_type", f"{path}via must be a string, got {_json_type(value)}")
    if not _VIA.fullmatch(value):
        raise _Reject("bad_value", f"{path}via must be 1-{columns.VIA_CHARS} characters of a-z 0-9 _ -, "
                                   f"got {value[:40]!r}")
    return value


def _attrs(obj: dict, path: str) -> dict | None:
    value = obj.get("attrs")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Reject("wrong_type", f"{path}attrs must be an object, got {_json_type(value)}")
    if len(value) > MAX_ATTRS:
        raise _Reject("bad_value", f"{path}attrs has {len(value)} keys, over the limit of {MAX_ATTRS}")
    for key, item in value.items():
        if not _ATTR_KEY.fullmatch(key):
            raise _Reject("bad_value", f"{path}attrs key {key[:40]!r} must be 1-32 characters of a-z 0-9 _")
        _check_attr_value(item, f"{path}attrs.{key}")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_ATTRS_JSON:
        raise _Reject("bad_value", f"{path}attrs is over {MAX_ATTRS_JSON} bytes as JSON")
    return value


def _check_attr_value(item: Any, label: str) -> None:
    if item is None or isinstance(item, bool):
        return
    if isinstance(item, int):
        _check_range(item, label, -MAX_SEQ - 1, MAX_SEQ)
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise _Reject("not_finite", f"{label} is not a finite number")
    elif isinstance(item, str):
        if len(item) > MAX_ATTR_TEXT or _CONTROL_CHARS.search(item):
            raise _Reject("bad_value", f"{label} must be at most {MAX_ATTR_TEXT} characters, no control characters")
    else:
        raise _Reject("wrong_type", f"{label} must be a scalar (boolean, number, string or null), "
                                    f"got {_json_type(item)}")


# ---------------------------------------------------------------------------------------------
# Timestamps

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def _timestamp(ctx: _Context, obj: dict, name: str, path: str) -> datetime:
    value = _field(obj, name, path)
    if not isinstance(value, str):
        raise _Reject("wrong_type", f"{path}{name} must be an RFC 3339 string, got {_json_type(value)}")
    moment = _parse_rfc3339(value)
    if moment is None:
        raise _Reject("bad_timestamp", f"{path}{name} {value[:60]!r} is not RFC 3339 with an offset "
                                       "(e.g. 2026-11-23T08:00:05+08:00 or ...Z)")
    _check_time_window(ctx, moment, f"{path}{name}")
    return moment


def _parse_rfc3339(text: str) -> datetime | None:
    """Parse RFC 3339 date-time (offset required) to an aware UTC datetime, or None."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        zone = UTC if zulu else _zone(sign, off_h, off_m)
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                         micro, tzinfo=zone)
        return local if zulu else local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=256)
def _zone(sign: str, hours: str, minutes: str) -> timezone:
    """One timezone object per offset text: devices use one or two, made once."""
    return timezone(_offset(sign, int(hours), int(minutes)))


def _offset(sign: str, hours: int, minutes: int) -> timedelta:
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    magnitude = timedelta(hours=hours, minutes=minutes)
    return -magnitude if sign == "-" else magnitude


def _check_time_window(ctx: _Context, moment: datetime, label: str) -> None:
    ahead = (moment - ctx.now).total_seconds()
    if ahead > ctx.limits.max_future_s:
        raise _Reject("ts_in_future", f"{label} {moment.isoformat()} is {ahead:.0f} s after the "
                                      f"receive time (limit {ctx.limits.max_future_s:g} s)")
    if -ahead > ctx.limits.max_past_s:
        raise _Reject("ts_too_old", f"{label} {moment.isoformat()} is {-ahead:.0f} s before the "
                                    f"receive time (limit {ctx.limits.max_past_s:g} s)")
