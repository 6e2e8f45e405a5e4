"""orjson's reading and canonical writing equal the standard library's (mqtt.md, "Signatures").

Whenever :func:`mqtt_bridge.canonical.fast_decode` answers, its object and its canonical bytes
must be exactly what ``json.loads`` and :func:`mqtt_bridge.signing.canonical_json` give for the
same payload: non-ASCII text, floats written in every form, integers of any size.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt_bridge import canonical, parsing, signing
from tests.utils.bridge import gps_fix, parse, signed, topic

# --- payload text with numbers written every way a device might ------------------------------

FLOAT_FORMS = (repr, lambda v: f"{v:e}", lambda v: f"{v:.17E}", lambda v: f"{v:.20f}", lambda v: f"{v:.6g}",
               lambda v: f"{v:.3E}", lambda v: f"{v:.0f}.0e0")

floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1e22, 5e-324, 1.7976931348623157e308, 40.6571, 0.1])
integers = st.integers() | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30])
scalars = st.none() | st.booleans() | integers | floats | st.text(max_size=20)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
objects = st.dictionaries(st.text(max_size=8) | st.sampled_from(["sig", "seq", "lat", "ts", "é", "批"]),
                          values, max_size=8)


@st.composite
def written(draw, value=None):
    """JSON text of a drawn object, each float in a drawn form (the value it parses to may differ)."""
    value = draw(objects) if value is None else value
    return _write(draw, value).encode("utf-8")


def _write(draw, value) -> str:
    if isinstance(value, float):
        text = draw(st.sampled_from(FLOAT_FORMS))(value)
        return text if math.isfinite(float(text)) else repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=draw(st.booleans()))}:{_write(draw, v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_write(draw, v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(written())
def test_orjson_answers_only_with_the_standard_librarys_object_and_canonical_bytes(raw):
    expected = json.loads(raw)
    fast = canonical.fast_decode(raw)
    if fast is None:
        return
    value, canonical_bytes = fast
    assert signing.canonical_json(value) == signing.canonical_json(expected)
    assert canonical_bytes == signing.canonical_json(signing.unsigned(expected))


@settings(max_examples=1000, deadline=None)
@given(floats)
def test_a_float_is_either_written_alike_or_left_to_the_standard_library(number):
    fast = canonical.fast_decode(json.dumps({"v": number}).encode())
    if fast is not None:
        assert fast[1] == signing.canonical_json({"v": number})


@pytest.mark.parametrize("raw", [b'{"v":18446744073709551616}', b'{"v":-9223372036854775809}', b'{"v":1e-05}',
                                 b'{"v":0.00001}', b'{"v":1E16}', b'{"v":NaN}', b'{"v":1e400}', b'{"v":"\\ud800"}',
                                 b'[1]', b'null', b'{"v":1', b'\xef\xbb\xbf{}', b'{"v":"\xff"}'])
def test_what_orjson_reads_or_writes_differently_goes_to_the_standard_library(raw):
    assert canonical.fast_decode(raw) is None


def test_a_typical_fix_takes_the_fast_path_and_keeps_its_sig():
    raw = signed("gps-1", gps_fix(lat=40.6571, lon=109.8403, heading=271, hdop=0.9, plate="蒙B12345"))
    value, written_bytes = canonical.fast_decode(raw)
    assert "sig" in value and b"sig" not in written_bytes
    assert written_bytes == signing.canonical_json(signing.unsigned(json.loads(raw)))


# --- the parser decides the same either way --------------------------------------------------

fix_fields = st.fixed_dictionaries({}, optional={
    "seq": integers, "lat": floats | integers, "lon": floats | integers, "speed_kmh": floats | st.none(),
    "heading": floats | integers, "hdop": floats, "extra": values})


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), fix_fields, st.booleans())
def test_the_parser_gives_the_same_result_with_and_without_orjson(data, fields, sign):
    body = gps_fix(**fields)
    raw = signed("gps-legacy", body) if sign else data.draw(written(body))
    with_orjson = parse(topic("gps-legacy", "gps"), raw)
    original = canonical.fast_decode
    parsing.canonical.fast_decode = lambda _raw: None
    try:
        without = parse(topic("gps-legacy", "gps"), raw)
    finally:
        parsing.canonical.fast_decode = original
    assert with_orjson == without
