"""A delivery's body and its ``Wasteflow-Signature`` header (api.md pins both); pure.

``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>``: the receiver recomputes the HMAC
over the raw body with its secret, compares in constant time, and rejects an old ``t`` (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime

HEADER = "Wasteflow-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body(action: str, object_id: str, at: datetime) -> bytes:
    """The whole delivery: the action, the id and the event time; nothing else (a leaked endpoint leaks nothing)."""
    when = at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return json.dumps({"action": action, "id": object_id, "at": when}, separators=(",", ":")).encode()


def signature(secret: str, payload: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, payload: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiving system does with the header (documented in docs/webhooks.md)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, payload, timestamp), header)
