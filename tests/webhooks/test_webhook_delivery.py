"""Deliveries from the worker to a real local HTTP server: signed, bare, retried on schedule, disabled after
10 failed attempts, re-enabled, and delivered by a worker restarted mid-backoff; both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from tests.utils.webhooks import Clock, endpoint
from tests.utils.workflow import dispatched, extend, leg, ok, received
from wasteflow.webhooks import signing
from wasteflow.webhooks.worker import WebhookWorker


@pytest.fixture
def worker_for(engine, settings):
    """A worker on the test's database; closed at the end. ``worker_for(clock)``."""
    made: list[WebhookWorker] = []

    def make(clock=None) -> WebhookWorker:
        worker = WebhookWorker(engine, settings, **({"clock": clock} if clock else {}))
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()


def subscribe(world, who: str, url: str, events: list[str], **extra) -> dict:
    return ok(world.post("/v1/webhooks", {"url": url, "events": events, **extra}, who), 201)


def deliveries(world, who: str, webhook_id: int) -> list[dict]:
    return ok(world.get(f"/v1/webhooks/{webhook_id}/deliveries", who))["items"]


def test_a_delivery_is_signed_and_carries_only_action_id_and_time(world, worker_for):
    with endpoint() as firm:
        hook = subscribe(world, "generator", firm.url, ["manifest.filed", "manifest.dispatched"])
        manifest_no = dispatched(world)
        assert worker_for().run_once() == 2
        assert len(firm.received) == 2
        first = next(r for r in firm.received if b"manifest.filed" in r.body)  # sent concurrently: any order
        body = json.loads(first.body)
        assert set(body) == {"action", "id", "at"}
        assert (body["action"], body["id"]) == ("manifest.filed", manifest_no)
        assert datetime.fromisoformat(body["at"].replace("Z", "+00:00")).tzinfo is not None
        header = first.headers["wasteflow-signature"]
        assert signing.verify(hook["secret"], header, first.body, int(time.time()))
        assert not signing.verify("whsec_another", header, first.body, int(time.time()))
        assert not signing.verify(hook["secret"], header, first.body + b" ", int(time.time()))
        t = int(header.split(",")[0][2:])
        expected = hmac.new(hook["secret"].encode(), f"{t}.".encode() + first.body, hashlib.sha256).hexdigest()
        assert header == f"t={t},v1={expected}"  # api.md's recipe, recomputed by hand
        assert [d["status"] for d in deliveries(world, "generator", hook["id"])] == ["delivered", "delivered"]


def test_a_webhook_hears_only_of_what_its_owner_may_see(world, worker_for):
    extend(world)
    with endpoint() as outsider, endpoint() as haulier, endpoint() as bureau:
        subscribe(world, "outsider", outsider.url, ["manifest.filed", "finding.raised"])
        subscribe(world, "haulier2", haulier.url, ["manifest.filed"])
        subscribe(world, "regulator", bureau.url, ["finding.raised"], min_severity="critical")
        manifest_no = received(world, accepted_kg=30000, legs=[leg(world, "haulier2")])
        worker_for().run_once()
        assert outsider.received == []
        assert [json.loads(b)["id"] for b in haulier.bodies()] == [manifest_no]  # a later leg's transporter
        raised = ok(world.get("/v1/findings", "regulator", manifest_no=manifest_no))["items"]
        critical = {str(f["id"]) for f in raised if f["severity"] == "critical"}  # NO_TRACK
        assert critical and any(f["severity"] == "warning" for f in raised)  # MISSING_TICKET
        assert {json.loads(b)["id"] for b in bureau.bodies()} == critical  # the bureau's min_severity


