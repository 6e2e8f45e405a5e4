"""Decoding a payload and writing its canonical JSON fast, with exactly the standard library's result.

mqtt.md defines canonical JSON as Python's ``json`` output (:func:`mqtt_bridge.signing.canonical_json`
is the reference). orjson decodes and encodes several times faster, and gives the same result
except where it is known to differ; those payloads go the standard library's way:

* floats that Python writes with an exponent (below 1e-4 or from 1e16 up): orjson writes
  ``0.000015`` where Python writes ``1.5e-05``;
* integers beyond 64 bits: orjson reads them as floats (which it then writes with an exponent).

So a payload whose orjson canonical form holds ``e+``, ``e-`` or ``0.0000`` anywhere is left to
the standard library (a string holding that text only costs the slower path). The check runs on
the bytes orjson wrote, at C speed. ``tests/bridge/test_bridge_canonical.py`` checks with
hypothesis that whatever passes the check is exactly what the standard library writes.
"""

from __future__ import annotations

import orjson

from mqtt_bridge import signing

_MISSING = object()


def fast_decode(raw: bytes) -> tuple[dict, bytes] | None:
    """The payload as an object and its canonical JSON without ``sig``, both by orjson; or
    ``None`` where the standard library must decide (not an object, a number orjson treats
    differently, anything orjson refuses: the standard library then names the reason)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    claimed = value.pop(signing.SIGNATURE_FIELD, _MISSING)
    if claimed is not _MISSING and type(claimed) is not str:
        value[signing.SIGNATURE_FIELD] = claimed
        return None  # left out of the bytes, so not checked by them: the standard library reads it
    try:
        written = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    finally:
        if claimed is not _MISSING:
            value[signing.SIGNATURE_FIELD] = claimed
    if b"e+" in written or b"e-" in written or b"0.0000" in written:
        return None  # see the module docstring
    return value, written
