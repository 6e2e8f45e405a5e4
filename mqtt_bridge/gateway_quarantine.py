"""What gateways could not translate, into the bridge's quarantine (mqtt.md, "Bad input").

A gateway publishes ``{"device_id": ... | null, "reason": ..., "raw": base64, "detail": optional}``
on ``wf/v1/quarantine/{gateway}``; the bridge stores the decoded raw bytes with the gateway's
reason, as it stores its own rejections. Only the gateways' broker accounts may publish there
(wasteflow/broker). Pure, and never raises: a gateway message that is itself unreadable is
kept whole, as ``bad_gateway_message``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

GATEWAY_QUARANTINE_PREFIX = "wf/v1/quarantine/"
GATEWAY_QUARANTINE_TOPIC = GATEWAY_QUARANTINE_PREFIX + "+"

_GATEWAY = re.compile(r"[a-z0-9_\-]{1,16}")
_REASON = re.compile(r"[a-z0-9_]{1,40}")
_DEVICE_ID = re.compile(r"[A-Za-z0-9._:/\-]{1,80}")


def read_gateway_quarantine(topic: str, raw: bytes) -> tuple[bytes, str, str, str | None]:
    """(bytes to keep, reason, detail, device id) of one message on a gateway's quarantine topic."""
    gateway = topic[len(GATEWAY_QUARANTINE_PREFIX):]
    if not _GATEWAY.fullmatch(gateway):
        return raw, "bad_gateway_message", f"gateway name {gateway[:40]!r} is not 1-16 of a-z 0-9 _ -", None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, "bad_gateway_message", f"gateway {gateway}: the message is not JSON", None
    if not isinstance(body, dict):
        return raw, "bad_gateway_message", f"gateway {gateway}: the message is not a JSON object", None
    reason, device_id, encoded = body.get("reason"), body.get("device_id"), body.get("raw")
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        return raw, "bad_gateway_message", f"gateway {gateway}: reason must be 1-40 of a-z 0-9 _", None
    if device_id is not None and not (isinstance(device_id, str) and _DEVICE_ID.fullmatch(device_id)):
        return raw, "bad_gateway_message", f"gateway {gateway}: device_id is not a device id", None
    try:
        kept = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
    except (binascii.Error, ValueError):
        kept = None
    if kept is None:
        return raw, "bad_gateway_message", f"gateway {gateway}: raw must be the base64 of the bytes", device_id
    detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
    return kept, reason, f"from gateway {gateway}" + (f": {detail}" if detail else ""), device_id
