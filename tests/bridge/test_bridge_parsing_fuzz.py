"""Property: parse_message never raises and always answers Accepted or Rejected(documented reason)."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtt_bridge.parsing import REASONS, Accepted, Rejected, parse_message
from mqtt_bridge.signing import sign
from tests.utils.bridge import (
    DEVICES,
    NOW,
    gps_fix,
    load_reading,
    lookup,
    owntracks_location,
    signed,
    topic,
    weigh_ticket,
)

# BRIDGE_FUZZ_EXAMPLES=5000 for a deeper run; the default keeps the suite at a few seconds.
EXAMPLES = int(os.environ.get("BRIDGE_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

VALID = [
    (topic("gps-1", "gps"), gps_fix()),
    (topic("gps-1", "gps"), {"batch": [gps_fix(seq=1), gps_fix(seq=2)]}),
    (topic("load-1", "load"), load_reading()),
    (topic("load-1", "load"), {"batch": [load_reading(seq=1)]}),
    (topic("wb-1", "weigh"), weigh_ticket()),
    ("owntracks/alice/phone", owntracks_location()),
]

TOPIC_PARTS = st.sampled_from(
    ["wf", "v1", "dev", "gps", "load", "weigh", "status", "owntracks", "alice", "phone",
     "gps-1", "load-1", "wb-1", "", "+", "#", "蒙", "$share"]
)
TOPICS = st.one_of(
    st.text(max_size=80),
    st.lists(TOPIC_PARTS, min_size=1, max_size=6).map("/".join),
    st.sampled_from([t for t, _ in VALID] + [topic(d, "status") for d in DEVICES if ":" not in d]),
)

JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def check(result) -> None:
    assert isinstance(result, (Accepted, Rejected))
    if isinstance(result, Rejected):
        assert result.reason in REASONS
        assert result.reason != "internal_error", result.detail
        assert result.detail
    else:
        assert result.records


def run(topic_name, payload: bytes) -> None:
    check(parse_message(topic_name, payload, lookup, NOW))


def device_of(topic_name: str) -> str:
    return "owntracks:alice/phone" if topic_name.startswith("owntracks/") else topic_name.split("/")[3]


def resign(topic_name: str, payload: dict) -> bytes:
    """Sign a mutated payload, so the mutation reaches the content checks."""
    device_id = device_of(topic_name)
    body = {k: v for k, v in payload.items() if k != "sig"}
    try:
        body["sig"] = sign(device_id, DEVICES[device_id].secret, body)
        return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return json.dumps(payload).encode()


@FAST
@given(topic_name=TOPICS, payload=st.binary(max_size=300))
def test_arbitrary_bytes_and_topics_never_raise(topic_name, payload):
    run(topic_name, payload)


@FAST
@given(case=st.sampled_from(VALID), key_index=st.integers(min_value=0, max_value=20),
       resigned=st.booleans())
def test_dropped_field_never_raises(case, key_index, resigned):
    topic_name, payload = case
    keys = list(payload)
    mutated = {k: v for k, v in payload.items() if k != keys[key_index % len(keys)]}
    run(topic_name, resign(topic_name, mutated) if resigned else json.dumps(mutated).encode())


@FAST
@given(case=st.sampled_from(VALID), field=st.text(max_size=12), value=JSON_VALUES,
       resigned=st.booleans())
def test_added_field_never_raises(case, field, value, resigned):
    topic_name, payload = case
    mutated = {**payload, field: value}
    run(topic_name, resign(topic_name, mutated) if resigned else json.dumps(mutated).encode())


@FAST
@given(case=st.sampled_from(VALID), key_index=st.integers(min_value=0, max_value=20),
       value=JSON_VALUES)
def test_existing_field_gets_any_value(case, key_index, value):
    topic_name, payload = case
    keys = list(payload)
    mutated = {**payload, keys[key_index % len(keys)]: value}
    run(topic_name, resign(topic_name, mutated))


@FAST
@given(case=st.sampled_from(VALID), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_flipped_bit_in_signed_payload_never_raises(case, position, bit):
    topic_name, payload = case
    raw = bytearray(signed(device_of(topic_name), payload) if "owntracks" not in topic_name
                    else json.dumps(payload).encode())
    raw[position % len(raw)] ^= 1 << bit
    run(topic_name, bytes(raw))


@settings(max_examples=30, deadline=None, database=None)
@given(case=st.sampled_from(VALID),
       hostile=st.sampled_from([
           "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, "1" * 300,
           "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000,
           '"' + "x" * (300 * 1024) + '"', '"\\ud800"', '"\\u0000"', "true", "null",
       ]))
def test_hostile_values_spliced_into_valid_payloads(case, hostile):
    topic_name, payload = case
    for key in list(payload)[:4]:
        body = json.dumps({k: ("__HOSTILE__" if k == key else v) for k, v in payload.items()})
        run(topic_name, body.replace('"__HOSTILE__"', hostile).encode())


def test_huge_string_field_is_rejected_by_size():
    payload = gps_fix(note="x" * (300 * 1024))
    result = parse_message(topic("gps-1", "gps"), signed("gps-1", payload), lookup, NOW)
    assert isinstance(result, Rejected) and result.reason == "payload_too_large"
