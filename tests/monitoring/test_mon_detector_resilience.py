"""The live detector's thread survives anything a run throws, and forgets no vehicle it took;
a rule that breaks at reconciliation leaves its stored findings alone."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from tests.utils.monitoring import CEMENT, GPS, Drive, along, base_time, make_env
from wasteflow.detection import live_rules, pipeline
from wasteflow.detection.rule import Rule
from wasteflow.monitoring.monitor import Monitor


class FlakyMonitor(Monitor):
    """Follows trips like the real one, after failing the first ``failures`` times."""

    def __init__(self, settings, failures: int):
        super().__init__(settings)
        self.failures = failures
        self.calls = 0

    def follow(self, session, manifest, since=None):
        self.calls += 1
        if self.calls <= self.failures:
            raise KeyError("a bug in one run")
        return super().follow(session, manifest, since)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stopped_truck(env):
    """A dispatched truck that stood 12 minutes mid-way: an UNAUTHORIZED_STOP once examined."""
    t0 = base_time()
    no = env.dispatch(t0)
    env.fixes(Drive(t0).fix().go(along(0.5)).stay(720).go(along(0.6)).take())
    return no


def test_a_failed_run_keeps_the_vehicle_and_examines_it_again(world, engine, settings, caplog):
    env = make_env(world, engine, settings)
    clock = FakeClock()
    env.detector.monitor = FlakyMonitor(settings, failures=2)
    env.detector.clock = clock
    no = stopped_truck(env)

    with caplog.at_level(logging.ERROR, logger="wasteflow.live"):
        assert env.run() == []  # the batch fails, then the device alone fails: held back
    assert list(env.detector.pending) == [GPS]
    assert env.findings(no) == []
    assert any("KeyError" in r.getMessage() or r.exc_info for r in caplog.records)
    assert env.run() == []  # not due yet: no hot loop on a failing vehicle
    assert env.detector.monitor.calls == 2

    clock.now += 60
    [stop] = env.run()
    assert (stop.code, stop.manifest_no) == ("UNAUTHORIZED_STOP", no)
    assert env.detector.pending == {}
    assert [topic for topic, _ in env.alerts()] == ["wf/v1/alerts/warning/UNAUTHORIZED_STOP"]


def test_readings_arriving_while_a_vehicle_is_held_are_examined_with_it(world, engine, settings):
    env = make_env(world, engine, settings)
    clock = FakeClock()
    env.detector.monitor = FlakyMonitor(settings, failures=2)
    env.detector.clock = clock
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.5))
    first = env.fixes(d.take()).spans[GPS]
    env.run()
    later = env.fixes(d.stay(720).go(along(0.6)).take()).spans[GPS]
    assert env.detector.pending == {GPS: (first[0], later[1])}
    clock.now += 60
    assert [f.code for f in env.run()] == ["UNAUTHORIZED_STOP"]
    assert env.findings(no, "UNAUTHORIZED_STOP")


def test_the_thread_survives_and_finishes_the_work(world, engine, settings):
    env = make_env(world, engine, settings)
    detector = env.detector
    detector.monitor = FlakyMonitor(settings, failures=2)
    detector.interval_s = 0.05
    detector.clock = FakeClock()
    detector.clock.now = 0.0
    no = stopped_truck(env)
    detector.start()
    try:
        deadline = time.monotonic() + 20
        while detector.monitor.calls < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert detector.monitor.calls >= 2 and detector.alive
        assert env.findings(no) == []
        detector.clock.now += 120  # the held vehicle is due
        while not env.findings(no) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [f.code for f in env.findings(no)] == ["UNAUTHORIZED_STOP"]
        assert detector.alive
    finally:
        detector.stop()


def test_a_rule_broken_at_reconciliation_keeps_its_findings(env, monkeypatch, caplog):
    t0 = base_time()
    no = env.dispatch(t0)
    d = Drive(t0).fix().go(along(0.4)).stay(720).go(along(0.5))
    env.fixes(d.take())
    env.run()
    [stop] = env.findings(no, "UNAUTHORIZED_STOP")
    d.wait(900).go(CEMENT).stay(60)  # a GPS gap on the way
    env.fixes(d.take())
    env.run()

    def broken(ctx):
        raise RuntimeError("bug")

    rules = tuple(Rule(r.codes, broken) if r.codes == ("UNAUTHORIZED_STOP",) else r for r in live_rules.LIVE_RULES)
    monkeypatch.setattr(pipeline, "LIVE_RULES", rules)
    with caplog.at_level(logging.ERROR, logger="wasteflow.detection"):
        body = env.receive(no, 30000, d.t + timedelta(minutes=2))
    assert body["status"] == "reconciled"
    found = {f["code"]: f["status"] for f in body["findings"]}
    assert found["UNAUTHORIZED_STOP"] == "open", "a failed rule does not withdraw what it raised before"
    assert found["GPS_GAP"] == "open" and found["MISSING_TICKET"] == "open", "the other rules ran"
    assert any("broken" in r.getMessage() for r in caplog.records)
