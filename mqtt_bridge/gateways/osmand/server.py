"""The OsmAnd HTTP gateway's edge: an ASGI app (served by uvicorn) around :mod:`.translate`.

For each request: read the body (at most ``max_body_bytes``), translate it, publish its fixes
with QoS 1 and answer 200 only when the broker has acknowledged every one of them, so a phone
never drops a fix the broker does not hold (Traccar Client and OsmAnd resend what was not
answered 200, and ``seq`` makes the resend a duplicate the bridge stores once). While the broker
is away the gateway answers 503 at once rather than queueing fixes in memory.

What cannot be read is answered 400 with its reason (``reason: detail``, plain text), counted,
and sent to ``wf/v1/quarantine/osmand`` with the request's bytes, at most
``quarantine_per_minute`` a minute (past that, an open port's junk is only counted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mqtt_bridge.gateways.osmand.directory import PhoneDirectory
from mqtt_bridge.gateways.osmand.translate import VIA, Request, Translated, Unreadable, translate
from mqtt_bridge.gateways.publisher import GatewayPublisher, PublishRefused, quarantine_message

log = logging.getLogger("wasteflow.gateway.osmand")


@dataclass
class HttpCounters:
    requests: int = 0
    accepted: int = 0
    fixes_published: int = 0
    broker_unavailable: int = 0
    unreadable: Counter[str] = field(default_factory=Counter)
    quarantine_skipped: int = 0

    def line(self, phones: int) -> str:
        refused = ", ".join(f"{reason} {n}" for reason, n in sorted(self.unreadable.items())) or "none"
        return (f"{self.requests} requests, {self.accepted} answered 200 ({self.fixes_published} fixes published), "
                f"{self.broker_unavailable} answered 503 (broker away); 400: {refused}; "
                f"{self.quarantine_skipped} not quarantined (over the rate); {phones} phones registered")


@dataclass
class Answer:
    status: int
    text: str = ""


class QuarantineRate:
    """At most ``per_minute`` quarantine records in any calendar minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._minute = -1
        self._used = 0

    def allow(self) -> bool:
        minute = int(self.clock() // 60)
        if minute != self._minute:
            self._minute, self._used = minute, 0
        self._used += 1
        return self._used <= self.per_minute


class OsmandGateway:
    def __init__(self, publisher: GatewayPublisher, directory: PhoneDirectory, publish_timeout_s: float = 10.0,
                 max_body_bytes: int = 256 * 1024, quarantine_per_minute: int = 600,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.publisher = publisher
        self.directory = directory
        self.publish_timeout_s = publish_timeout_s
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.counters = HttpCounters()
        self.quarantine_rate = QuarantineRate(quarantine_per_minute)

    async def __call__(self, scope, receive, send) -> None:
        """The ASGI entry point: any path, GET or POST (Traccar's OsmAnd port takes any)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        answer = await self.answer(scope, receive)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": answer.text.encode()})

    async def answer(self, scope, receive) -> Answer:
        self.counters.requests += 1
        if scope["method"] not in ("GET", "POST"):
            return Answer(405, "only GET and POST")
        body = await _read_body(receive, self.max_body_bytes)
        raw = _raw_request(scope, body or b"")
        if body is None:
            return self.refuse(Unreadable("too_large", f"the body is over {self.max_body_bytes} bytes"), raw)
        request = Request(scope["method"], _header(scope, b"content-type"),
                          scope.get("query_string", b"").decode("latin-1"), body)
        outcome = translate(request, self.directory, self.clock())
        if isinstance(outcome, Unreadable) and outcome.reason == "unknown_device":
            await self.directory.ensure(outcome.device_id)
            outcome = translate(request, self.directory, self.clock())
        if isinstance(outcome, Unreadable):
            return self.refuse(outcome, raw)
        return await self.publish(outcome)

    async def publish(self, translated: Translated) -> Answer:
        """200 once the broker holds every fix; 503 (no 200, so the phone resends) otherwise."""
        if not self.publisher.connected.is_set():
            self.counters.broker_unavailable += 1
            return Answer(503, "broker unavailable: resend later")
        try:
            await asyncio.wait_for(self.publisher.publish_all(translated.messages), self.publish_timeout_s)
        except (TimeoutError, PublishRefused) as exc:
            self.counters.broker_unavailable += 1
            log.warning("fixes of %s not acknowledged by the broker (%s): answered 503",
                        translated.device_id, exc or "timeout")
            return Answer(503, "broker unavailable: resend later")
        self.counters.accepted += 1
        self.counters.fixes_published += len(translated.messages)
        return Answer(200)

    def refuse(self, unreadable: Unreadable, raw: bytes) -> Answer:
        self.counters.unreadable[unreadable.reason] += 1
        if self.quarantine_rate.allow():
            topic, payload = quarantine_message(VIA, unreadable.device_id, unreadable.reason, raw, unreadable.detail)
            self.publisher.publish_future(topic, payload)  # a record, not an acknowledgement: nobody waits
        else:
            self.counters.quarantine_skipped += 1
        status = 413 if unreadable.reason == "too_large" else 400
        return Answer(status, f"{unreadable.reason}: {unreadable.detail}")


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole body, or None when it is over ``limit`` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _raw_request(scope, body: bytes) -> bytes:
    """What quarantine keeps of a request: its method, path and query, then its body."""
    target = scope.get("raw_path") or scope.get("path", "/").encode()
    query = scope.get("query_string", b"")
    return scope["method"].encode() + b" " + target + (b"?" + query if query else b"") + b"\n\n" + body
