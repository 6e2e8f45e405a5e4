"""The JT/T 808 gateway: an asyncio TCP server, one :class:`Session` per connection.

The I/O edge. For each run of bytes the framing cuts from a connection it asks the session
what to do, publishes what the session says (QoS 1), waits until the broker has
acknowledged all of it, and only then writes the session's replies: a terminal is never told
"received" about anything the broker does not hold. A connection's frames are handled in
order, one at a time; thousands of connections run side by side.

Who may connect: any address, or only the networks of ``jt808_allow``; a connection that
sends nothing for ``jt808_idle_s`` (3 heartbeat intervals) is closed; past
``jt808_max_connections`` new connections are refused. What a terminal must prove is the
session's business (register, authenticate).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.directory import TerminalDirectory
from mqtt_bridge.gateways.jt808.framing import Frame, FrameSplitter, decode_frame
from mqtt_bridge.gateways.jt808.session import Outcome, Session
from mqtt_bridge.gateways.publisher import GatewayPublisher, PublishRefused

log = logging.getLogger("wasteflow.gateway.jt808")

READ_CHUNK = 4096
TICK_S = 5.0


@dataclass
class GatewayCounters:
    connections: int = 0
    refused: int = 0
    idle_closed: int = 0
    frames: int = 0
    accepted: int = 0
    published: int = 0
    publish_failures: int = 0

    answer_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    """Recent frame-read to answer-written times (publish and PUBACK included)."""

    def line(self, open_connections: int, terminals: int) -> str:
        times = sorted(self.answer_s)
        p50, p99 = (times[len(times) // 2], times[int(len(times) * 0.99)]) if times else (0.0, 0.0)
        return (f"{open_connections} connections open ({self.connections} accepted, {self.refused} refused, "
                f"{self.idle_closed} closed idle); {self.frames} frames, {self.accepted} location reports, "
                f"{self.published} messages published, {self.publish_failures} publish failures; answered in "
                f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (last {len(times)}); "
                f"{terminals} terminals registered")


@dataclass(eq=False)  # one per socket, kept in a set
class Connection:
    session: Session
    writer: asyncio.StreamWriter
    peer: str
    last_seen: float = field(default_factory=time.monotonic)
    task: asyncio.Task | None = field(default_factory=asyncio.current_task)


def allowed_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``10.0.0.0/8, 192.168.1.7`` -> networks; empty: everyone."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]


def peer_allowed(host: str, networks: list) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class Jt808Gateway:
    def __init__(self, publisher: GatewayPublisher, directory: TerminalDirectory, *, idle_s: float = 180.0,
                 allow: str = "", max_connections: int = 20_000, quarantine_per_minute: int = 120,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), tick_s: float = TICK_S):
        self.publisher = publisher
        self.directory = directory
        self.idle_s = idle_s
        self.networks = allowed_networks(allow)
        self.max_connections = max_connections
        self.quarantine_per_minute = quarantine_per_minute
        self.clock = clock
        self.tick_s = tick_s
        self.counters = GatewayCounters()
        self.connections: set[Connection] = set()
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()

    # --- the server ---------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, host, port, backlog=4096, limit=2 * READ_CHUNK)
        self._tasks = [asyncio.create_task(self._sweep()), asyncio.create_task(self.directory.keep_fresh())]
        return server

    async def close(self, timeout: float = 5.0) -> None:
        """Stop the timers, close every connection and let each finish (publish what it left unfinished)."""
        for task in self._tasks:
            task.cancel()
        handlers = [c.task for c in self.connections if c.task is not None]
        for connection in list(self.connections):
            connection.writer.close()
        if handlers:
            await asyncio.wait(handlers, timeout=timeout)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        if not peer_allowed(str(peer[0]), self.networks) or len(self.connections) >= self.max_connections:
            self.counters.refused += 1
            log.info("refused a connection from %s", peer[0])
            writer.close()
            return
        session = Session(self.directory, max_quarantined_per_minute=self.quarantine_per_minute)
        connection = Connection(session, writer, f"{peer[0]}:{peer[1]}")
        self.connections.add(connection)
        self.counters.connections += 1
        splitter = FrameSplitter()
        try:
            await self._read(reader, connection, splitter)
        except (ConnectionError, OSError) as exc:
            log.debug("connection %s ended: %s", connection.peer, exc)
        finally:
            self.connections.discard(connection)
            await self._finish(connection, splitter)

    async def _read(self, reader: asyncio.StreamReader, connection: Connection, splitter: FrameSplitter) -> None:
        while not connection.session.closing:
            data = await reader.read(READ_CHUNK)
            if not data:
                return
            connection.last_seen = arrived = time.monotonic()
            for run in splitter.feed(data):
                if not await self._handle(connection, run, arrived):
                    return

    async def _handle(self, connection: Connection, run: bytes, arrived: float) -> bool:
        """One run of bytes: decode, let the session decide, carry it out. False: close the connection."""
        self.counters.frames += 1
        decoded = decode_frame(run)
        if isinstance(decoded, Frame) and decoded.header.msg_id in (m.REGISTER, m.AUTHENTICATE):
            await self.directory.ensure(decoded.header.terminal_id)
        outcome = connection.session.on_frame(decoded, self.clock())
        carry_on = await self._carry_out(connection, outcome)
        if outcome.reply:
            self.counters.answer_s.append(time.monotonic() - arrived)
        return carry_on

    async def _carry_out(self, connection: Connection, outcome: Outcome) -> bool:
        """Publish, wait for every PUBACK, then reply. Nothing acknowledged if the broker refused anything."""
        if outcome.publish:
            try:
                await self.publisher.publish_all(outcome.publish)
            except PublishRefused as exc:
                self.counters.publish_failures += 1
                log.error("the broker refused a publish for %s (%s): the terminal is not acknowledged",
                          connection.peer, exc)
                return not outcome.close
            self.counters.published += len(outcome.publish)
        self.counters.accepted += outcome.accepted
        if outcome.reply:
            connection.writer.write(b"".join(outcome.reply))
            await connection.writer.drain()
        return not outcome.close

    async def _finish(self, connection: Connection, splitter: FrameSplitter) -> None:
        """The connection is over: quarantine what it left unfinished, then close the socket."""
        outcome = connection.session.on_close(splitter.leftover(), self.clock())
        with contextlib.suppress(ConnectionError, OSError):
            connection.writer.close()
        if outcome.publish:
            try:
                await self.publisher.publish_all(outcome.publish)
                self.counters.published += len(outcome.publish)
            except PublishRefused as exc:
                self.counters.publish_failures += 1
                log.error("the broker refused a quarantine record for %s: %s", connection.peer, exc)

    # --- timers -------------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """Every few seconds: close idle connections; overdue subpackaged messages (0x8003, incomplete)."""
        while True:
            await asyncio.sleep(self.tick_s)
            deadline = time.monotonic() - self.idle_s
            for connection in list(self.connections):
                if connection.last_seen < deadline:
                    self.counters.idle_closed += 1
                    log.info("closing %s: nothing received for %.0f s", connection.peer, self.idle_s)
                    connection.writer.close()
                elif connection.session.packages.pending:
                    outcome = connection.session.on_tick(self.clock())
                    if outcome.publish or outcome.reply:
                        task = asyncio.create_task(self._carry_out(connection, outcome))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
