"""Message signatures for device telemetry (see shared/spec/mqtt.md, "Signatures").

    sig = lowercase hex of HMAC-SHA256(key = device secret as UTF-8,
          message = device_id + "\\n" + canonical JSON of the payload without "sig")

Canonical JSON is what Python's ``json`` module produces for the *parsed* payload with
keys sorted, separators ``,``/``:`` and non-ASCII characters kept as themselves.  Numbers
therefore take their Python form: ``1e2`` parses to the float ``100.0`` and is signed as
``100.0``; ``40.6571`` stays ``40.6571``; ``42`` stays ``42``.  Device makers must sign
the re-serialised form, not the bytes they happened to put on the wire.

Stdlib only: simulators and device firmware test rigs import this without the backend.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_FIELD = "sig"


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` deterministically: sorted keys, no whitespace, UTF-8."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def unsigned(payload: dict) -> dict:
    """The payload without its "sig": what is signed."""
    return {key: value for key, value in payload.items() if key != SIGNATURE_FIELD}


def _signing_input(device_id: str, payload: dict) -> bytes:
    return device_id.encode("utf-8") + b"\n" + canonical_json(unsigned(payload))


def sign(device_id: str, secret: str, payload: dict) -> str:
    """Lowercase hex HMAC-SHA256 of the payload (any existing "sig" is ignored)."""
    message = _signing_input(device_id, payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(device_id: str, secret: str, payload: dict) -> bool:
    """True when ``payload["sig"]`` is the correct signature; False if missing or wrong.

    Never raises for odd payloads: a non-string sig, or a payload that cannot be
    serialised (e.g. contains NaN in a strict context) is simply "not verified".
    """
    claimed = payload.get(SIGNATURE_FIELD)
    if not isinstance(claimed, str):
        return False
    try:
        expected = sign(device_id, secret, payload)
    except (TypeError, ValueError, RecursionError):
        return False
    # compare_digest on str requires ASCII; a non-ASCII claim cannot be a valid hex digest.
    if not claimed.isascii():
        return False
    return hmac.compare_digest(expected, claimed)


def verify_canonical(device_id: str, secret: str, canonical_unsigned: bytes, claimed: Any) -> bool:
    """True when ``claimed`` signs ``canonical_unsigned`` (the payload's canonical JSON without
    "sig", already written) for ``device_id`` under this one ``secret``.

    The bridge writes the canonical bytes once per message and checks them here against each
    secret the device may hold; never raises.
    """
    if not isinstance(claimed, str) or not claimed.isascii():
        return False
    message = device_id.encode("utf-8") + b"\n" + canonical_unsigned
    expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, claimed)


def signed_payload(device_id: str, secret: str, payload: dict) -> bytes:
    """The wire bytes of ``payload`` with its "sig" added (for simulators and tests)."""
    body = unsigned(payload)
    body[SIGNATURE_FIELD] = sign(device_id, secret, body)
    return canonical_json(body)
