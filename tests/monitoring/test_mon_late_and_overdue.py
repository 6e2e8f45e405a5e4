"""Late data and the clock: buffered fixes re-reconcile a finished trip; the OVERDUE watchdog runs
on an injectable clock and a receipt signed in time withdraws it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.utils.monitoring import CEMENT, Drive, along, base_time, distance_m, make_env, window


def test_tunnel_fixes_arriving_after_receipt_withdraw_the_gap_and_reveal_a_stop(env):
    t0 = base_time()
    no = env.dispatch(t0)
    env.ticket("wb-plant", "P-T", 30000, t0 - timedelta(minutes=5), manifest_no=no)
    d = Drive(t0).fix().go(along(0.3))
    env.fixes(d.take())
    env.run()
    d.go(along(0.4)).stay(720).go(along(0.45))  # in the tunnel: buffered on the terminal
    buffered = d.take()
    d.go(CEMENT).stay(60)
    env.fixes(d.take())
    env.run()
    env.ticket("wb-cement", "C-T", 30000, d.t, manifest_no=no)
    body = env.receive(no, 30000, d.t + timedelta(minutes=2))
    assert body["status"] == "reconciled"
    assert [f["code"] for f in body["findings"]] == ["GPS_GAP"]
    [gap] = env.findings(no, "GPS_GAP")
    assert (window(gap)[1] - window(gap)[0]).total_seconds() > 800
    before = len(env.published)

    env.fixes(buffered)  # the terminal is out of the tunnel: the bridge stores the batch, notifies
    raised = env.run()

    assert [f.code for f in raised] == ["UNAUTHORIZED_STOP"]
    stop = env.findings(no, "UNAUTHORIZED_STOP")[0]
    assert stop.status == "open" and distance_m(tuple(stop.location["coordinates"]), along(0.4)) < 200
    assert [body["code"] for _, body in env.published[before:]] == ["UNAUTHORIZED_STOP"]
    gap = env.findings(no, "GPS_GAP")[0]
    assert gap.status == "withdrawn"
    detail = env.world.get(f"/v1/findings/{gap.id}", "regulator").json()
    last = detail["history"][-1]
    assert (last["from"], last["status"], last["by"]) == ("open", "withdrawn", "system")
    assert "no longer supports" in last["note"]
    assert env.status(no) == "reconciled"
    kinds = env.ledger_kinds(no)
    assert "manifest.re_reconciled" in kinds and "finding.withdrawn" in kinds
    assert env.world.get("/v1/ledger/verify", "regulator").json()["ok"] is True
    # withdrawn findings stay visible, and do not count as raised
    codes = {f["code"]: f["status"] for f in env.manifest(no)["findings"]}
    assert codes == {"GPS_GAP": "withdrawn", "UNAUTHORIZED_STOP": "open"}


def test_late_fixes_outside_the_window_leave_a_reconciled_trip_alone(env):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(CEMENT).stay(60)
    env.fixes(d.take())
    env.run()
    env.receive(no, 30000, d.t + timedelta(minutes=2))
    ledger_before = env.ledger_kinds(no)
    env.fixes(Drive(d.t + timedelta(hours=2), pos=CEMENT).fix().stay(60).take())
    assert env.run() == []
    assert env.ledger_kinds(no) == ledger_before


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(world, engine, settings):
    clock = Clock(datetime.now(UTC))
    return make_env(world, engine, settings, clock=clock), clock


def test_overdue_raised_by_the_watchdog_and_withdrawn_by_a_timely_receipt(clocked):
    env, clock = clocked
    t0 = base_time(3)
    no = env.dispatch(t0, planned_arrival=(t0 + timedelta(hours=2)).isoformat())
    deadline = t0 + timedelta(hours=4)  # planned arrival + 2 h, an hour from (real) now

    clock.now = deadline - timedelta(seconds=1)
    assert env.detector.run_watchdog() == []
    clock.now = deadline + timedelta(minutes=1)
    [overdue] = env.detector.run_watchdog()
    assert (overdue.code, overdue.severity, overdue.manifest_no) == ("OVERDUE", "warning", no)
    assert [t for t, _ in env.alerts("OVERDUE")] == ["wf/v1/alerts/warning/OVERDUE"]
    clock.now = deadline + timedelta(minutes=5)
    assert env.detector.run_watchdog() == []  # same episode, not a second finding
    assert len(env.findings(no, "OVERDUE")) == 1

    # the receipt reaches the API now, signed (at) before the deadline: it came in time
    env.receive(no, 30000, datetime.now(UTC) - timedelta(minutes=1))
    [overdue] = env.findings(no, "OVERDUE")
    assert overdue.status == "withdrawn"
    assert "before the deadline" in env.history(overdue.id)[-1].note


def test_overdue_stays_when_the_receipt_is_late(clocked):
    env, clock = clocked
    t0 = base_time(3)
    no = env.dispatch(t0, planned_arrival=(t0 + timedelta(minutes=30)).isoformat())
    deadline = t0 + timedelta(minutes=150)
    clock.now = datetime.now(UTC)
    [overdue] = env.detector.run_watchdog()
    received_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    env.receive(no, 30000, received_at)
    [overdue] = env.findings(no, "OVERDUE")
    assert overdue.status == "open"
    assert window(overdue)[0] == deadline and window(overdue)[1] >= received_at
    assert overdue.evidence["received_at"] == received_at.isoformat().replace("+00:00", "Z")


def test_overdue_without_planned_arrival_after_a_day(clocked):
    env, clock = clocked
    t0 = base_time(3)
    env.dispatch(t0)
    clock.now = t0 + timedelta(hours=24) - timedelta(seconds=1)
    assert env.detector.run_watchdog() == []
    clock.now = t0 + timedelta(hours=24, seconds=1)
    assert [f.code for f in env.detector.run_watchdog()] == ["OVERDUE"]


def test_receipt_after_the_deadline_raises_overdue_without_the_watchdog(env):
    t0 = base_time(3)
    no = env.dispatch(t0, planned_arrival=(t0 + timedelta(minutes=10)).isoformat())
    body = env.receive(no, 30000, t0 + timedelta(hours=2, minutes=30))
    assert "OVERDUE" in [f["code"] for f in body["findings"] if f["status"] == "open"]


def test_load_readings_arriving_after_the_receipt_reconcile_again(env):
    """The load cell's buffer reaches the bridge after the receipt: the drop it shows is raised at
    the re-run reconciliation, and becomes the shortfall's first candidate."""
    t0 = base_time()
    no = env.dispatch(t0)
    env.ticket("wb-plant", "P-LL", 30000, t0 - timedelta(minutes=5), manifest_no=no)
    d = Drive(t0).fix().go(along(0.4))
    drop_at = d.t
    d.stay(120).go(CEMENT).stay(60)
    env.fixes(d.take())
    env.run()
    env.ticket("wb-cement", "C-LL", 26000, d.t, manifest_no=no)
    body = env.receive(no, 26000, d.t + timedelta(minutes=2))
    assert {f["code"] for f in body["findings"]} == {"TONNAGE_SHORTFALL"}
    assert body["findings"][0]["evidence"]["candidates"] == []

    readings = [(t0 + timedelta(seconds=30 * k), 30000) for k in range(int((drop_at - t0).total_seconds() // 30))]
    readings += [(drop_at + timedelta(seconds=30 + 30 * k), 26000) for k in range(20)]
    env.loads(readings)
    assert [f.code for f in env.run()] == ["LOAD_DROP"]
    [shortfall] = env.findings(no, "TONNAGE_SHORTFALL")
    assert shortfall.evidence["candidates"][0]["kind"] == "load_drop"
    assert "manifest.re_reconciled" in env.ledger_kinds(no)


def test_a_late_ticket_joins_only_a_receipt_within_24_h_that_lacks_it(env):
    t0 = base_time(hours_ago=40)
    no = env.dispatch(t0)
    env.ticket("wb-plant", "P-24", 30000, t0 - timedelta(minutes=5))  # no number: plate and time
    d = Drive(t0).fix().go(CEMENT).stay(60)
    env.fixes(d.take())
    env.run()
    received_at = d.t + timedelta(minutes=2)
    env.receive(no, 30000, received_at)
    [missing] = env.findings(no, "MISSING_TICKET")
    assert missing.evidence["missing"] == ["arrival"]

    stored = env.ticket("wb-cement", "C-25H", 30000, received_at + timedelta(hours=25))
    assert stored.manifests_touched == set() and env.run() == []
    assert env.manifest(no)["arrival_ticket"] is None

    stored = env.ticket("wb-cement", "C-LATE", 30000, received_at - timedelta(minutes=1))
    assert stored.manifests_touched == {no}
    env.run()
    assert env.manifest(no)["arrival_ticket"]["ticket_no"] == "C-LATE"
    [missing] = env.findings(no, "MISSING_TICKET")
    assert missing.status == "withdrawn"

    stored = env.ticket("wb-cement", "C-AGAIN", 30000, received_at)  # it has its ticket now
    assert stored.manifests_touched == set()
    assert env.manifest(no)["arrival_ticket"]["ticket_no"] == "C-LATE"
