"""The plate calls an ANPR camera or the operator's screen makes (devices.md). Pure: a parsed
request in, what to do (or a 400's reason) out.

    POST /plate {"plate": "蒙B12345", "manifest_no": optional, "weighing_id": optional}
    GET  /weighings?unassigned=1
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_PLATE = 16
MAX_MANIFEST_NO = 40
FIELDS = {"plate", "manifest_no", "weighing_id"}


@dataclass(frozen=True)
class PlateCall:
    plate: str
    manifest_no: str | None = None
    weighing_id: int | None = None


@dataclass(frozen=True)
class BadCall:
    reason: str
    detail: str


def read_plate_call(body: bytes) -> PlateCall | BadCall:
    """The body of ``POST /plate``, checked field by field."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return BadCall("not_json", "the body must be a JSON object")
    if not isinstance(data, dict):
        return BadCall("not_json", "the body must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        return BadCall("unknown_field", f"unknown field {unknown[0]!r} (plate, manifest_no, weighing_id)")
    plate = data.get("plate")
    if not isinstance(plate, str) or not 1 <= len(plate.strip()) <= MAX_PLATE:
        return BadCall("bad_plate", f"plate must be a text of 1-{MAX_PLATE} characters")
    manifest_no = data.get("manifest_no")
    if manifest_no is not None and (not isinstance(manifest_no, str) or not 1 <= len(manifest_no) <= MAX_MANIFEST_NO
                                    or any(c.isspace() for c in manifest_no)):
        return BadCall("bad_manifest_no", f"manifest_no must be a text of 1-{MAX_MANIFEST_NO} characters, no spaces")
    weighing_id = data.get("weighing_id")
    if weighing_id is not None and (type(weighing_id) is not int or weighing_id < 1):
        return BadCall("bad_weighing_id", "weighing_id must be a positive integer")
    return PlateCall(plate.strip(), manifest_no, weighing_id)
