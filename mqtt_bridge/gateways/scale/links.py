"""The line to the indicator: a serial port (pyserial) or a serial-to-Ethernet server over TCP.

Either way a :class:`Link` opens, yields chunks of bytes until the line goes quiet for good or
breaks, and is opened again by the caller with a growing delay (:func:`backoff`): a cut cable
or a rebooted serial server is logged and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

SERIAL_FORMATS = {"8N1": (8, "N", 1), "7E1": (7, "E", 1)}
READ_CHUNK = 256
SILENT_S = 10.0
"""An indicator in continuous mode sends several frames a second: this long without a byte, the
line is treated as cut and opened again."""


def backoff(attempt: int, first: float = 0.5, most: float = 30.0) -> float:
    """Delay before reconnection attempt ``attempt`` (0, 1, 2...): doubling, capped."""
    return min(most, first * 2 ** min(attempt, 16))


@dataclass(frozen=True)
class TcpLink:
    host: str
    port: int
    silent_s: float = SILENT_S

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def chunks(self) -> AsyncIterator[bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while True:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), self.silent_s)
                if not data:
                    return
                yield data
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


@dataclass(frozen=True)
class SerialLink:
    path: str
    baud: int
    serial_format: str = "8N1"
    silent_s: float = SILENT_S

    def describe(self) -> str:
        return f"{self.path} {self.baud} {self.serial_format}"

    async def chunks(self) -> AsyncIterator[bytes]:
        """pyserial in a worker thread: reads return within 0.2 s, so a stop is never stuck."""
        import serial

        bytesize, parity, stopbits = SERIAL_FORMATS[self.serial_format]
        port = await asyncio.to_thread(serial.Serial, self.path, self.baud, bytesize=bytesize, parity=parity,
                                       stopbits=stopbits, timeout=0.2)
        quiet = 0.0
        try:
            while True:
                data = await asyncio.to_thread(port.read, READ_CHUNK)
                if data:
                    quiet = 0.0
                    yield data
                    continue
                quiet += 0.2
                if quiet >= self.silent_s:
                    raise TimeoutError(f"nothing from {self.path} for {self.silent_s:.0f} s")
        finally:
            await asyncio.to_thread(port.close)


Link = TcpLink | SerialLink
