"""A JT/T 808 terminal, simulated: what a truck's positioning terminal sends a platform over TCP.

Both protocol versions (2013: 12-digit phone; 2019: 20 digits and the version byte), the
register / authenticate handshake, location reports (``0x0200``), batches (``0x0704``:
normal, and blind-area back-fill after a tunnel or a dead zone), subpackaging of long
messages (answering a platform's ``0x8003`` by sending the missing packages again), and
heartbeats. It keeps what a real terminal keeps: reports the platform has not acknowledged,
to send again.

One :class:`Terminal` is one connection, cheap enough to run thousands in one process (the
benchmark does). ``python -m simulators.jt808_terminal --help`` drives a few along a line,
through a tunnel, against a gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808.framing import V2013, V2019, Frame, FrameSplitter, Header, decode_frame, encode_frame

MAX_PACKAGE_BODY = 1000  # bytes of body per package when a message is subpackaged


class Refused(RuntimeError):
    """The platform answered with a failure (or did not answer in time)."""


@dataclass
class Fix:
    """A position as the terminal measured it."""

    lat: float
    lon: float
    when: datetime
    speed_kmh: float = 0.0
    direction: int = 0
    has_fix: bool = True
    load_state: int = 0  # status bits 8-9: 0 empty, 1 half, 3 full
    items: dict[int, bytes] = field(default_factory=dict)

    def body(self) -> bytes:
        status = (m.STATUS_FIX if self.has_fix else 0) | (self.load_state & 0x03) << 8 | 0x01  # bit 0: ACC on
        items = {m.ITEM_MILEAGE: (0).to_bytes(4, "big"), m.ITEM_SIGNAL: bytes([25]), m.ITEM_SATELLITES: bytes([12]),
                 **self.items}
        return m.location_body(self.lat, self.lon, self.when, speed_kmh=self.speed_kmh, direction=self.direction,
                               status=status, items=items)


@dataclass
class Answer:
    """The platform's reply to one of the terminal's messages."""

    msg_id: int
    result: int
    body: bytes
    at: float  # time.monotonic() when it arrived


class Terminal:
    """One terminal on one TCP connection."""

    def __init__(self, phone: str, version: int = V2013, plate: str = "蒙B00000", timeout_s: float = 10.0,
                 on_answer: Callable[[int, Answer], None] | None = None):
        self.phone = phone
        self.version = version
        self.plate = plate
        self.timeout_s = timeout_s
        self.on_answer = on_answer
        self.serial = 0
        self.auth_code: str | None = None
        self.resend_requests: list[tuple[int, list[int]]] = []
        self._sent_packages: dict[int, list[bytes]] = {}  # first serial -> each package's frame
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None

    # --- connection --------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> Terminal:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._task = asyncio.create_task(self._read_replies())
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self._task is not None:
            self._task.cancel()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the connection closed"))

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing() and not (self._task and self._task.done())

    async def _read_replies(self) -> None:
        splitter = FrameSplitter()
        assert self._reader is not None
        try:
            while data := await self._reader.read(4096):
                for run in splitter.feed(data):
                    frame = decode_frame(run)
                    if isinstance(frame, Frame):
                        self._on_frame(frame)
        except (ConnectionError, OSError):
            pass
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the platform closed the connection"))

    def _on_frame(self, frame: Frame) -> None:
        body = frame.body
        if frame.header.msg_id in (m.PLATFORM_RESPONSE, m.REGISTER_RESPONSE) and len(body) >= 3:
            answered = int.from_bytes(body[0:2], "big")
            result = body[4] if frame.header.msg_id == m.PLATFORM_RESPONSE and len(body) >= 5 else body[2]
            answer = Answer(frame.header.msg_id, result, body, time.monotonic())
            if self.on_answer is not None:
                self.on_answer(answered, answer)
            future = self._waiting.pop(answered, None)
            if future is not None and not future.done():
                future.set_result(answer)
        elif frame.header.msg_id == m.RESEND_PACKAGES and len(body) >= 3:
            self._on_resend_request(body)

    def _on_resend_request(self, body: bytes) -> None:
        first = int.from_bytes(body[0:2], "big")
        at = 4 if self.version == V2019 else 3
        wanted = [int.from_bytes(body[i:i + 2], "big") for i in range(at, len(body) - 1, 2)]
        self.resend_requests.append((first, wanted))
        packages = self._sent_packages.get(first)
        if packages and self._writer is not None:
            self._writer.write(b"".join(packages[n - 1] for n in wanted if 0 < n <= len(packages)))

    # --- sending -------------------------------------------------------------------------------

    def _next_serial(self) -> int:
        serial = self.serial
        self.serial = (self.serial + 1) & 0xFFFF
        return serial

    def frame(self, msg_id: int, body: bytes, serial: int | None = None, packages: int = 0, package: int = 0) -> bytes:
        header = Header(msg_id, self.version, self.phone, self._next_serial() if serial is None else serial,
                        protocol_version=1 if self.version == V2019 else 0, packages=packages, package=package)
        return encode_frame(header, body)

    def write(self, data: bytes) -> None:
        if self._writer is None:
            raise ConnectionError("not connected")
        self._writer.write(data)

    async def request(self, msg_id: int, body: bytes, wait: bool = True) -> Answer | None:
        """Send one message (subpackaged when long) and, with ``wait``, its answer (to its last package)."""
        frames = self._frames(msg_id, body)
        serial_of_last = (self.serial - 1) & 0xFFFF
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[serial_of_last] = future
        self.write(b"".join(frames))
        if not wait:
            return None
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            self._waiting.pop(serial_of_last, None)
            raise Refused(f"no answer to 0x{msg_id:04X} within {self.timeout_s} s") from None

    def _frames(self, msg_id: int, body: bytes) -> list[bytes]:
        if len(body) <= MAX_PACKAGE_BODY:
            return [self.frame(msg_id, body)]
        chunks = [body[i:i + MAX_PACKAGE_BODY] for i in range(0, len(body), MAX_PACKAGE_BODY)]
        first = self.serial
        frames = [self.frame(msg_id, chunk, packages=len(chunks), package=n) for n, chunk in enumerate(chunks, 1)]
        self._sent_packages[first] = frames
        return frames

    # --- the protocol ------------------------------------------------------------------------------

    async def register(self) -> str:
        answer = await self.request(m.REGISTER, m.register_body(self.plate, self.version))
        assert answer is not None
        if answer.result != m.REGISTERED:
            raise Refused(f"registration refused: result {answer.result}")
        self.auth_code = answer.body[3:].decode("ascii")
        return self.auth_code

    async def authenticate(self, code: str | None = None) -> None:
        answer = await self.request(m.AUTHENTICATE, m.auth_body(code or self.auth_code or "", self.version))
        if answer is None or answer.result != m.OK:
            raise Refused(f"authentication refused: result {answer.result if answer else None}")

    async def login(self, host: str, port: int) -> Terminal:
        """Connect, register (once) and authenticate, as a terminal does after power-up."""
        await self.connect(host, port)
        if self.auth_code is None:
            await self.register()
        await self.authenticate()
        return self

    async def report(self, fix: Fix, wait: bool = True) -> Answer | None:
        return await self.request(m.LOCATION, fix.body(), wait)

    async def report_batch(self, fixes: list[Fix], blind_area: bool = False, wait: bool = True) -> Answer | None:
        kind = m.BATCH_BLIND_AREA if blind_area else m.BATCH_NORMAL
        return await self.request(m.LOCATION_BATCH, m.batch_body(kind, [f.body() for f in fixes]), wait)

    async def heartbeat(self) -> Answer | None:
        return await self.request(m.HEARTBEAT, b"")

    async def logout(self) -> Answer | None:
        return await self.request(m.LOGOUT, b"")


# --- a few trucks through a tunnel (the command line) ------------------------------------------------


def along(start: tuple[float, float], heading_deg: float, metres: float) -> tuple[float, float]:
    lat, lon = start
    dlat = metres * math.cos(math.radians(heading_deg)) / 111_320
    dlon = metres * math.sin(math.radians(heading_deg)) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


async def drive(terminal: Terminal, start: tuple[float, float], minutes: int, tunnel: tuple[int, int],
                interval_s: int = 10, speed_kmh: float = 40.0) -> dict[str, int]:
    """Report every ``interval_s`` (simulated), hold reports while in the tunnel (minutes
    ``tunnel[0]``..``tunnel[1]``), then upload them as one blind-area batch."""
    begin = datetime.now(UTC) - timedelta(minutes=minutes)
    held: list[Fix] = []
    counts = {"reports": 0, "backfilled": 0}
    for step in range(minutes * 60 // interval_s):
        when = begin + timedelta(seconds=step * interval_s)
        lat, lon = along(start, 60, speed_kmh / 3.6 * step * interval_s)
        fix = Fix(lat, lon, when, speed_kmh=speed_kmh, direction=60, load_state=3)
        if tunnel[0] * 60 <= step * interval_s < tunnel[1] * 60:
            held.append(fix)
            continue
        if held:
            await terminal.report_batch(held, blind_area=True)
            counts["backfilled"] += len(held)
            held = []
        await terminal.report(fix)
        counts["reports"] += 1
    return counts


async def _main(args: argparse.Namespace) -> int:
    for n in range(args.terminals):
        phone = f"{int(args.first_phone) + n:0{20 if args.version == 2019 else 12}d}"
        terminal = Terminal(phone, V2019 if args.version == 2019 else V2013)
        await terminal.login(args.host, args.port)
        counts = await drive(terminal, (40.60 + 0.01 * n, 109.80), args.minutes, (args.minutes // 3, args.minutes // 2))
        print(f"terminal {phone}: {counts['reports']} reports, {counts['backfilled']} back-filled after the tunnel")
        await terminal.logout()
        await terminal.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.jt808_terminal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7808)
    parser.add_argument("--first-phone", default="13900000001", help="phone number of the first terminal (registered"
                                                                     " as each terminal_id, counting up)")
    parser.add_argument("--terminals", type=int, default=1)
    parser.add_argument("--version", type=int, choices=(2013, 2019), default=2013)
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes of driving (sent at once)")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
