"""The stable-weight rule, weighings paired into tickets, and the spool (devices.md, mqtt.md "weigh")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mqtt_bridge.gateways.scale.framing import Fault, Reading
from mqtt_bridge.gateways.scale.spool import Spool, SpoolError
from mqtt_bridge.gateways.scale.stability import StableRule, StableWeigher
from mqtt_bridge.signing import verify

RULE = StableRule(threshold_kg=500, hold_s=3.0, division_kg=20)
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


def play(weigher: StableWeigher, readings: list[tuple[float, float | Fault, bool]]):
    """(time, kg or a fault, motion) fed in order; the weighings it made."""
    made = []
    for t, value, motion in readings:
        decoded = value if isinstance(value, Fault) else Reading(value, motion)
        settled = weigher.feed(decoded, t)
        if settled:
            made.append(settled)
    return made


def steady(kg: float, start: float, seconds: float, every: float = 0.1, motion: bool = False, jitter: float = 0):
    n = int(seconds / every)
    return [(start + i * every, kg + (jitter if i % 2 else 0), motion) for i in range(n)]


# --- the stable-weight rule ---------------------------------------------------------------------


def test_a_load_held_for_the_hold_time_is_one_weighing():
    ramp = [(i * 0.1, 1000.0 * i, False) for i in range(16)]
    made = play(StableWeigher(RULE), ramp + steady(15080, 1.6, 10, jitter=20) + steady(0, 11.6, 1))
    assert [m.kg for m in made] == [15080]
    assert made[0].at - made[0].since >= 3.0 and 1.6 <= made[0].since < 1.8


def test_less_than_the_hold_time_or_in_motion_makes_none():
    assert play(StableWeigher(RULE), steady(15080, 0, 2.9) + steady(0, 3, 1)) == []
    assert play(StableWeigher(RULE), steady(15080, 0, 10, motion=True)) == []


def test_drift_over_one_division_restarts_the_hold():
    drifting = [(i * 0.1, 15000 + 15 * i, False) for i in range(60)]  # 150 kg/s
    assert play(StableWeigher(RULE), drifting) == []


def test_motion_in_the_middle_restarts_the_hold():
    readings = steady(30000, 0, 2) + [(2.0, 30000, True)] + steady(30000, 2.1, 2.5)
    assert play(StableWeigher(RULE), readings) == []
    assert len(play(StableWeigher(RULE), readings + steady(30000, 4.6, 1))) == 1


def test_negative_and_over_range_break_the_hold_a_bad_checksum_does_not():
    over = [(1.5, Fault("over_range", b""), False)]
    assert play(StableWeigher(RULE), steady(30000, 0, 1.5) + over + steady(30000, 1.6, 2.5)) == []
    noise = [(1.5, Fault("bad_checksum", b""), False)]
    assert len(play(StableWeigher(RULE), steady(30000, 0, 1.5) + noise + steady(30000, 1.6, 2.5))) == 1


def test_the_platform_must_empty_before_the_next_weighing():
    weigher = StableWeigher(RULE)
    readings = steady(30000, 0, 60) + steady(40, 60, 1) + steady(15000, 61, 5)
    assert [m.kg for m in play(weigher, readings)] == [30000, 15000]


def test_a_latched_platform_after_a_restart_is_not_weighed_again():
    assert play(StableWeigher(RULE, latched=True), steady(30000, 0, 10)) == []
    assert len(play(StableWeigher(RULE, latched=True), steady(0, 0, 1) + steady(30000, 1, 4))) == 1


# --- tickets from the spool -----------------------------------------------------------------------


@pytest.fixture
def spool(tmp_path):
    opened = Spool(tmp_path / "spool.db", "wb-plant", "s3cret")
    yield opened
    opened.close()


def payload(raw: bytes) -> dict:
    return json.loads(raw)


def test_outbound_empty_then_loaded_makes_one_signed_ticket(spool):
    spool.post_plate("蒙B12345", "WF-150200-20261123-000042", T0)
    first, none = spool.record_weighing(15080, T0 + timedelta(seconds=30))
    assert none is None and first.plate == "蒙B12345"
    spool.post_plate("蒙B12345", None, T0 + timedelta(minutes=40))
    _, ticket_no = spool.record_weighing(49260, T0 + timedelta(minutes=41))
    assert ticket_no == "wb-plant-20261123-00001"
    (pending,) = spool.pending()
    body = payload(pending.payload)
    assert body["seq"] == 1 and body["ticket_no"] == ticket_no and body["plate"] == "蒙B12345"
    assert (body["gross_kg"], body["tare_kg"], body["net_kg"]) == (49260, 15080, 34180)
    assert body["tare_at"] == "2026-11-23T09:00:30+08:00" and body["gross_at"] == "2026-11-23T09:41:00+08:00"
    assert body["ts"] == body["gross_at"] and body["manifest_no"] == "WF-150200-20261123-000042"
    assert body["via"] == "scale" and verify("wb-plant", "s3cret", body) and not verify("wb-plant", "other", body)


def test_inbound_loaded_then_empty_puts_gross_first(spool):
    spool.post_plate("蒙B12345", None, T0)
    spool.record_weighing(49260, T0)
    spool.post_plate("蒙B12345", None, T0 + timedelta(minutes=20))
    spool.record_weighing(15080, T0 + timedelta(minutes=20))
    body = payload(spool.pending()[0].payload)
    assert (body["gross_kg"], body["tare_kg"]) == (49260, 15080)
    assert body["gross_at"] < body["tare_at"] == body["ts"]


def test_numbers_count_per_day_in_china_time(spool):
    day_end = datetime(2026, 11, 23, 15, 50, tzinfo=UTC)  # 23:50 in Beijing
    for i, at in enumerate((day_end, day_end + timedelta(minutes=5), day_end + timedelta(minutes=20))):
        for kg, offset in ((15000, 0), (45000, 60)):
            spool.post_plate(f"蒙B0000{i}", None, at + timedelta(seconds=offset))
            spool.record_weighing(kg, at + timedelta(seconds=offset))
    numbers = [payload(p.payload)["ticket_no"] for p in spool.pending()]
    assert numbers == ["wb-plant-20261123-00001", "wb-plant-20261123-00002", "wb-plant-20261124-00001"]


def test_a_plate_expires_after_ten_minutes(spool):
    spool.post_plate("蒙B12345", None, T0)
    weighing, _ = spool.record_weighing(15080, T0 + timedelta(minutes=11))
    assert weighing.plate is None and [w.id for w in spool.unassigned()] == [weighing.id]


def test_a_weighing_without_a_plate_waits_for_one(spool):
    spool.post_plate("蒙B12345", None, T0)
    spool.record_weighing(15080, T0)
    lonely, _ = spool.record_weighing(49260, T0 + timedelta(minutes=30))
    assert spool.pending() == []
    with pytest.raises(SpoolError) as unknown:
        spool.assign(999, "蒙B12345", None)
    assert unknown.value.reason == "unknown_weighing"
    assert spool.assign(lonely.id, "蒙B12345", "WF-1") == "wb-plant-20261123-00001"
    with pytest.raises(SpoolError) as twice:
        spool.assign(lonely.id, "蒙B12345", None)
    assert twice.value.reason == "already_assigned" and spool.unassigned() == []
    assert payload(spool.pending()[0].payload)["manifest_no"] == "WF-1"


def test_weighings_more_than_twelve_hours_apart_do_not_pair(spool):
    for kg, at in ((15080, T0), (49260, T0 + timedelta(hours=12, minutes=1))):
        spool.post_plate("蒙B12345", None, at)
        spool.record_weighing(kg, at)
    assert spool.pending() == []


def test_the_spool_survives_a_reopen_with_the_same_bytes(tmp_path, spool):
    spool.post_plate("蒙B12345", None, T0)
    spool.record_weighing(15080, T0)
    spool.post_plate("蒙B12345", None, T0)
    spool.record_weighing(49260, T0 + timedelta(minutes=5))
    before = spool.pending()
    again = Spool(tmp_path / "spool.db", "wb-plant", "s3cret")
    assert again.pending() == before and again.latched
    again.acknowledged(before[0].ticket_no)
    assert spool.pending() == [] and spool.tickets()[0][2] is True
    again.close()
