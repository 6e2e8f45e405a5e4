"""paho's client with the per-message costs the bridge cannot afford taken out.

Measured on the bridge (issue 16), paho spent more CPU per message than our own parsing:

* it reads each packet with three or more ``recv`` calls (the command byte, each byte of the
  remaining length, then the body), and handles one packet per ``select`` wake-up;
* each acknowledgement is its own queued packet: one wake-up byte through the socket pair
  and one ``send`` per PUBACK.

:class:`BridgeClient` reads the socket in large chunks into its own buffer and serves paho's
small reads from it, handles every packet already received before it goes back to
``select``, and sends a whole batch's PUBACKs as one write. The MQTT protocol on the wire
is unchanged, and so are paho's reconnects, keep-alive and session handling.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import paho.mqtt.client as mqtt

PUBACK = 0x40
READ_CHUNK = 256 * 1024
"""Bytes asked of the socket per ``recv``: thousands of telemetry messages."""
SOCKET_BUFFER = 4 * 1024 * 1024
"""Kernel receive and send buffers asked for (the kernel may cap them)."""
READ_BURST = 2000
"""Packets handled per ``select`` wake-up before the loop writes again."""
_PUBACK_PACKET = struct.Struct("!BBH")


class BridgeClient(mqtt.Client):
    """A paho client that reads in chunks and acknowledges in batches (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = b""
        self._offset = 0
        self._buffer_sock: object | None = None
        self._refill = True

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho's small reads, served from one large ``recv`` (the buffer belongs to one socket)."""
        if self._buffer_sock is not self._sock:
            self._buffer, self._offset, self._buffer_sock = b"", 0, self._sock
        if self._offset >= len(self._buffer):
            if not self._refill:
                raise BlockingIOError()
            chunk = super()._sock_recv(max(bufsize, READ_CHUNK))
            if not chunk:
                return b""
            self._buffer, self._offset = chunk, 0
        start = self._offset
        self._offset = min(start + bufsize, len(self._buffer))
        return self._buffer[start:self._offset]

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """Handle up to :data:`READ_BURST` packets per ``select``, then what is left in the buffer.

        Bytes left in our buffer would be invisible to ``select`` and wait for the next packet;
        the cap lets the loop go back to writing (acknowledgements) under a steady stream.
        """
        for refill, budget in ((True, READ_BURST), (False, None)):
            self._refill = refill
            try:
                rc = self._read_packets(budget)
            finally:
                self._refill = True
            if rc is not None:
                return rc
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _read_packets(self, budget: int | None) -> mqtt.MQTTErrorCode | None:
        """Read packets until none is complete (or ``budget`` is spent); an error code ends the loop."""
        count = 0
        while budget is None or count < budget:
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                return None
            count += 1
        return None

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK each QoS 1 message id, all in one queued write (``ack`` queues one packet each)."""
        packet = b"".join(_PUBACK_PACKET.pack(PUBACK, 2, mid) for mid in mids)
        if packet and self._sock is not None:
            self._packet_queue(PUBACK, packet, 0, 1)


def enlarge_socket_buffers(client: mqtt.Client) -> None:
    """Ask the kernel for large socket buffers, so a burst waits in the kernel, not at the broker."""
    import socket

    sock = client.socket()
    if isinstance(sock, socket.socket):
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
            except OSError:
                pass
