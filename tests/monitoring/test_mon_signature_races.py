"""Findings a signature withdraws, raised at the same instant the signature arrives (issue 17 item 2).

* OVERDUE: the watchdog's clock stands at the deadline; a receipt whose ``at`` lies just before it
  reaches the API at the same moment the watchdog runs.
* A live finding: readings after the receipt's ``at`` (outside the trip once it is received) are
  examined by live detection at the same moment the receipt arrives.

Whichever commits first, the manifest must never be left with an open finding the receipt rules
out: the watchdog and live detection read the manifest under its lock (the lock the receipt's
transition takes) before they store anything, and the receipt withdraws what was stored before it.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from functools import partial

from tests.utils.monitoring import CEMENT, Drive, base_time, make_env, move

ROUNDS = 200


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_overdue_never_outlives_a_timely_receipt_racing_the_watchdog(world, engine, settings):
    clock = Clock()
    env = make_env(world, engine, settings, clock=clock)
    rng = random.Random(17)
    outcomes: dict[str, int] = {"never raised": 0, "raised then withdrawn": 0}
    for _ in range(ROUNDS):
        deadline = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        t0 = deadline - timedelta(hours=3)
        no = env.dispatch(t0, planned_arrival=(t0 + timedelta(hours=1)).isoformat())
        clock.now = deadline
        race(env.detector.run_watchdog, partial(env.receive, no, 30000, deadline - timedelta(seconds=1)),
             rng.uniform(-0.01, 0.01))
        overdue = env.findings(no, "OVERDUE")
        assert [f.status for f in overdue if f.status != "withdrawn"] == [], no
        outcomes["raised then withdrawn" if overdue else "never raised"] += 1
    assert sum(outcomes.values()) == ROUNDS
    print(outcomes)

def race(first, second, delay_s: float) -> None:
    """Run both at once, re-raising either's exception: the first `delay_s` later when positive,
    the second `-delay_s` later when negative."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        threading.Event().wait(max(delay_s, 0.0))
        try:
            first()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    start.wait()
    threading.Event().wait(max(-delay_s, 0.0))
    second()
    thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_a_live_finding_never_outlives_the_receipt_that_puts_it_outside_the_trip(world, engine, settings):
    """After unloading, the terminal glitches 40 km away and back, just after the receipt's ``at``.
    Live detection sees those fixes as the receipt arrives: the jump lies outside the received
    trip, so it must never be left open on the manifest."""
    env = make_env(world, engine, settings)
    rounds = ROUNDS // 2
    rng = random.Random(71)
    outcomes = {"never raised": 0, "raised then withdrawn": 0}
    for k in range(rounds):
        t0 = base_time(hours_ago=2 + (rounds - k) * 0.5)
        no = env.dispatch(t0)
        d = Drive(t0, every=60.0).fix().go(CEMENT, kmh=80).stay(300)
        env.fixes(d.take())
        env.run()
        received_at = d.t + timedelta(seconds=30)
        d.wait(30).stay(60).jump(move(CEMENT, 40_000, 0)).jump(CEMENT)
        env.fixes(d.take())  # stored and notified: the detector's next run examines them
        race(env.run, partial(env.receive, no, 30000, received_at), rng.uniform(-0.01, 0.01))
        env.run()
        jumps = env.findings(no, "IMPOSSIBLE_JUMP")
        assert [f.status for f in jumps if f.status != "withdrawn"] == [], no
        outcomes["raised then withdrawn" if jumps else "never raised"] += 1
    assert sum(outcomes.values()) == rounds
    print(outcomes)


def test_a_redispatch_never_outlives_a_receipt_in_time_signed_at_the_same_instant(world, engine, settings):
    """The truck is dispatched on its next load as the receiver signs the previous one (with an
    ``at`` before that dispatch): REDISPATCHED_BEFORE_RECEIPT may be raised, but never left open."""
    env = make_env(world, engine, settings)
    rounds = ROUNDS // 2
    rng = random.Random(13)
    outcomes = {"never raised": 0, "raised then withdrawn": 0}
    for k in range(rounds):
        t0 = base_time(hours_ago=2 + (rounds - k) * 0.5)
        first = env.dispatch(t0)
        t1 = t0 + timedelta(minutes=20)
        second = env.world.file(at=(t1 - timedelta(minutes=5)).isoformat())
        dispatch = partial(env.world.post, f"/v1/manifests/{second}/dispatch", {"at": t1.isoformat()}, "generator")
        race(dispatch, partial(env.receive, first, 30000, t1 - timedelta(minutes=1)), rng.uniform(-0.01, 0.01))
        assert env.status(second) == "dispatched"
        found = env.findings(first, "REDISPATCHED_BEFORE_RECEIPT")
        assert [f.status for f in found if f.status != "withdrawn"] == [], first
        outcomes["raised then withdrawn" if found else "never raised"] += 1
        env.receive(second, 30000, t1 + timedelta(minutes=10))
    assert sum(outcomes.values()) == rounds
    print(outcomes)
