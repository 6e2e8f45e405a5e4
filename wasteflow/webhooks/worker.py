"""The webhook worker (``wasteflow webhooks``): fans the outbox out and delivers, apart from the API and
the bridge, so a slow or dead endpoint never slows either.

Each round: waiting events become deliveries (:mod:`.fanout`); due deliveries are claimed — their next
attempt moved past the round's timeout (a lease), so a worker that dies mid-send leaves them due again
and another worker, or this one restarted, tries them (at least once) — then POSTed with bounded
concurrency and a timeout each, and each outcome recorded in its own transaction: delivered, or the
next attempt by the backoff schedule, or given up after the retry window; a webhook's 10th consecutive
failed attempt disables it with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from wasteflow.config import Settings
from wasteflow.database import session_scope, utcnow
from wasteflow.errors import RuleViolation
from wasteflow.webhooks import addresses, schedule, signing
from wasteflow.webhooks.fanout import fan_out
from wasteflow.webhooks.models import Webhook, WebhookDelivery

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    webhook_id: int
    url: str
    secret: str
    payload: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


class WebhookWorker:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow, batch: int = 100):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.batch = batch
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.webhook_concurrency),
                                       thread_name_prefix="webhook")
        self.client = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False,
                                   limits=httpx.Limits(max_connections=max(1, settings.webhook_concurrency)))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    # --- one round -------------------------------------------------------------------------

    def run_once(self) -> int:
        """Fan out everything that waits, deliver what is due; returns the number of deliveries attempted."""
        self.fan_out_waiting()
        claims = self.claim_due()
        for claim, outcome in zip(claims, self.pool.map(self.deliver, claims), strict=True):
            self.record(claim, outcome)
        return len(claims)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database hiccup: try again next round, the outbox keeps everything
                busy = 0
            if not busy:
                stop.wait(self.settings.webhook_poll_s)

    # --- the steps -------------------------------------------------------------------------

    def fan_out_waiting(self) -> None:
        """Every waiting event, a batch per transaction. A backlog of events nobody hears (written
        before any webhook existed) must not hide the ones behind it from this round."""
        while True:
            with session_scope(self.engine) as session:
                if not fan_out(session):
                    return

    def claim_due(self) -> list[Claim]:
        now = self.clock()
        lease = timedelta(seconds=self.settings.webhook_timeout_s * 2 + 30)
        window_start = now - timedelta(seconds=self.settings.webhook_retry_window_s)
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(WebhookDelivery, Webhook).join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
                .where(col(WebhookDelivery.status) == "pending", col(WebhookDelivery.next_attempt_at) <= now,
                       col(Webhook.enabled).is_(True), col(Webhook.deleted).is_(False))
                .order_by(col(WebhookDelivery.next_attempt_at)).limit(self.batch)
                .with_for_update(skip_locked=True, of=WebhookDelivery)).all()
            claims = []
            for delivery, webhook in rows:
                if delivery.created_at < window_start:
                    delivery.status, delivery.last_error = "failed", "gave up: the retry window passed"
                else:
                    delivery.next_attempt_at = now + lease
                    claims.append(Claim(int(delivery.id or 0), int(webhook.id or 0), webhook.url, webhook.secret,
                                        signing.body(delivery.action, delivery.object_id, delivery.at)))
                session.add(delivery)
            return claims

    def deliver(self, claim: Claim) -> Outcome:
        """POST the signed body; only a 2xx counts. The URL is checked again (a name may have moved)."""
        try:
            addresses.check_url(claim.url, self.settings.webhook_allow_private)
        except RuleViolation as refused:
            return Outcome(False, error=f"refused: {refused.detail}")
        header = signing.signature(claim.secret, claim.payload, int(self.clock().timestamp()))
        try:
            response = self.client.post(claim.url, content=claim.payload,
                                        headers={"Content-Type": "application/json", signing.HEADER: header,
                                                 "User-Agent": "wasteflow-webhooks/1"})
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}")

    def record(self, claim: Claim, outcome: Outcome) -> None:
        now = self.clock()
        with session_scope(self.engine) as session:
            delivery = session.get(WebhookDelivery, claim.delivery_id)
            webhook = session.get(Webhook, claim.webhook_id)
            if delivery is None or webhook is None:  # rows are never deleted; nothing to record otherwise
                return
            delivery.attempts += 1
            delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
            if outcome.ok:
                delivery.status, delivery.delivered_at = "delivered", now
                webhook.consecutive_failures = 0
            else:
                self._failed(delivery, webhook, now)
            session.add_all([delivery, webhook])

    def _failed(self, delivery: WebhookDelivery, webhook: Webhook, now: datetime) -> None:
        s = self.settings
        due = schedule.next_attempt(delivery.created_at, delivery.attempts, now, base_s=s.webhook_retry_base_s,
                                    max_interval_s=s.webhook_retry_max_interval_s, window_s=s.webhook_retry_window_s)
        if due is None:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = due
        webhook.consecutive_failures += 1
        if webhook.enabled and webhook.consecutive_failures >= s.webhook_max_failures:
            webhook.enabled, webhook.disabled_at = False, now
            webhook.disabled_reason = (f"disabled after {webhook.consecutive_failures} consecutive failed attempts; "
                                       f"the last: {delivery.last_error}")[:1000]


def run(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    worker = WebhookWorker(engine, settings)
    try:
        worker.run_forever(stop)
    finally:
        worker.close()


