"""Opaque page cursors: the last id seen, tagged with what it counts, base64url-encoded."""

from __future__ import annotations

import base64

from wasteflow.errors import RuleViolation


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """The id a cursor of this kind carries; 422 for anything this API did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, value = raw.split(":", 1)
        if tag != kind:
            raise ValueError
        return int(value)
    except ValueError:  # also binascii.Error and UnicodeDecodeError
        raise RuleViolation("bad_cursor", "cursor", "the cursor is not one this API gave out") from None
