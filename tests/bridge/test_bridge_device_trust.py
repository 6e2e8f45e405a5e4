"""A rotated device's old secret still signs within its grace period; a disabled device is quarantined.

The directory (mqtt_bridge/devices.py) decides which secrets are valid and whether the device is
enabled; the parser tries each valid secret and refuses a disabled device before reading its payload.
"""

from mqtt_bridge.parsing import Accepted, Rejected
from mqtt_bridge.signing import signed_payload
from tests.utils.bridge import NEW_SECRET, SECRET, gps_fix, parse, topic


def rejected(result, reason: str) -> Rejected:
    assert isinstance(result, Rejected), result
    assert result.reason == reason, (result.reason, result.detail)
    return result


def test_a_message_signed_with_the_new_secret_verifies():
    result = parse(topic("gps-rotated", "gps"), signed_payload("gps-rotated", NEW_SECRET, gps_fix()))
    assert isinstance(result, Accepted) and result.records[0].verified


def test_a_message_signed_with_the_secret_in_grace_verifies():
    result = parse(topic("gps-rotated", "gps"), signed_payload("gps-rotated", SECRET, gps_fix()))
    assert isinstance(result, Accepted) and result.records[0].verified


def test_any_other_secret_is_refused():
    rejected(parse(topic("gps-rotated", "gps"), signed_payload("gps-rotated", "guessed", gps_fix())),
             "bad_signature")


def test_a_disabled_device_is_quarantined_even_when_its_signature_is_right():
    result = rejected(parse(topic("gps-off", "gps"), signed_payload("gps-off", SECRET, gps_fix())), "device_disabled")
    assert result.device_id == "gps-off" and "disabled" in result.detail
