"""Some of the simulated fleet reporting as real trucks do: JT/T 808 terminals over TCP, through
the real gateway, instead of JSON over MQTT.

:class:`Jt808Uplink` is an uplink (``publish(topic, payload)``, ``sent``, ``wait_acked``,
``close``) for the fleet's gps devices registered as JT/T 808 terminals. It runs, in a thread
of its own, ``wasteflow gateway jt808`` (the same :class:`Jt808Gateway` as in production, on a
free port) and one simulated terminal per device; each gps message the fleet would have
published becomes what that truck's terminal sends: one fix a ``0x0200``, a batch a ``0x0704``
-- a blind-area back-fill (type 1) when it spans more than :data:`BLIND_AREA_S`, as the
fleet's batches held back in a tunnel or a dead zone do. Terminals of even index speak 2013,
odd 2019. The fleet's signature is dropped: terminals do not sign.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import datetime

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.framing import V2013, V2019
from simulators.jt808_terminal import Fix, Terminal

BLIND_AREA_S = 150.0
"""A batch spanning more than this was held back (the fleet uploads every 2 minutes otherwise)."""

FIRST_PHONE = 13_800_000_000


def terminal_ids(device_ids: list[str]) -> dict[str, str]:
    """Each device's terminal id (its phone number), as registered."""
    return {device_id: str(FIRST_PHONE + i) for i, device_id in enumerate(sorted(device_ids))}


def fixes_of(payload: bytes) -> list[Fix]:
    body = json.loads(payload)
    items = body["batch"] if "batch" in body else [body]
    return [Fix(item["lat"], item["lon"], datetime.fromisoformat(item["ts"]), speed_kmh=item.get("speed_kmh") or 0.0,
                direction=int(item.get("heading") or 0) % 360) for item in items]


class Jt808Uplink:
    def __init__(self, database_url: str, mqtt_url: str, terminals: dict[str, str], mqtt_protocol: str = "5"):
        self.database_url = database_url
        self.mqtt_url = mqtt_url
        self.mqtt_protocol = mqtt_protocol
        self.terminal_ids = terminals  # device id -> terminal id
        self.frames = 0
        self.answered = 0
        self.errors: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-jt808", daemon=True)
        self._terminals: dict[str, Terminal] = {}
        self._pending: set[asyncio.Future] = set()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Jt808Uplink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout)
        return self

    async def _start(self) -> None:
        from mqtt_bridge.gateways.jt808.directory import TerminalDirectory
        from mqtt_bridge.gateways.jt808.server import Jt808Gateway
        from mqtt_bridge.gateways.publisher import GatewayPublisher
        from wasteflow.database import get_engine

        self.publisher = GatewayPublisher(self.mqtt_url, f"wasteflow-demo-jt808-{time.monotonic_ns()}",
                                          protocol=self.mqtt_protocol)
        self.publisher.start()
        if not await asyncio.to_thread(self.publisher.wait_connected, 15):
            raise RuntimeError("the JT/T 808 gateway could not connect to the broker")
        directory = TerminalDirectory(get_engine(self.database_url))
        await asyncio.to_thread(directory.load_all)
        self.gateway = Jt808Gateway(self.publisher, directory)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = await self.gateway.start("127.0.0.1", self.port)
        for i, (device_id, terminal_id) in enumerate(sorted(self.terminal_ids.items())):
            version = V2019 if i % 2 else V2013
            phone = terminal_id.rjust(20 if version == V2019 else 12, "0")
            terminal = Terminal(phone, version, timeout_s=60)
            await terminal.login("127.0.0.1", self.port)  # registers (0x0100), authenticates (0x0102)
            self._terminals[device_id] = terminal

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.publisher.stop()

    async def _close(self) -> None:
        for terminal in self._terminals.values():
            await terminal.close()
        self.server.close()
        await self.gateway.close()

    # --- the uplink ---------------------------------------------------------------------------------

    def routes(self) -> list[str]:
        return list(self.terminal_ids)

    def publish(self, topic: str, payload: bytes) -> None:
        device_id = topic.split("/")[3]
        self.frames += 1
        asyncio.run_coroutine_threadsafe(self._report(device_id, payload), self._loop)

    async def _report(self, device_id: str, payload: bytes) -> None:
        terminal = self._terminals[device_id]
        fixes = fixes_of(payload)
        try:
            if len(fixes) == 1:
                answer = await terminal.report(fixes[0])
            else:
                span = (max(f.when for f in fixes) - min(f.when for f in fixes)).total_seconds()
                answer = await terminal.report_batch(fixes, blind_area=span > BLIND_AREA_S)
            if answer is None or answer.result != m.OK:
                self.errors.append(f"{device_id}: a report was answered {answer}")
        except Exception as exc:  # noqa: BLE001 - counted, reported in the demo's stats
            self.errors.append(f"{device_id}: {type(exc).__name__}: {exc}")
        finally:
            self.answered += 1

    @property
    def sent(self) -> int:
        """MQTT messages published for the fleet (what the bridge will receive), once all are answered."""
        return self.gateway.counters.published if hasattr(self, "gateway") else 0

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Every frame answered: the gateway answers only after the broker's PUBACK."""
        deadline = time.monotonic() + timeout
        while self.answered < self.frames:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True
