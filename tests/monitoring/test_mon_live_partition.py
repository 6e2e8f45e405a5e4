"""Live detection partitioned by vehicle: two detectors (two bridge workers on a shared
subscription, each told of the same vehicles) never examine one vehicle at the same time, and
neither loses one: a vehicle the other holds is put back and examined at the next tick."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from tests.utils.fleet import trucks, vehicle_ids
from tests.utils.monitoring import Drive, along, base_time, gps_records
from tests.utils.monitoring import make_env as _make_env
from wasteflow.monitoring.live_detector import LiveDetector
from wasteflow.monitoring.monitor import Monitor


class Recorder:
    """Wraps a monitor's ``follow``: when each trip was examined, by whom; the first call can be held."""

    def __init__(self, monitor: Monitor, name: str, log: list, hold: threading.Event | None = None):
        self.follow, self.name, self.log, self.hold = monitor.follow, name, log, hold
        self.entered = threading.Event()
        monitor.follow = self  # type: ignore[method-assign]

    def __call__(self, session, manifest, since=None):
        started = time.monotonic()
        self.entered.set()
        if self.hold is not None:
            assert self.hold.wait(20), "the other detector never finished its run"
            self.hold = None
        try:
            return self.follow(session, manifest, since)
        finally:
            self.log.append((manifest.vehicle_id, self.name, started, time.monotonic()))


def test_two_detectors_share_vehicles_without_overlap_or_loss(world, engine, settings, db_kind):
    if db_kind != "postgresql":
        pytest.skip("the vehicle claim is a PostgreSQL advisory lock; SQLite runs one bridge process")
    t0 = base_time()
    fleet = trucks(world, 4, t0)
    ids = vehicle_ids(engine, fleet)
    env = _make_env(world, engine, settings)
    log: list = []
    release_a = threading.Event()
    a = LiveDetector(engine, Monitor(settings))
    b = LiveDetector(engine, Monitor(settings))
    recorder_a = Recorder(a.monitor, "a", log, hold=release_a)
    Recorder(b.monitor, "b", log)
    points = Drive(t0).fix().go(along(0.3)).take()
    for truck in fleet:  # every truck leaves the plant; both workers hear of every one
        stored = env.store.write([_accepted(truck.gps, points)])
        a.after_store(stored)
        b.after_store(stored)

    runner = threading.Thread(target=a.run_once)
    runner.start()
    assert recorder_a.entered.wait(20)  # a holds the first truck, inside its examination
    started = time.monotonic()
    b.run_once()
    assert time.monotonic() - started < 10, "b waited for a instead of passing the held truck by"
    first = ids[fleet[0].plate]
    assert fleet[0].gps in b.pending, "the truck a held is put back, not dropped"
    assert {v for v, who, *_ in log if who == "b"} == set(ids.values()) - {first}
    release_a.set()
    runner.join(30)
    b.run_once()
    assert not a.pending and not b.pending

    for vehicle in ids.values():
        spans = sorted((s, e, who) for v, who, s, e in log if v == vehicle)
        assert spans, f"vehicle {vehicle} was never examined"
        for (_, e0, w0), (s1, _, w1) in zip(spans, spans[1:], strict=False):
            assert s1 >= e0, f"vehicle {vehicle} examined by {w0} and {w1} at once"
    assert {who for v, who, *_ in log if v == first} == {"a", "b"}
    for truck in fleet:
        assert env.status(truck.manifest_no) == "in_transit"


def _accepted(device_id, points):
    from mqtt_bridge.parsing import Accepted

    return Accepted(topic=f"wf/v1/dev/{device_id}/gps", kind="gps", device_id=device_id,
                    records=gps_records(points, device_id=device_id))


def test_a_detector_reads_only_the_recent_window_of_a_long_trip(env, settings, monkeypatch):
    """Hours into a trip, a run reads the readings from ``live_lookback_s`` before the new ones."""
    from wasteflow.monitoring import monitor

    t0 = base_time(hours_ago=8)
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.2), kmh=10)
    env.fixes(d.take())
    env.run()
    assert env.status(no) == "in_transit"
    d.stay(3 * 3600)
    env.fixes(d.take(), notify=False)
    d.go(along(0.3), kmh=10)
    newest = d.take()
    env.fixes(newest)
    read = []
    load_trip = monitor.load_trip

    def spy(*args):
        trip = load_trip(*args)
        read.append(trip.fixes)
        return trip

    monkeypatch.setattr(monitor, "load_trip", spy)
    env.run()
    lookback = timedelta(seconds=settings.live_lookback_s)
    assert len(read) == 1 and read[0]
    assert min(f.ts for f in read[0]) >= newest[0][0] - lookback, "the trip's early hours are not read"
    assert min(f.ts for f in read[0]) < newest[0][0], "the lookback before the new fixes is read"
    assert max(f.ts for f in read[0]) == newest[-1][0]
