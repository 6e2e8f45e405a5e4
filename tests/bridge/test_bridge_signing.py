import hashlib
import hmac
import json

from mqtt_bridge.signing import canonical_json, sign, signed_payload, verify

SECRET = "k"


def test_canonical_json_sorts_keys_and_drops_whitespace():
    assert canonical_json({"b": 1, "a": [1, 2], "c": {"z": 1, "y": 2}}) == \
        b'{"a":[1,2],"b":1,"c":{"y":2,"z":1}}'


def test_canonical_json_keeps_non_ascii_as_utf8():
    assert canonical_json({"plate": "蒙B12345"}) == '{"plate":"蒙B12345"}'.encode()


def test_canonical_json_numbers_as_python_reserialises_them():
    parsed = json.loads('{"lat": 40.6571, "x": 1e2, "n": 42, "neg": -0.5, "big": 12345678901234567890}')
    assert canonical_json(parsed) == b'{"big":12345678901234567890,"lat":40.6571,"n":42,"neg":-0.5,"x":100.0}'


def test_sign_matches_the_spec_formula():
    payload = {"seq": 1, "plate": "蒙B12345", "lat": 40.6571}
    message = b"dev-1\n" + '{"lat":40.6571,"plate":"蒙B12345","seq":1}'.encode()
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert sign("dev-1", SECRET, payload) == expected
    assert expected == expected.lower() and len(expected) == 64


def test_sign_ignores_an_existing_sig():
    payload = {"seq": 1}
    assert sign("d", SECRET, {**payload, "sig": "whatever"}) == sign("d", SECRET, payload)


def test_verify_accepts_the_right_signature_and_nothing_else():
    payload = {"seq": 1, "lat": 1.5}
    good = {**payload, "sig": sign("d", SECRET, payload)}
    assert verify("d", SECRET, good)
    assert not verify("d", "other-secret", good)
    assert not verify("other-device", SECRET, good)
    assert not verify("d", SECRET, {**good, "seq": 2})
    assert not verify("d", SECRET, payload)                       # missing
    assert not verify("d", SECRET, {**payload, "sig": 123})      # not a string
    assert not verify("d", SECRET, {**payload, "sig": "é" * 64})  # non-ASCII, must not raise


def test_signature_survives_sender_number_spelling():
    """A sender writing 1e2 signs what json re-serialises (100.0); the bridge agrees."""
    wire = b'{"seq": 1, "x": 1e2}'
    parsed = json.loads(wire)
    parsed["sig"] = sign("d", SECRET, json.loads(wire))
    assert verify("d", SECRET, json.loads(json.dumps(parsed)))


def test_signed_payload_round_trips():
    body = signed_payload("d", SECRET, {"plate": "蒙B12345", "n": 40.6571})
    decoded = json.loads(body.decode("utf-8"))
    assert "蒙B12345".encode() in body
    assert verify("d", SECRET, decoded)
