"""An in-process MQTT broker for the demo and for tests (amqtt 0.12.x).

Production uses Mosquitto; this exists so ``wasteflow demo`` and tests run without one.
The broker runs in a daemon thread with its own asyncio loop, so synchronous code (paho
clients, pytest) can use it::

    with EmbeddedBroker() as broker:          # port 0: a free port is picked
        client.connect(broker.host, broker.port)

What amqtt 0.12.1 does and does not do (checked against its source and in tests/bridge):

* MQTT 3.1.1 only. A CONNECT with protocol level 5 is refused with CONNACK
  "unacceptable protocol version", so there are no MQTT 5 features: no session expiry
  interval in CONNECT, no shared subscriptions. ``$share/group/filter`` is not special: it
  is treated as a literal topic filter and matches nothing the devices publish.
* QoS 0, 1 and 2 are supported.
* Persistent sessions (clean session off + fixed client id): subscriptions and QoS 1/2
  messages published while the client is away are kept in memory and delivered on
  reconnect; un-acknowledged in-flight messages are retried. **But** amqtt's own
  ``AnonymousAuthPlugin`` marks every session it lets in as anonymous, and amqtt drops
  anonymous sessions on disconnect and never queues for them. So this broker replaces it
  with :class:`OpenAuthPlugin`, which lets everyone in (no credentials) without marking the
  session anonymous: persistent sessions then work for any client that asks for one.
  Queued messages are redelivered with the RETAIN flag set (an amqtt quirk).
* Nothing is persisted to disk: a broker restart loses sessions, queues and retained messages.
* Disconnected sessions expire after ``session_expiry_s`` (broker-wide; None = never).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class OpenAuthPlugin(BaseAuthPlugin):
    """Admit every client without credentials, keeping its session non-anonymous.

    See the module docstring: amqtt's anonymous sessions are never persistent.
    """

    @dataclass
    class Config:
        """No options."""

    async def authenticate(self, *, session: Session) -> bool:
        session.is_anonymous = False
        return True


class EmbeddedBroker:
    """amqtt broker in a background thread. ``start()``/``stop()`` or use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 session_expiry_s: int | None = 24 * 3600) -> None:
        self.host = host
        self._requested_port = port
        self._session_expiry_s = session_expiry_s
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    # -- public -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("broker is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._broker is not None

    def start(self) -> EmbeddedBroker:
        if self.running:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="embedded-mqtt-broker",
                                        daemon=True)
        self._thread.start()
        try:
            self._port = self._call(self._start_broker(), _START_TIMEOUT_S)
        except BaseException:
            self._stop_loop()
            raise
        logger.info("embedded MQTT broker listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            if self._broker is not None:
                self._call(self._broker.shutdown(), _STOP_TIMEOUT_S)
        finally:
            self._broker = None
            self._stop_loop()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self._requested_port}"}},
            # Replaces amqtt's defaults (anonymous auth, $SYS publisher, packet logging).
            "plugins": {f"{__name__}.OpenAuthPlugin": {}},
            "session_expiry_interval": self._session_expiry_s,
        }

    async def _start_broker(self) -> int:
        broker = Broker(self._config(), loop=asyncio.get_running_loop())
        await broker.start()
        self._broker = broker
        return _bound_port(broker)

    def _run_loop(self) -> None:
        loop = self._loop  # keep a reference: stop() clears the attribute from another thread
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _call(self, coro: Any, timeout: float) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        self._port = None
        if loop is not None and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(_cancel_other_tasks_and_stop(), loop)
        if thread is not None:
            thread.join(_STOP_TIMEOUT_S)


def _bound_port(broker: Broker) -> int:
    """The port the OS gave the listener (amqtt keeps no public handle; read its server)."""
    server = broker._servers["default"].instance  # noqa: SLF001 - no public API for this
    return int(server.sockets[0].getsockname()[1])


async def _cancel_other_tasks_and_stop() -> None:
    """Cancel what amqtt left running (client handlers, keep-alive timers), then stop the loop."""
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    asyncio.get_running_loop().stop()
