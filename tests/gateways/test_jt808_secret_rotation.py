"""A JT/T 808 terminal after its device secret is rotated: the code derived from the old secret is
accepted until the grace period ends, then refused; a disabled terminal is unknown to the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.directory import auth_code, terminal_of
from mqtt_bridge.gateways.jt808.framing import V2013, Header, decode_frame, encode_frame
from mqtt_bridge.gateways.jt808.session import Session
from wasteflow.registry import device_secrets
from wasteflow.registry.models import Device
from wasteflow.sealing import Sealer

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PHONE = "13912345678"
SEALER = Sealer("jt808-rotation-test-key-0123456789abcdef")
GRACE = timedelta(hours=24)


def rotated_device() -> tuple[Device, str, str]:
    device = Device(id="jt-1", kind="gps", sealed_secret="", require_signature=False, protocol="jt808",
                    terminal_id=PHONE)
    old = device_secrets.set_first_secret(device, SEALER)
    new = device_secrets.rotate(device, SEALER, NOW, GRACE)
    return device, old, new


def authenticate(device: Device, code: str, now: datetime) -> int:
    """The result the gateway answers a 0x0102 carrying ``code``, the directory reading ``device`` at ``now``."""
    terminal = terminal_of(device, SEALER, now)
    session = Session({PHONE: terminal}.get if terminal else {}.get, max_quarantined_per_minute=10)
    raw = encode_frame(Header(m.AUTHENTICATE, V2013, phone="0" + PHONE, serial=1), m.auth_body(code, V2013))
    outcome = session.on_frame(decode_frame(raw), now)
    frame = decode_frame(outcome.reply[0])
    assert frame.header.msg_id == m.PLATFORM_RESPONSE
    return frame.body[4]


def test_the_code_from_the_old_secret_is_accepted_within_grace_and_refused_after():
    device, old, new = rotated_device()
    assert authenticate(device, auth_code(new, PHONE), NOW) == m.OK
    assert authenticate(device, auth_code(old, PHONE), NOW + GRACE - timedelta(seconds=1)) == m.OK
    assert authenticate(device, auth_code(old, PHONE), NOW + GRACE + timedelta(seconds=1)) == m.FAILED
    assert authenticate(device, auth_code(new, PHONE), NOW + GRACE + timedelta(seconds=1)) == m.OK


def test_a_terminal_already_loaded_refuses_the_old_code_once_its_grace_ends():
    device, old, _new = rotated_device()
    terminal = terminal_of(device, SEALER, NOW)
    code = auth_code(old, PHONE).encode("ascii")
    assert terminal.accepts(code, NOW) and not terminal.accepts(code, NOW + GRACE)


def test_a_disabled_terminal_is_unknown_to_the_gateway():
    device, _old, new = rotated_device()
    device.disabled_at = NOW
    assert terminal_of(device, SEALER, NOW) is None
    assert authenticate(device, auth_code(new, PHONE), NOW) == m.FAILED
