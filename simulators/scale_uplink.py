"""One weighbridge of the simulated region weighing trucks as a real one does: an indicator
streaming its continuous output, the plate called over HTTP, and the real scale gateway making,
signing and publishing the ticket.

:class:`ScaleUplink` is an uplink (``publish``, ``sent``, ``wait_acked``, ``close``) for one
weighbridge device. The first ``budget`` arrival tickets the fleet would publish for it are
weighed instead: the indicator simulator (:mod:`simulators.scale_indicator`) shows the truck's
two weights, each preceded by a ``POST /plate`` with the manifest number, and the gateway
(:class:`mqtt_bridge.gateways.scale.server.ScaleGateway`, in this process so that its clock can
be the simulated one) turns them into a ticket numbered by itself. The fleet's plan then names
that number at receipt. Other messages go to ``default``.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from mqtt_bridge.gateways.publisher import GatewayPublisher
from mqtt_bridge.gateways.scale.framing import decoder_for
from mqtt_bridge.gateways.scale.links import TcpLink
from mqtt_bridge.gateways.scale.server import ScaleGateway
from mqtt_bridge.gateways.scale.spool import Spool
from mqtt_bridge.gateways.scale.stability import StableRule, StableWeigher
from simulators.fleet import Plan
from simulators.scale_indicator import Indicator

HOLD_S = 0.6
RATE_HZ = 25.0


class ScaleUplink:
    def __init__(self, device_id: str, secret: str, mqtt_url: str, plan: Plan, default, out_dir: Path,
                 budget: int = 6, fmt: str = "toledo", mqtt_protocol: str = "3.1.1"):
        self.device_id = device_id
        self.plan = plan
        self.default = default
        self.budget = budget
        self.made: list[str] = []
        self.manifests: dict[str, str | None] = {}  # ticket made -> the manifest number called with it
        self.weighed = 0
        self._queued = 0
        self._at = datetime.now(UTC)
        self._jobs: queue.Queue[dict | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self.indicator = Indicator(fmt, rate_hz=RATE_HZ).start()
        self.spool = Spool(out_dir / f"scale-spool-{device_id}.db", device_id, secret)
        self.publisher = GatewayPublisher(mqtt_url, f"wasteflow-demo-scale-{device_id}", protocol=mqtt_protocol)
        self.publisher.start()
        rule = StableRule(threshold_kg=500, hold_s=HOLD_S, division_kg=20)
        self.gateway = ScaleGateway(device_id, self.spool, decoder_for(fmt), StableWeigher(rule), self.publisher,
                                    clock=lambda: self._at)
        self._loop = asyncio.new_event_loop()
        self.plate_port = 0
        threading.Thread(target=self._run_gateway, name="scale-gateway", daemon=True).start()
        ready = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        ready.result(15)
        threading.Thread(target=self._weigh_jobs, name="scale-weighings", daemon=True).start()

    # --- the gateway, in its own event loop ------------------------------------------------------

    def _run_gateway(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _start(self) -> None:
        server = await asyncio.start_server(self.gateway.serve_plates, "127.0.0.1", 0)
        self.plate_port = server.sockets[0].getsockname()[1]
        self._tasks = [asyncio.create_task(self.gateway.read_indicator(TcpLink("127.0.0.1", self.indicator.port))),
                       asyncio.create_task(self.gateway.publish_spooled())]

    # --- the uplink -------------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        """The tickets it weighs through the gateway; what it hands to ``default`` is counted there
        (the demo's router sums every uplink once, ``default`` included)."""
        return self._queued

    def publish(self, topic: str, payload: bytes) -> None:
        body = json.loads(payload)
        ticket = self._arrival_ticket(body.get("ticket_no"))
        if not topic.endswith("/weigh") or self._queued >= self.budget or ticket is None:
            self.default.publish(topic, payload)
            return
        self._queued += 1
        self._idle.clear()
        self._jobs.put({"body": body, "ticket": ticket, "topic": topic, "payload": payload})

    def _arrival_ticket(self, ticket_no: str | None):
        """The fleet's ticket by its number, if a receipt names it (departure numbers are fixed at dispatch)."""
        for trip in self.plan.trips:
            if trip.arrival_ticket is not None and trip.arrival_ticket.ticket_no == ticket_no:
                return trip.arrival_ticket
        return None

    def wait_acked(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        if not self._idle.wait(timeout):
            return False
        while self.spool_pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.default.wait_acked(max(0.1, deadline - time.monotonic()))

    def spool_pending(self) -> int:
        done = threading.Event()
        pending: list[int] = []

        def count() -> None:
            pending.append(len(self.spool.pending()))
            done.set()

        self._loop.call_soon_threadsafe(count)
        done.wait(5)
        return pending[0] if pending else 1

    def close(self) -> None:
        self._jobs.put(None)
        self.indicator.close()
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.publisher.stop()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- weighing -----------------------------------------------------------------------------------

    def _weigh_jobs(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if not self._weigh(job["body"], job["ticket"]):  # a weighing missed: the fleet's ticket instead
                    self._queued -= 1
                    self.default.publish(job["topic"], job["payload"])
            finally:
                if self._jobs.empty():
                    self._idle.set()

    def _weigh(self, body: dict, ticket) -> bool:
        """The truck's two weighings in the order they happened; the gateway's ticket number into the plan."""
        weighings = sorted(((body["tare_at"], body["tare_kg"]), (body["gross_at"], body["gross_kg"])))
        before = self.gateway.counters.tickets
        for at, kg in weighings:
            self._at = datetime.fromisoformat(at)
            self._call_plate(body["plate"], body.get("manifest_no"))
            counted = self.gateway.counters.weighings
            self.indicator.weigh(kg, hold_s=HOLD_S + 0.5, ramp_s=0.3, off_s=0.3)
            deadline = time.monotonic() + 5
            while self.gateway.counters.weighings == counted and time.monotonic() < deadline:
                time.sleep(0.02)
            self.weighed += self.gateway.counters.weighings - counted
        if self.gateway.counters.tickets > before:
            number = self.spool.tickets()[-1][0]
            ticket.ticket_no = number
            self.made.append(number)
            self.manifests[number] = body.get("manifest_no")
            return True
        return False

    def _call_plate(self, plate: str, manifest_no: str | None) -> None:
        call = {"plate": plate, **({"manifest_no": manifest_no} if manifest_no else {})}
        request = urllib.request.Request(f"http://127.0.0.1:{self.plate_port}/plate", method="POST",
                                         data=json.dumps(call, ensure_ascii=False).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