def test_a_failing_endpoint_is_retried_on_schedule_then_disabled_after_10_attempts(world, worker_for, settings):
    clock = Clock()
    worker = worker_for(clock)
    with endpoint(status=500) as firm:
        hook = subscribe(world, "generator", firm.url, ["manifest.filed"])
        world.file()
        clock.advance(seconds=1)
        base = settings.webhook_retry_base_s
        waits = []
        for attempt in range(1, 11):
            assert worker.run_once() == 1, attempt
            assert len(firm.received) == attempt
            wait = base * 2 ** (attempt - 1)
            waits.append(wait)
            if attempt < 10:
                clock.advance(seconds=wait - 0.5)
                assert worker.run_once() == 0, f"attempt {attempt + 1} came early"
                clock.advance(seconds=0.5)
        assert waits[:4] == [base, 2 * base, 4 * base, 8 * base]
        state = ok(world.get(f"/v1/webhooks/{hook['id']}", "generator"))
        assert state["enabled"] is False and state["consecutive_failures"] == 10
        assert "10 consecutive failed attempts" in state["disabled_reason"] and "HTTP 500" in state["disabled_reason"]
        [delivery] = deliveries(world, "generator", hook["id"])
        assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("pending", 10, 500)
        clock.advance(hours=2)
        assert worker.run_once() == 0  # disabled: nothing is sent
        firm.status = 204
        state = ok(world.post(f"/v1/webhooks/{hook['id']}/enable", {}, "generator"))
        assert state["enabled"] is True and state["disabled_reason"] is None
        assert worker.run_once() == 1
        assert deliveries(world, "generator", hook["id"])[0]["status"] == "delivered"


def test_backoff_is_capped_at_an_hour_and_gives_up_after_24_hours(world, worker_for, settings):
    settings.webhook_retry_base_s = 1000.0
    settings.webhook_max_failures = 1000
    clock = Clock()
    worker = worker_for(clock)
    with endpoint(status=503) as firm:
        hook = subscribe(world, "generator", firm.url, ["manifest.filed"])
        world.file()
        clock.advance(seconds=1)
        attempts_at = []
        for _ in range(100):
            assert worker.run_once() == 1
            attempts_at.append(clock.now)
            [delivery] = deliveries(world, "generator", hook["id"])
            if delivery["status"] == "failed":
                break
            due = datetime.fromisoformat(delivery["next_attempt_at"])
            clock.advance(seconds=(due - clock.now).total_seconds() - 1)
            assert worker.run_once() == 0
            clock.advance(seconds=1)
        gaps = [(b - a).total_seconds() for a, b in zip(attempts_at, attempts_at[1:], strict=False)]
        assert gaps[:2] == [1000, 2000] and set(gaps[2:]) == {3600}  # 4000 is over the hour: capped
        assert (attempts_at[-1] - attempts_at[0]).total_seconds() <= 24 * 3600
        assert len(firm.received) == len(attempts_at)


def test_a_worker_restarted_mid_backoff_still_delivers(world, worker_for, settings):
    clock = Clock()
    with endpoint(status=502) as firm:
        subscribe(world, "generator", firm.url, ["manifest.filed"])
        manifest_no = world.file()
        clock.advance(seconds=1)
        first = worker_for(clock)
        assert first.run_once() == 1
        first.close()  # the process stops while the delivery waits for its retry
        firm.status = 200
        clock.advance(seconds=settings.webhook_retry_base_s)
        restarted = worker_for(clock)
        assert restarted.run_once() == 1
        assert [json.loads(b)["id"] for b in firm.bodies()] == [manifest_no, manifest_no]
        assert restarted.run_once() == 0


def test_a_dead_endpoint_times_out_and_counts_as_a_failed_attempt(world, worker_for, settings):
    settings.webhook_timeout_s = 0.3
    with endpoint(delay_s=2) as slow:
        hook = subscribe(world, "generator", slow.url, ["manifest.filed"])
        world.file()
        started = time.monotonic()
        assert worker_for().run_once() == 1
        assert time.monotonic() - started < 1.5
        [delivery] = deliveries(world, "generator", hook["id"])
        assert delivery["status"] == "pending" and "Timeout" in delivery["last_error"]
        assert datetime.fromisoformat(delivery["next_attempt_at"]) > datetime.now(UTC)


def test_a_backlog_of_unheard_events_does_not_hide_the_next_one(world, worker_for, engine):
    """Events written before any webhook existed (a day's work, say) fill more than one fan-out
    batch; a round still reaches the event behind them."""
    from wasteflow.database import session_scope
    from wasteflow.webhooks.models import WebhookEvent

    with session_scope(engine) as session:
        for n in range(450):
            session.add(WebhookEvent(action="manifest.filed", object_id=f"OLD-{n}", at=datetime.now(UTC),
                                     manifest_no=f"OLD-{n}"))
    with endpoint() as firm:
        subscribe(world, "generator", firm.url, ["manifest.dispatched"])
        manifest_no = dispatched(world)
        assert worker_for().run_once() == 1
        assert [json.loads(b)["id"] for b in firm.bodies()] == [manifest_no]
