"""Some of the simulated fleet reporting as small transporters' trucks do: the driver's phone
running Traccar Client or OsmAnd, over HTTP, through the real gateway, instead of JSON over MQTT.

:func:`start_gateway` runs ``wasteflow gateway http`` (``python -m mqtt_bridge.gateways.osmand``,
a process of its own as in the stack). :class:`OsmandUplink` is an uplink (``publish(topic,
payload)``, ``sent``, ``wait_acked``, ``close``) for the fleet's gps devices that have a phone:
each gps message the fleet would have published becomes what that truck's phone sends -- one fix
an OsmAnd ``GET`` (speed in knots, epoch seconds), a batch held back in a dead zone one Traccar
Client JSON ``POST`` (speed in m/s, ISO times) -- and a request answered 503 is sent again a
second later, as the phone would. The fleet's signature is dropped: phones do not sign.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from mqtt_bridge.gateways.osmand.translate import DEVICE_PREFIX, KNOTS_TO_KMH, MS_TO_KMH

RETRY_S = 1.0
MAX_ATTEMPTS = 30


def phone_ids(device_ids: list[str]) -> dict[str, str]:
    """Each fleet gps device's phone id (Traccar Client's *Device identifier*), registered as osmand:{id}."""
    return {device_id: f"phone-{device_id}" for device_id in sorted(device_ids)}


def query_of(phone_id: str, fix: dict) -> dict[str, str]:
    """One fix as OsmAnd's query string."""
    params = {"id": phone_id, "lat": repr(fix["lat"]), "lon": repr(fix["lon"]),
              "timestamp": str(int(datetime.fromisoformat(fix["ts"]).timestamp()))}
    if fix.get("speed_kmh") is not None:
        params["speed"] = repr(fix["speed_kmh"] / KNOTS_TO_KMH)
    if fix.get("heading") is not None:
        params["bearing"] = repr(fix["heading"])
    return params


def traccar_json_of(phone_id: str, fixes: list[dict]) -> dict:
    """Fixes as Traccar Client's JSON body (a list of locations: what it kept while offline)."""
    return {"device_id": phone_id, "location": [{"timestamp": fix["ts"], "coords": coords_of(fix)} for fix in fixes]}


def coords_of(fix: dict) -> dict:
    """Traccar Client's coords; -1 for a speed or heading it does not know."""
    speed = -1 if fix.get("speed_kmh") is None else fix["speed_kmh"] / MS_TO_KMH
    heading = -1 if fix.get("heading") is None else fix["heading"]
    return {"latitude": fix["lat"], "longitude": fix["lon"], "speed": speed, "heading": heading}


def start_gateway(database_url: str, mqtt_url: str, port: int, log_path: Path, mqtt_protocol: str = "5",
                  timeout: float = 30.0) -> subprocess.Popen:
    """``python -m mqtt_bridge.gateways.osmand`` on 127.0.0.1:``port``, logging to ``log_path``."""
    from simulators.jt808_uplink import start_gateway_process

    return start_gateway_process("mqtt_bridge.gateways.osmand", "the OsmAnd gateway", "WASTEFLOW_OSMAND_LISTEN",
                                 database_url, mqtt_url, port, log_path, mqtt_protocol, timeout)


class OsmandUplink:
    def __init__(self, port: int, phones: dict[str, str], concurrency: int = 16):
        self.url = f"http://127.0.0.1:{port}/"
        self.phones = phones  # the fleet's device id -> phone id
        self.requests = 0
        self.answered = 0
        self.messages = 0  # MQTT messages the gateway published for the answered requests (one per fix)
        self.retries = 0
        self.errors: list[str] = []
        self._concurrency = concurrency
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-osmand-phones", daemon=True)
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    def start(self, timeout: float = 30.0) -> OsmandUplink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout)
        return self

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(timeout=30)
        self._slots = asyncio.Semaphore(self._concurrency)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- the uplink ---------------------------------------------------------------------------------

    def summary(self) -> str:
        return (f"{self.requests} requests from {len(self.phones)} phones, {self.answered} answered, "
                f"{self.messages} fixes acknowledged, {self.retries} resent (503 or connection dropped), "
                f"{len(self.errors)} errors"
                + "".join(f"\n  {error}" for error in self.errors[:20]))

    def publish(self, topic: str, payload: bytes) -> None:
        if not topic.endswith("/gps"):  # a phone reports positions only
            return
        self.requests += 1
        asyncio.run_coroutine_threadsafe(self._send(topic.split("/")[3], payload), self._loop)

    async def _send(self, device_id: str, payload: bytes) -> None:
        body = json.loads(payload)
        fixes = body["batch"] if "batch" in body else [body]
        phone = self.phones[device_id]
        try:
            answer = await self._request_until_answered(phone, fixes)
            if answer.status_code == 200:
                self.messages += len(fixes)
            else:
                self.errors.append(f"{DEVICE_PREFIX}{phone}: answered {answer.status_code} {answer.text[:200]}")
        except Exception as exc:  # noqa: BLE001 - counted, reported in the demo's summary
            self.errors.append(f"{DEVICE_PREFIX}{phone}: {type(exc).__name__}: {exc}")
        finally:
            self.answered += 1

    async def _request_until_answered(self, phone: str, fixes: list[dict]) -> httpx.Response:
        """As a phone does: a 503 or a dropped connection (a kept-alive one the server just closed)
        means the fix was not taken, and it is sent again a moment later."""
        assert self._client is not None and self._slots is not None
        async with self._slots:
            for _attempt in range(MAX_ATTEMPTS - 1):
                try:
                    answer = await self._request(phone, fixes)
                    if answer.status_code != 503:
                        return answer
                except httpx.TransportError:
                    pass
                self.retries += 1
                await asyncio.sleep(RETRY_S)
            return await self._request(phone, fixes)

    async def _request(self, phone: str, fixes: list[dict]) -> httpx.Response:
        assert self._client is not None
        if len(fixes) == 1:
            return await self._client.get(self.url, params=query_of(phone, fixes[0]))
        return await self._client.post(self.url, json=traccar_json_of(phone, fixes))

    @property
    def sent(self) -> int:
        """MQTT messages the bridge will receive for what was published, once it is all answered."""
        return self.messages

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Every request answered: the gateway answers 200 only after the broker's PUBACK."""
        deadline = time.monotonic() + timeout
        while self.answered < self.requests:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True
