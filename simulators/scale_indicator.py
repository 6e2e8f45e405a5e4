"""A weighbridge indicator in continuous mode, as a serial-to-Ethernet server shows it: a TCP
server streaming ``xk3190-a9`` or ``toledo`` frames of whatever stands on the platform.

The platform is driven from outside (:meth:`Indicator.drive_on`, :meth:`Indicator.drive_off`,
:meth:`Indicator.rock`): a truck rolling on is a ramp (the load cells see the axles arrive), the
display wobbles by more than a division while it moves (a Toledo indicator also sets its motion
bit), then settles on the truck's weight rounded to the division, with now and then a one-division
flicker. ``garbage`` (a fraction of frames) adds line noise between frames, as a long RS-232 run
picks up. Runs its own event loop in a thread; every connected client gets the same stream.

    python -m simulators.scale_indicator --port 4001 --format toledo
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
from dataclasses import dataclass

from mqtt_bridge.gateways.scale.framing import toledo_frame, xk3190_frame


@dataclass
class Platform:
    """What the load cells see: a target weight reached along a ramp, and when it stops moving."""

    target_kg: float = 0.0
    from_kg: float = 0.0
    ramp_start: float = 0.0
    ramp_s: float = 0.0
    rocking_until: float = 0.0

    def at(self, now: float) -> tuple[float, bool]:
        """The raw weight and whether it is moving."""
        if self.ramp_s and now < self.ramp_start + self.ramp_s:
            share = (now - self.ramp_start) / self.ramp_s
            return self.from_kg + (self.target_kg - self.from_kg) * share, True
        return self.target_kg, now < self.rocking_until


class Indicator:
    def __init__(self, fmt: str = "xk3190-a9", *, division_kg: int = 20, rate_hz: float = 10.0,
                 garbage: float = 0.0, seed: int = 7, host: str = "127.0.0.1", port: int = 0):
        if fmt not in ("xk3190-a9", "toledo"):
            raise ValueError(f"format must be xk3190-a9 or toledo, got {fmt!r}")
        self.fmt = fmt
        self.division_kg = division_kg
        self.rate_hz = rate_hz
        self.garbage = garbage
        self.random = random.Random(seed)
        self.host, self.port = host, port
        self.platform = Platform()
        self.frames_sent = 0
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="scale-indicator", daemon=True)
        self._server: asyncio.Server | None = None
        self._streaming: asyncio.Task | None = None

    # --- driving the platform -------------------------------------------------------------------

    def drive_on(self, kg: float, ramp_s: float = 2.0) -> None:
        self._ramp_to(kg, ramp_s)

    def drive_off(self, ramp_s: float = 1.5) -> None:
        self._ramp_to(0.0, ramp_s)

    def rock(self, seconds: float) -> None:
        """The driver shifts about: the display moves by a few divisions for ``seconds``."""
        with self._lock:
            self.platform.rocking_until = time.monotonic() + seconds

    def _ramp_to(self, kg: float, ramp_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            current, _ = self.platform.at(now)
            self.platform = Platform(kg, current, now, ramp_s)

    def weigh(self, kg: float, hold_s: float, ramp_s: float = 1.0, off_s: float = 1.0) -> None:
        """A truck drives on, stands ``hold_s`` and drives off (blocking)."""
        self.drive_on(kg, ramp_s)
        time.sleep(ramp_s + hold_s)
        self.drive_off(off_s)
        time.sleep(off_s + 0.5)

    # --- what the indicator shows ---------------------------------------------------------------

    def displayed(self, now: float) -> tuple[int, bool]:
        with self._lock:
            raw, moving = self.platform.at(now)
        if moving:
            raw += self.random.uniform(-3, 3) * self.division_kg
        elif raw and self.random.random() < 0.05:
            raw += self.random.choice((-1, 1)) * self.division_kg * 0.6
        shown = int(round(raw / self.division_kg) * self.division_kg)
        return max(shown, 0), moving

    def frame(self, now: float) -> bytes:
        kg, moving = self.displayed(now)
        if self.fmt == "xk3190-a9":
            body = xk3190_frame(kg)
        else:
            body = toledo_frame(kg, decimal_code=2, motion=moving)
        if self.garbage and self.random.random() < self.garbage:
            body = bytes(self.random.randrange(256) for _ in range(self.random.randint(1, 6))) + body
        return body

    # --- the server -------------------------------------------------------------------------------

    def start(self) -> Indicator:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        started.result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._streaming = asyncio.create_task(self._stream())

    async def _serve(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)

    async def _stream(self) -> None:
        while True:
            await asyncio.sleep(1.0 / self.rate_hz)
            if not self._writers:
                continue
            data = self.frame(time.monotonic())
            self.frames_sent += 1
            for writer in list(self._writers):
                if writer.is_closing():
                    self._writers.discard(writer)
                    continue
                writer.write(data)

    def cut_cable(self) -> None:
        """Drop every connected client (the serial server rebooted, the cable was pulled)."""
        def drop() -> None:
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()
        self._loop.call_soon_threadsafe(drop)

    def close(self) -> None:
        def stop() -> None:
            if self._server:
                self._server.close()
            if self._streaming:
                self._streaming.cancel()
            for writer in self._writers:
                writer.close()
            self._loop.stop()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop)
            self._thread.join(5)
            self._loop.run_until_complete(asyncio.sleep(0))  # let the cancelled stream finish
            self._loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="A weighbridge indicator streaming its continuous output over TCP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4001)
    parser.add_argument("--format", default="xk3190-a9", choices=["xk3190-a9", "toledo"])
    parser.add_argument("--trucks-every", type=float, default=60.0, help="seconds between trucks (0: none)")
    args = parser.parse_args()
    indicator = Indicator(args.format, host=args.host, port=args.port).start()
    print(f"indicator ({args.format}) streaming on {args.host}:{indicator.port}", flush=True)
    rng = random.Random(1)
    while True:
        time.sleep(args.trucks_every or 3600)
        if args.trucks_every:
            indicator.weigh(rng.choice((15000, 16000)) + rng.randrange(0, 30000, 20), hold_s=5)


if __name__ == "__main__":
    main()
