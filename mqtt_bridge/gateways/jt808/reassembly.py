"""Subpackaged messages put back together (devices.md: in order, each package acknowledged on
arrival, a ``0x8003`` for the missing ones after 60 s, ``incomplete`` when they never come).

Pure: frames and the time in, messages and due work out. A message is known by its id,
its package count and the serial of its first package (package *n* carries first serial +
*n* - 1); that first serial is the reassembled message's ``seq``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mqtt_bridge.gateways.jt808.framing import Frame, Header

MAX_PENDING = 16
"""Messages in reassembly per connection; past this the oldest is given up as incomplete."""

MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest reassembled body: past this a message is refused as ``too_large`` (bounded memory)."""


@dataclass
class Pending:
    header: Header  # of the first package to arrive
    first_serial: int
    started: datetime
    parts: dict[int, Frame] = field(default_factory=dict)
    size: int = 0
    requested: bool = False  # a 0x8003 went out for the missing packages

    @property
    def missing(self) -> list[int]:
        return [n for n in range(1, self.header.packages + 1) if n not in self.parts]

    @property
    def raw(self) -> bytes:
        return b"".join(self.parts[n].raw for n in sorted(self.parts))


@dataclass
class Added:
    complete: Frame | None = None  # the reassembled message (serial = the first package's)
    given_up: list[tuple[Pending, str]] = field(default_factory=list)  # (message, reason) to quarantine


@dataclass
class Due:
    resend: list[Pending] = field(default_factory=list)  # ask for their missing packages (0x8003)
    expired: list[Pending] = field(default_factory=list)  # quarantine as incomplete


class Reassembler:
    def __init__(self, request_after: timedelta = timedelta(seconds=60),
                 give_up_after: timedelta = timedelta(seconds=120)):
        self.request_after = request_after
        self.give_up_after = give_up_after
        self.pending: dict[tuple[int, int, int], Pending] = {}

    def add(self, frame: Frame, now: datetime) -> Added:
        header = frame.header
        first = (header.serial - header.package + 1) & 0xFFFF
        key = (header.msg_id, header.packages, first)
        added = Added()
        message = self.pending.get(key)
        if message is None:
            if len(self.pending) >= MAX_PENDING:
                oldest = min(self.pending, key=lambda k: self.pending[k].started)
                added.given_up.append((self.pending.pop(oldest), "incomplete"))
            message = self.pending[key] = Pending(header, first, now)
        previous = message.parts.get(header.package)
        message.size += len(frame.body) - (len(previous.body) if previous else 0)
        message.parts[header.package] = frame  # a resent package replaces its first copy
        if message.size > MAX_MESSAGE_BYTES:
            added.given_up.append((self.pending.pop(key), "too_large"))
        elif not message.missing:
            del self.pending[key]
            added.complete = _joined(message)
        return added

    def due(self, now: datetime) -> Due:
        due = Due()
        for key, message in list(self.pending.items()):
            age = now - message.started
            if age >= self.give_up_after:
                due.expired.append(self.pending.pop(key))
            elif age >= self.request_after and not message.requested:
                message.requested = True
                due.resend.append(message)
        return due

    def drain(self) -> list[Pending]:
        """Everything still in reassembly (the connection is closing)."""
        pending, self.pending = list(self.pending.values()), {}
        return pending


def _joined(message: Pending) -> Frame:
    parts = [message.parts[n] for n in range(1, message.header.packages + 1)]
    header = replace(message.header, serial=message.first_serial, packages=0, package=0)
    return Frame(header, b"".join(p.body for p in parts), b"".join(p.raw for p in parts))
