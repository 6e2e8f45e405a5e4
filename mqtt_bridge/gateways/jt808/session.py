"""One terminal's connection as a state machine: decoded frames in, what to do out.

No I/O: :meth:`Session.on_frame` returns an :class:`Outcome` — the MQTT messages to publish
(readings and quarantine records), the frames to send the terminal once the broker has
acknowledged every one of them, and whether to close. The server (``server.py``) does the
publishing, the waiting and the writing, so "acknowledge only after PUBACK" is one rule in
one place, and everything here is tested without sockets.

devices.md's table, as this module answers it:

=========================  =====================================================================
``0x0100`` register        known terminal: ``0x8100`` result 0 and its code; unknown: result 4
``0x0102`` authenticate    right code: ``0x8001`` 0, authenticated; wrong: result 1, close
``0x0002`` heartbeat       ``0x8001`` 0, authenticated or not
``0x0003`` logout          ``0x8001`` 0, close
``0x0200`` / ``0x0704``    authenticated as the frame's terminal: published, ``0x8001`` 0;
                           otherwise ``0x8001`` 1 and quarantined as ``unauthenticated``
other ids                  ``0x8001`` 3 (unsupported)
=========================  =====================================================================

Decisions devices.md leaves open (docs/devices.md repeats them for operators):

* A frame whose body cannot be read (``bad_body``, ``bad_time``) is quarantined and answered
  ``0x8001`` result 2 (message error): not accepted, and not resent forever either.
  Framing errors get no answer: their header cannot be trusted.
* An encrypted body (properties bits 10-12) is quarantined as ``encrypted``, answered 3.
* A location frame from a terminal other than the one this connection authenticated as is
  ``unauthenticated``: one authentication never vouches for another terminal's frames.
* Unknown terminals' registrations and failed authentications are quarantined too
  (``unknown_terminal``, ``bad_auth_code``): forged terminals are what regulators look for.
* A connection that has more than ``max_quarantined_per_minute`` frames quarantined in a
  minute is closed, after a last ``flood`` record: a broken or hostile peer must not be able
  to fill the quarantine through one socket.
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mqtt_bridge.gateways.jt808 import messages as m
from mqtt_bridge.gateways.jt808 import translate
from mqtt_bridge.gateways.jt808.framing import Frame, FrameError, Header, encode_frame
from mqtt_bridge.gateways.jt808.reassembly import Pending, Reassembler
from mqtt_bridge.gateways.publisher import quarantine_message

GATEWAY = "jt808"


@dataclass(frozen=True)
class Terminal:
    """A registered JT/T 808 terminal, as the gateway needs it."""

    device_id: str
    terminal_id: str  # the phone number without leading zeros
    auth_code: str
    load_item: translate.LoadItem | None = None
    previous_auth_code: str | None = None
    """From the secret before a rotation, accepted until ``previous_until`` (the grace period)."""
    previous_until: datetime | None = None

    def accepts(self, code: bytes, now: datetime) -> bool:
        if hmac.compare_digest(code, self.auth_code.encode("ascii")):
            return True
        return (self.previous_auth_code is not None and self.previous_until is not None and now < self.previous_until
                and hmac.compare_digest(code, self.previous_auth_code.encode("ascii")))


Directory = Callable[[str], Terminal | None]
"""Terminal id (no leading zeros) -> the registered terminal, or None."""


@dataclass
class Outcome:
    publish: list[tuple[str, bytes]] = field(default_factory=list)
    reply: list[bytes] = field(default_factory=list)  # frames for the terminal, after every PUBACK
    close: bool = False
    accepted: int = 0  # location reports taken (for the gateway's counters)

    def add(self, other: Outcome) -> Outcome:
        self.publish += other.publish
        self.reply += other.reply
        self.close = self.close or other.close
        self.accepted += other.accepted
        return self


class Session:
    def __init__(self, directory: Directory, max_quarantined_per_minute: int = 120,
                 reassembler: Reassembler | None = None):
        self.directory = directory
        self.max_quarantined_per_minute = max_quarantined_per_minute
        self.terminal: Terminal | None = None
        self.packages = reassembler or Reassembler()
        self.closing = False
        self._serial = 0
        self._quarantined: deque[datetime] = deque()

    # --- entry points ------------------------------------------------------------------------

    def on_frame(self, decoded: Frame | FrameError, now: datetime) -> Outcome:
        if self.closing:
            return Outcome()
        if isinstance(decoded, FrameError):
            return self._quarantine(decoded.reason, decoded.raw, decoded.detail, now)
        if decoded.header.packages:
            return self._package(decoded, now)
        return self._message(decoded, decoded.header, now)

    def on_tick(self, now: datetime) -> Outcome:
        """Subpackaged messages overdue: ask for what is missing, or give them up."""
        due = self.packages.due(now)
        outcome = Outcome()
        for message in due.resend:
            body = m.resend_request(message.first_serial, message.missing, message.header.version)
            outcome.reply.append(self._frame(message.header, m.RESEND_PACKAGES, body))
        for message in due.expired:
            outcome.add(self._give_up(message, "incomplete", now))
        return outcome

    def on_close(self, leftover: bytes, now: datetime) -> Outcome:
        """The connection ended: a frame cut off by it, and messages never completed, are quarantined."""
        outcome = Outcome()
        if leftover:
            outcome.add(self._record("truncated", leftover, "the connection closed inside a frame"))
        for message in self.packages.drain():
            outcome.add(self._record("incomplete", message.raw, _missing_detail(message)))
        return outcome

    # --- dispatch ----------------------------------------------------------------------------

    def _message(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        header = frame.header
        if header.encryption and frame.body:
            return self._refuse(frame, answer, "encrypted", m.UNSUPPORTED,
                                f"encryption {header.encryption} (properties bits 10-12) is not supported", now)
        handler = _HANDLERS.get(header.msg_id)
        if handler is None:
            return Outcome(reply=[self._response(answer, m.UNSUPPORTED)])
        return handler(self, frame, answer, now)

    def _package(self, frame: Frame, now: datetime) -> Outcome:
        added = self.packages.add(frame, now)
        outcome = Outcome()
        for message, reason in added.given_up:
            outcome.add(self._give_up(message, reason, now))
        if added.complete is None:
            return outcome.add(Outcome(reply=[self._response(frame.header, m.OK)]))
        return outcome.add(self._message(added.complete, frame.header, now))

    def _heartbeat(self, _frame: Frame, answer: Header, _now: datetime) -> Outcome:
        return Outcome(reply=[self._response(answer, m.OK)])

    def _logout(self, _frame: Frame, answer: Header, _now: datetime) -> Outcome:
        self.closing = True
        return Outcome(reply=[self._response(answer, m.OK)], close=True)

    def _register(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        terminal = self.directory(frame.header.terminal_id)
        if terminal is None:
            outcome = self._quarantine("unknown_terminal", frame.raw,
                                       f"no jt808 device has terminal id {frame.header.terminal_id!r}", now)
            return outcome.add(Outcome(reply=[self._frame(answer, m.REGISTER_RESPONSE,
                                                          m.register_response(answer.serial, m.NO_SUCH_TERMINAL))]))
        body = m.register_response(answer.serial, m.REGISTERED, terminal.auth_code)
        return Outcome(reply=[self._frame(answer, m.REGISTER_RESPONSE, body)])

    def _authenticate(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        terminal = self.directory(frame.header.terminal_id)
        code = m.decode_auth_code(frame.body, frame.header.version)
        if terminal is not None and terminal.accepts(code, now):
            self.terminal = terminal
            return Outcome(reply=[self._response(answer, m.OK)])
        self.terminal = None
        self.closing = True
        detail = ("wrong authentication code" if terminal else
                  f"no jt808 device has terminal id {frame.header.terminal_id!r}")
        outcome = self._record("bad_auth_code", frame.raw, detail, terminal.device_id if terminal else None)
        return outcome.add(Outcome(reply=[self._response(answer, m.FAILED)], close=True))

    def _location(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        terminal = self._authorised(frame.header)
        if terminal is None:
            return self._unauthenticated(frame, answer, now)
        location = m.decode_location(frame.body)
        if isinstance(location, m.BodyError):
            return self._refuse(frame, answer, location.reason, m.MESSAGE_ERROR, location.detail, now)
        outcome = self._publish(terminal, frame.header.serial, [location], now)
        if not location.has_fix:
            outcome.add(self._record("no_fix", frame.raw, "status bit 1 clear: the terminal had no fix",
                                     terminal.device_id))
        return outcome.add(Outcome(reply=[self._response(answer, m.OK)]))

    def _batch(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        terminal = self._authorised(frame.header)
        if terminal is None:
            return self._unauthenticated(frame, answer, now)
        batch = m.decode_batch(frame.body)
        if isinstance(batch, m.BodyError):
            return self._refuse(frame, answer, batch.reason, m.MESSAGE_ERROR, batch.detail, now)
        locations = [item for item in batch.items if isinstance(item, m.Location)]
        if not locations:
            errors = [item for item in batch.items if isinstance(item, m.BodyError)]
            first = errors[0] if errors else m.BodyError("bad_body", "a batch of no locations")
            return self._refuse(frame, answer, first.reason, m.MESSAGE_ERROR, first.detail, now)
        outcome = self._publish(terminal, frame.header.serial, locations, now, batch.kind == m.BATCH_BLIND_AREA)
        outcome.add(self._batch_leftovers(frame, batch, terminal.device_id))
        return outcome.add(Outcome(reply=[self._response(answer, m.OK)]))

    def _batch_leftovers(self, frame: Frame, batch: m.Batch, device_id: str) -> Outcome:
        """One quarantine record for a batch's unreadable items, one for those without a fix."""
        outcome = Outcome()
        bad = [(i, item) for i, item in enumerate(batch.items) if isinstance(item, m.BodyError)]
        if bad:
            detail = "; ".join(f"item {i}: {item.detail}" for i, item in bad)[:900]
            outcome.add(self._record(bad[0][1].reason, frame.raw, f"{len(bad)} of {len(batch.items)} items "
                                                                   f"unreadable: {detail}", device_id))
        no_fix = [i for i, item in enumerate(batch.items) if isinstance(item, m.Location) and not item.has_fix]
        if no_fix:
            outcome.add(self._record("no_fix", frame.raw, f"items {', '.join(map(str, no_fix))} of "
                                                          f"{len(batch.items)} had no fix (status bit 1 clear)",
                                     device_id))
        return outcome

    # --- helpers -----------------------------------------------------------------------------

    def _authorised(self, header: Header) -> Terminal | None:
        if self.terminal is not None and header.terminal_id == self.terminal.terminal_id:
            return self.terminal
        return None

    def _publish(self, terminal: Terminal, seq: int, locations: list[m.Location], now: datetime,
                 blind_area: bool = False) -> Outcome:
        published = translate.location_messages(terminal.device_id, seq, locations, now, terminal.load_item,
                                                blind_area)
        return Outcome(publish=published, accepted=1)

    def _unauthenticated(self, frame: Frame, answer: Header, now: datetime) -> Outcome:
        claimed = self.directory(frame.header.terminal_id)
        detail = (f"terminal {frame.header.terminal_id!r} has not authenticated on this connection"
                  + (f" (it is authenticated as {self.terminal.terminal_id!r})" if self.terminal else ""))
        outcome = self._quarantine("unauthenticated", frame.raw, detail, now, claimed.device_id if claimed else None)
        return outcome.add(Outcome(reply=[self._response(answer, m.FAILED)]))

    def _refuse(self, frame: Frame, answer: Header, reason: str, result: int, detail: str, now: datetime) -> Outcome:
        outcome = self._quarantine(reason, frame.raw, detail, now)
        return outcome.add(Outcome(reply=[self._response(answer, result)]))

    def _give_up(self, message: Pending, reason: str, now: datetime) -> Outcome:
        detail = _missing_detail(message) if reason == "incomplete" else f"over {message.size} bytes reassembled"
        return self._quarantine(reason, message.raw, detail, now)

    def _quarantine(self, reason: str, raw: bytes, detail: str, now: datetime,
                    device_id: str | None = None) -> Outcome:
        """A record for the quarantine, counted against this connection's budget."""
        self._quarantined.append(now)
        while self._quarantined and now - self._quarantined[0] > timedelta(minutes=1):
            self._quarantined.popleft()
        outcome = self._record(reason, raw, detail, device_id)
        if len(self._quarantined) > self.max_quarantined_per_minute:
            self.closing = True
            outcome.add(self._record("flood", b"", f"more than {self.max_quarantined_per_minute} frames "
                                                   "quarantined within a minute: connection closed"))
            outcome.close = True
        return outcome

    def _record(self, reason: str, raw: bytes, detail: str, device_id: str | None = None) -> Outcome:
        if device_id is None and self.terminal is not None:
            device_id = self.terminal.device_id
        return Outcome(publish=[quarantine_message(GATEWAY, device_id, reason, raw, detail)])

    def _response(self, answer: Header, result: int) -> bytes:
        return self._frame(answer, m.PLATFORM_RESPONSE, m.platform_response(answer.serial, answer.msg_id, result))

    def _frame(self, terminal_header: Header, msg_id: int, body: bytes) -> bytes:
        """A platform message to the terminal, in its version and with its phone number."""
        header = Header(msg_id, terminal_header.version, terminal_header.phone, self._serial,
                        protocol_version=terminal_header.protocol_version)
        self._serial = (self._serial + 1) & 0xFFFF
        return encode_frame(header, body)


def _missing_detail(message: Pending) -> str:
    missing = message.missing
    shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
    return (f"message 0x{message.header.msg_id:04X} (first serial {message.first_serial}): "
            f"{len(missing)} of {message.header.packages} packages never came ({shown})")


_HANDLERS: dict[int, Callable[[Session, Frame, Header, datetime], Outcome]] = {
    m.HEARTBEAT: Session._heartbeat,
    m.LOGOUT: Session._logout,
    m.REGISTER: Session._register,
    m.AUTHENTICATE: Session._authenticate,
    m.LOCATION: Session._location,
    m.LOCATION_BATCH: Session._batch,
}
