"""Some of the simulated fleet reporting as real trucks do: JT/T 808 terminals over TCP, through
the real gateway, instead of JSON over MQTT.

:func:`start_gateway` runs ``python -m mqtt_bridge.gateways.jt808`` (the production gateway, a
process of its own as in the stack). :class:`Jt808Uplink` is an uplink (``publish(topic,
payload)``, ``sent``, ``wait_acked``, ``close``) for the fleet's gps devices that have a
terminal: it runs one simulated terminal per device, in a thread of its own, and each gps
message the fleet would have published becomes what that truck's terminal sends: one fix a
``0x0200``, a batch a ``0x0704`` -- a blind-area back-fill (type 1) when it spans more than
:data:`BLIND_AREA_S`, as the fleet's batches held back in a tunnel or a dead zone do.
Terminals of even index speak 2013, odd 2019. The fleet's signature is dropped: terminals do
not sign.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.framing import V2013, V2019
from mqtt_bridge.gateways.jt808.translate import MAX_ITEMS_PER_MESSAGE
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gateway(database_url: str, mqtt_url: str, port: int, log_path: Path, mqtt_protocol: str = "5",
                  timeout: float = 30.0) -> subprocess.Popen:
    """``python -m mqtt_bridge.gateways.jt808`` on 127.0.0.1:``port``, logging to ``log_path``."""
    return start_gateway_process("mqtt_bridge.gateways.jt808", "the JT/T 808 gateway", "WASTEFLOW_JT808_LISTEN",
                                 database_url, mqtt_url, port, log_path, mqtt_protocol, timeout)


def start_gateway_process(module: str, label: str, listen_variable: str, database_url: str, mqtt_url: str,
                          port: int, log_path: Path, mqtt_protocol: str, timeout: float) -> subprocess.Popen:
    """A gateway as a process of its own (``python -m module``) listening on 127.0.0.1:``port``: started with
    only the demo's WASTEFLOW_ settings (and the key that opens device secrets), returned once it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_") or k == "WASTEFLOW_SECRET_KEY"}
    env.update({"WASTEFLOW_DATABASE_URL": database_url, "WASTEFLOW_MQTT_URL": mqtt_url,
                "WASTEFLOW_MQTT_PROTOCOL": mqtt_protocol, listen_variable: f"127.0.0.1:{port}",
                "PYTHONUNBUFFERED": "1"})
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited ({proc.returncode}); see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise TimeoutError(f"{label} did not listen on {port}; see {log_path}")


def stop_gateway(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class Jt808Uplink:
    def __init__(self, port: int, terminals: dict[str, str]):
        self.port = port
        self.terminal_ids = terminals  # the fleet's device id -> terminal id
        self.frames = 0
        self.answered = 0
        self.messages = 0  # MQTT messages the gateway published for the answered reports
        self.errors: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-jt808-terminals", daemon=True)
        self._terminals: dict[str, Terminal] = {}
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._sender: asyncio.Task | None = None

    def start(self, timeout: float = 60.0) -> Jt808Uplink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout)
        return self

    async def _start(self) -> None:
        self._queue = asyncio.Queue()
        for i, (device_id, terminal_id) in enumerate(sorted(self.terminal_ids.items())):
            version = V2019 if i % 2 else V2013
            phone = terminal_id.rjust(20 if version == V2019 else 12, "0")
            terminal = Terminal(phone, version, timeout_s=60)
            await terminal.login("127.0.0.1", self.port)  # registers (0x0100), authenticates (0x0102)
            self._terminals[device_id] = terminal
        self._sender = asyncio.get_running_loop().create_task(self._send_forever())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _close(self) -> None:
        if self._sender is None:
            return
        self._sender.cancel()
        for terminal in self._terminals.values():
            await terminal.close()
        await asyncio.gather(self._sender, return_exceptions=True)

    # --- the uplink ---------------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes) -> None:
        assert self._queue is not None, "start() first"
        self.frames += 1
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (topic.split("/")[3], payload))

    async def _send_forever(self) -> None:
        assert self._queue is not None
        while True:
            device_id, payload = await self._queue.get()
            fixes = fixes_of(payload)
            terminal = self._terminals[device_id]
            if len(fixes) == 1:
                sent = terminal.report(fixes[0])
            else:
                span = (max(f.when for f in fixes) - min(f.when for f in fixes)).total_seconds()
                sent = terminal.report_batch(fixes, blind_area=span > BLIND_AREA_S)
            # Tasks start in the order they are made, so frames go out in the fleet's order.
            self._loop.create_task(self._answered(device_id, sent, len(fixes)))

    async def _answered(self, device_id: str, sent, n_fixes: int) -> None:
        try:
            answer = await sent
            if answer is None or answer.result != m.OK:
                self.errors.append(f"{device_id}: a report was answered {answer}")
            else:
                # The fleet's fixes are all plausible and fixed: the gateway publishes them as
                # batches of at most MAX_ITEMS_PER_MESSAGE (mqtt_bridge/gateways/jt808/translate.py).
                self.messages += math.ceil(n_fixes / MAX_ITEMS_PER_MESSAGE)
        except Exception as exc:  # noqa: BLE001 - counted, reported in the demo's summary
            self.errors.append(f"{device_id}: {type(exc).__name__}: {exc}")
        finally:
            self.answered += 1

    @property
    def sent(self) -> int:
        """MQTT messages the bridge will receive for what was published, once it is all answered."""
        return self.messages

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Every report answered: the gateway answers only after the broker's PUBACK."""
        deadline = time.monotonic() + timeout
        while self.answered < self.frames:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True
