"""JT/T 808 framing: a TCP byte stream into frames, a frame into header and body, and back.

Pure: bytes in, a :class:`Frame` or a :class:`FrameError` (with its reason and raw bytes)
out, never an exception. devices.md, "JT/T 808", pins the format:

    7E | header | body | checksum | 7E        inside: 7D 02 = 7E, 7D 01 = 7D
    header: message id WORD, body properties WORD (bits 0-9 body length, 10-12 encryption,
            13 subpackage, 14 version flag), [2019: protocol version BYTE], terminal phone
            BCD[6] (2013) or BCD[10] (2019), serial WORD, [bit 13: package count WORD,
            package number WORD]
    checksum: XOR of every byte of header and body

``7E`` separates frames: whatever lies between two flags is one frame, so a frame cut off
mid-way is closed by the next frame's opening flag and the frame after it is still read.

Reasons, in the order they are checked (the first failure wins): ``too_large`` (over
:data:`MAX_FRAME` bytes after unescaping, or a run of bytes without a flag longer than twice
that), ``bad_escape`` (``7D`` followed by anything but ``01``/``02``), ``truncated`` (shorter
than its header, or than the body length the header declares), ``bad_length`` (longer than
the declared body length), ``bad_checksum``, ``bad_header`` (a phone number that is not BCD,
a package number outside 1..count).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor

FLAG = b"\x7e"
ESCAPE = b"\x7d"
MAX_FRAME = 8 * 1024
"""Largest frame, header to checksum, after unescaping (devices.md)."""

MAX_RUN = 2 * MAX_FRAME + 2
"""Escaping at most doubles a frame: a longer run without a flag cannot become a valid frame."""

V2013 = 2013
V2019 = 2019

_VERSION_BIT = 1 << 14
_SUBPACKAGE_BIT = 1 << 13
_LENGTH_MASK = 0x03FF


@dataclass(frozen=True)
class Header:
    msg_id: int
    version: int  # V2013 or V2019
    phone: str  # the BCD digits as sent: 12 (2013) or 20 (2019)
    serial: int
    encryption: int = 0  # bits 10-12 of the body properties; 0: plain
    protocol_version: int = 0  # the 2019 header's version byte (1 for JT/T 808-2019)
    packages: int = 0  # package count; 0: not subpackaged
    package: int = 0  # this package's number, 1..packages

    @property
    def terminal_id(self) -> str:
        """The phone number without leading zeros: a terminal switched to 2019 is still itself."""
        return normalise_terminal_id(self.phone)


@dataclass(frozen=True)
class Frame:
    header: Header
    body: bytes
    raw: bytes  # as received, flags and escapes included


@dataclass(frozen=True)
class FrameError:
    reason: str
    detail: str
    raw: bytes
    phone: str | None = None  # when the header could be read: whose frame it was


def normalise_terminal_id(digits: str) -> str:
    return digits.lstrip("0")


# --- the stream ------------------------------------------------------------------------------


class FrameSplitter:
    """Cuts a TCP stream at ``7E`` flags; keeps the unfinished tail for the next read.

    Yields each run of bytes between two flags, with its flags, as it was received. A run
    that grows past :data:`MAX_RUN` without a flag is handed out at once (it will decode to
    ``too_large``) and the rest of it, up to the next flag, is skipped: memory stays bounded
    whatever a peer sends.
    """

    def __init__(self, max_run: int = MAX_RUN):
        self.max_run = max_run
        self._tail = bytearray()
        self._opened = False  # the tail began right after a flag
        self._skipping = False  # inside an overlong run, dropping bytes until the next flag

    def feed(self, data: bytes) -> list[bytes]:
        runs: list[bytes] = []
        start = 0
        while True:
            flag = data.find(FLAG, start)
            if flag < 0:
                break
            if not self._skipping:
                self._tail += data[start:flag]
                if self._tail:
                    runs.append((FLAG if self._opened else b"") + bytes(self._tail) + FLAG)
            self._tail.clear()
            self._opened, self._skipping = True, False
            start = flag + 1
        if not self._skipping:
            self._tail += data[start:]
            if len(self._tail) > self.max_run:
                runs.append((FLAG if self._opened else b"") + bytes(self._tail))
                self._tail.clear()
                self._skipping = True
        return runs

    def leftover(self) -> bytes:
        """What remains unterminated (the connection closed mid-frame); empty if nothing."""
        if self._skipping or not self._tail:
            return b""
        return (FLAG if self._opened else b"") + bytes(self._tail)


# --- one frame -------------------------------------------------------------------------------


def unescape(content: bytes) -> bytes | None:
    """``7D 02`` -> ``7E``, ``7D 01`` -> ``7D``; None when a ``7D`` starts any other sequence."""
    if ESCAPE not in content:
        return content
    if content.count(ESCAPE) != content.count(b"\x7d\x01") + content.count(b"\x7d\x02"):
        return None
    return content.replace(b"\x7d\x02", FLAG).replace(b"\x7d\x01", ESCAPE)


def escape(data: bytes) -> bytes:
    return data.replace(ESCAPE, b"\x7d\x01").replace(FLAG, b"\x7d\x02")


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def decode_frame(raw: bytes) -> Frame | FrameError:
    """One run from :class:`FrameSplitter` (flags optional) into a frame, or the reason it is not one."""
    content = raw[1:] if raw[:1] == FLAG else raw
    content = content[:-1] if content[-1:] == FLAG else content
    if len(content) > MAX_RUN:
        return FrameError("too_large", f"{len(content)} bytes without a 7E flag", raw)
    data = unescape(content)
    if data is None:
        return FrameError("bad_escape", "7D is followed by something other than 01 or 02", raw)
    if len(data) > MAX_FRAME:
        return FrameError("too_large", f"frame is {len(data)} bytes after unescaping, over {MAX_FRAME}", raw)
    return _decode_unescaped(data, raw)


def _header_size(properties: int) -> int:
    size = 17 if properties & _VERSION_BIT else 12
    return size + 4 if properties & _SUBPACKAGE_BIT else size


def _decode_unescaped(data: bytes, raw: bytes) -> Frame | FrameError:
    if len(data) < 4:
        return FrameError("truncated", f"{len(data)} bytes: shorter than any header", raw)
    properties = int.from_bytes(data[2:4], "big")
    header_size = _header_size(properties)
    declared = properties & _LENGTH_MASK
    actual = len(data) - header_size - 1
    if actual < declared:
        return FrameError("truncated", f"header declares a {declared}-byte body, "
                                       f"{max(actual, 0)} bytes follow the header", raw)
    if actual > declared:
        return FrameError("bad_length", f"header declares a {declared}-byte body, {actual} bytes follow", raw)
    expected = checksum(data[:-1])
    if expected != data[-1]:
        return FrameError("bad_checksum", f"checksum byte is {data[-1]:02X}, the frame's XOR is {expected:02X}", raw)
    header = _read_header(data, properties)
    if isinstance(header, str):
        return FrameError("bad_header", header, raw)
    if header.packages and not 1 <= header.package <= header.packages:
        return FrameError("bad_header", f"package {header.package} of {header.packages}", raw, header.phone)
    return Frame(header, bytes(data[header_size:-1]), raw)


def _read_header(data: bytes, properties: int) -> Header | str:
    msg_id = int.from_bytes(data[0:2], "big")
    if properties & _VERSION_BIT:
        version, protocol_version, phone_bytes, at = V2019, data[4], data[5:15], 15
    else:
        version, protocol_version, phone_bytes, at = V2013, 0, data[4:10], 10
    phone = phone_bytes.hex()
    if not phone.isdigit():
        return f"terminal phone {phone!r} is not BCD"
    serial = int.from_bytes(data[at:at + 2], "big")
    packages = package = 0
    if properties & _SUBPACKAGE_BIT:
        packages = int.from_bytes(data[at + 2:at + 4], "big")
        package = int.from_bytes(data[at + 4:at + 6], "big")
    return Header(msg_id, version, phone, serial, (properties >> 10) & 0x07, protocol_version, packages, package)


def encode_frame(header: Header, body: bytes) -> bytes:
    """A complete frame, flags, checksum and escapes included (platform replies; the simulator)."""
    if len(body) > _LENGTH_MASK:
        raise ValueError(f"a body of {len(body)} bytes needs subpackaging (at most {_LENGTH_MASK})")
    properties = len(body) | (header.encryption & 0x07) << 10
    parts = [header.msg_id.to_bytes(2, "big")]
    if header.version == V2019:
        properties |= _VERSION_BIT
        phone = header.phone.rjust(20, "0")[-20:]
        version_byte = bytes([header.protocol_version or 1])
    else:
        phone = header.phone.rjust(12, "0")[-12:]
        version_byte = b""
    if header.packages:
        properties |= _SUBPACKAGE_BIT
    parts += [properties.to_bytes(2, "big"), version_byte, bytes.fromhex(phone), header.serial.to_bytes(2, "big")]
    if header.packages:
        parts += [header.packages.to_bytes(2, "big"), header.package.to_bytes(2, "big")]
    data = b"".join(parts) + body
    return FLAG + escape(data + bytes([checksum(data)])) + FLAG
