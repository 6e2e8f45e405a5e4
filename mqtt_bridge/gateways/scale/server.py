"""The scale gateway's asyncio edge: the indicator's line in, the plate calls, the spool, the broker.

Three tasks share one :class:`~mqtt_bridge.gateways.scale.spool.Spool`:

* the indicator: bytes from the link (reopened with backoff), decoded, through the stable-weight
  rule; each weighing is stored with the waiting plate and paired in one spool transaction;
* the plate listener: ``POST /plate`` and ``GET /weighings?unassigned=1`` on a local port;
* the publisher: every ticket the spool holds unacknowledged is published (QoS 1) with its
  stored bytes and marked acknowledged only on the broker's PUBACK. A ticket whose publish is
  still waiting (the broker away) is not published again: paho resends it on reconnection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from mqtt_bridge.gateways.publisher import GatewayPublisher, PublishRefused, device_topic
from mqtt_bridge.gateways.scale.framing import Fault, StreamDecoder
from mqtt_bridge.gateways.scale.links import Link, backoff
from mqtt_bridge.gateways.scale.plates import BadCall, read_plate_call
from mqtt_bridge.gateways.scale.spool import Spool, SpoolError
from mqtt_bridge.gateways.scale.stability import StableWeigher
from mqtt_bridge.gateways.scale.tickets import BOOK_TIME

log = logging.getLogger("wasteflow.gateway.scale")

RETRY_S = 5.0
MAX_REQUEST = 16 * 1024


@dataclass
class ScaleCounters:
    frames: int = 0
    faults: Counter = field(default_factory=Counter)
    connections: int = 0
    link_failures: int = 0
    weighings: int = 0
    tickets: int = 0
    published: int = 0
    publish_failures: int = 0

    def line(self) -> str:
        faults = ", ".join(f"{n} {reason}" for reason, n in sorted(self.faults.items())) or "none"
        return (f"{self.frames} readings, faults: {faults}; {self.connections} connections to the indicator, "
                f"{self.link_failures} lost; {self.weighings} weighings, {self.tickets} tickets made, "
                f"{self.published} published, {self.publish_failures} publish failures")


class ScaleGateway:
    def __init__(self, device_id: str, spool: Spool, decoder: StreamDecoder, weigher: StableWeigher,
                 publisher: GatewayPublisher, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.device_id = device_id
        self.spool = spool
        self.decoder = decoder
        self.weigher = weigher
        self.weigher.latched = spool.latched
        self.publisher = publisher
        self.clock = clock
        self.counters = ScaleCounters()
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    # --- the indicator ------------------------------------------------------------------------

    def on_bytes(self, data: bytes, now: float) -> None:
        """Bytes from the indicator: readings through the stable-weight rule; weighings into the spool."""
        for decoded in self.decoder.feed(data):
            if isinstance(decoded, Fault):
                self.counters.faults[decoded.reason] += 1
            else:
                self.counters.frames += 1
            settled = self.weigher.feed(decoded, now)
            if settled is not None:
                self._weighed(settled.kg)
            elif self.spool.latched and not self.weigher.latched:
                self.spool.set_latched(False)

    def _weighed(self, kg: int) -> None:
        weighing, ticket_no = self.spool.record_weighing(kg, self.clock())
        self.counters.weighings += 1
        log.info("weighing %d: %d kg at %s, plate %s", weighing.id, kg, weighing.at.astimezone(BOOK_TIME).isoformat(),
                 weighing.plate or "(none yet: POST /plate with its weighing_id)")
        self._made(ticket_no)

    def _made(self, ticket_no: str | None) -> None:
        if ticket_no:
            self.counters.tickets += 1
            log.info("ticket %s made", ticket_no)
            self._wake.set()

    async def read_indicator(self, link: Link) -> None:
        """Forever: open the link, feed what it sends, reopen with backoff when it breaks."""
        attempt = 0
        while True:
            try:
                self.counters.connections += 1
                async for data in link.chunks():
                    attempt = 0
                    self.on_bytes(data, time.monotonic())
                log.warning("the indicator at %s closed the line", link.describe())
            except (OSError, TimeoutError, EOFError) as exc:
                log.warning("the indicator at %s: %s", link.describe(), exc or type(exc).__name__)
            except Exception as exc:  # pyserial's SerialException and the like: never fatal
                log.warning("the indicator at %s: %s", link.describe(), exc)
            self.counters.link_failures += 1
            self.weigher.reset()
            delay = backoff(attempt)
            attempt += 1
            await asyncio.sleep(delay)

    # --- the broker ---------------------------------------------------------------------------

    async def publish_spooled(self) -> None:
        """Forever: publish every unacknowledged ticket once, mark it on PUBACK, retry a refusal later."""
        topic = device_topic(self.device_id, "weigh")
        while True:
            for ticket in self.spool.pending():
                if ticket.ticket_no not in self._in_flight:
                    self._in_flight.add(ticket.ticket_no)
                    task = asyncio.create_task(self._publish(topic, ticket.ticket_no, ticket.payload))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), RETRY_S)
            except TimeoutError:
                pass

    async def _publish(self, topic: str, ticket_no: str, payload: bytes) -> None:
        try:
            await self.publisher.publish(topic, payload)
        except PublishRefused as exc:
            self.counters.publish_failures += 1
            log.error("the broker refused ticket %s (%s); retrying in %.0f s", ticket_no, exc, RETRY_S)
            await asyncio.sleep(RETRY_S)
        else:
            self.spool.acknowledged(ticket_no)
            self.counters.published += 1
            log.info("ticket %s acknowledged by the broker", ticket_no)
        finally:
            self._in_flight.discard(ticket_no)

    # --- the plate listener ---------------------------------------------------------------------

    async def serve_plates(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target, body = await read_request(reader)
            status, answer = self.answer(method, target, body)
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            status, answer = 400, {"reason": "bad_request", "detail": str(exc) or "unreadable request"}
        except (ConnectionError, OSError):
            writer.close()
            return
        writer.write(http_response(status, answer))
        try:
            await writer.drain()
        finally:
            writer.close()

    def answer(self, method: str, target: str, body: bytes) -> tuple[int, dict | list]:
        url = urlsplit(target)
        if url.path == "/plate" and method == "POST":
            return self._plate(body)
        if url.path == "/weighings" and method == "GET":
            only_unassigned = parse_qs(url.query).get("unassigned", ["0"])[0] in ("1", "true")
            return 200, [{"weighing_id": w.id, "kg": w.kg, "at": w.at.astimezone(BOOK_TIME).isoformat(),
                          "plate": w.plate, "manifest_no": w.manifest_no}
                         for w in self.spool.weighings(only_unassigned)]
        if url.path == "/status" and method == "GET":
            return 200, {"counters": self.counters.line(), "pending_tickets": len(self.spool.pending())}
        return 404, {"reason": "not_found", "detail": "POST /plate, GET /weighings?unassigned=1, GET /status"}

    def _plate(self, body: bytes) -> tuple[int, dict]:
        call = read_plate_call(body)
        if isinstance(call, BadCall):
            return 400, {"reason": call.reason, "detail": call.detail}
        if call.weighing_id is None:
            self.spool.post_plate(call.plate, call.manifest_no, self.clock())
            log.info("plate %s waits for the next weighing", call.plate)
            return 202, {"plate": call.plate, "manifest_no": call.manifest_no, "applies_to": "next weighing"}
        try:
            ticket_no = self.spool.assign(call.weighing_id, call.plate, call.manifest_no)
        except SpoolError as exc:
            return (404 if exc.reason == "unknown_weighing" else 409), {"reason": exc.reason, "detail": str(exc)}
        self._made(ticket_no)
        return 200, {"plate": call.plate, "weighing_id": call.weighing_id, "ticket_no": ticket_no}


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    """One small HTTP/1.1 request: method, target, body (Content-Length only)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise ValueError("not an HTTP request line")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_REQUEST:
        raise ValueError(f"a body of at most {MAX_REQUEST} bytes")
    body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
    return parts[0], parts[1], body


def http_response(status: int, body: dict | list) -> bytes:
    text = json.dumps(body, ensure_ascii=False).encode("utf-8")
    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 409: "Conflict"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(text)}\r\n"
            f"Connection: close\r\n\r\n").encode("ascii") + text
