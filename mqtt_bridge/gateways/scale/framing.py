"""Weighbridge indicators' continuous output: a byte stream in, readings and faults out (devices.md).

Pure: no I/O, no clock, never an exception. An indicator in continuous mode sends the displayed
weight several times a second, for ever, whether anyone listens or not; a reader joins the
stream at any byte, a serial line picks up noise, a serial server reconnects in mid-frame. So
each decoder looks for the start byte, takes a frame of the format's fixed length, checks its
shape and checksum, and on anything wrong drops that one start byte and looks again
(resynchronising at the next ``02``); bytes that cannot start a frame are counted as garbage.

``xk3190-a9`` (tF = 0): ``02`` · sign ``+``/``-`` · 6 ASCII digits · decimal places ``0``-``4`` ·
XOR of sign, digits and decimal byte as two ASCII hex nibbles (``A``-``F``) · ``03`` (12 bytes).

``toledo`` (Mettler Toledo continuous output): ``02`` · status A, B, C · 6 digits weight · 6 digits
tare · ``0D`` · optional checksum, the two's complement of the 7-bit sum of every byte before it
(17 or 18 bytes). Status A bits 0-2 place the decimal point (codes 0-5: x100, x10, x1, 0.1, 0.01,
0.001); status B bit 0 net, 1 negative, 2 over range, 3 motion, 4 kg (else lb). The protocol is
7-bit: bit 7 (the parity bit of a 7E1 line read as 8N1) is dropped before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

STX, ETX, CR = 0x02, 0x03, 0x0D
LB_KG = 0.45359237
MAX_BUFFER = 256
"""Bytes kept while waiting for the rest of a frame; a frame is at most 18."""


@dataclass(frozen=True)
class Reading:
    """One displayed weight, in kg. ``gross_kg`` is the load on the platform (a Toledo net frame
    is read as weight + tare); ``motion`` only a Toledo indicator can say."""

    gross_kg: float
    motion: bool = False
    tare_kg: float = 0.0


@dataclass(frozen=True)
class Fault:
    """A frame (or run of bytes) that makes no reading: ``garbage``, ``bad_frame``, ``bad_checksum``,
    ``negative``, ``over_range``, ``bad_status``."""

    reason: str
    raw: bytes


Decoded = Reading | Fault


class StreamDecoder:
    """Cuts a stream into fixed-length frames starting with ``02``; subclasses read one frame."""

    lengths: tuple[int, ...] = ()

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Decoded]:
        self._buffer += self._prepare(data)
        out: list[Decoded] = []
        while self._buffer:
            start = self._buffer.find(STX)
            if start != 0:
                skipped = bytes(self._buffer if start < 0 else self._buffer[:start])
                del self._buffer[:len(skipped)]
                out.append(Fault("garbage", skipped))
                continue
            length = self._frame_length(self._buffer)
            if length is None:
                break
            if length == 0:
                out.append(Fault("bad_frame", bytes(self._buffer[:1])))
                del self._buffer[:1]
                continue
            frame = bytes(self._buffer[:length])
            decoded = self.read(frame)
            if isinstance(decoded, Fault) and decoded.reason == "bad_frame":
                del self._buffer[:1]  # not a frame after all: a later 02 may start one
            else:
                del self._buffer[:length]
            out.append(decoded)
        if len(self._buffer) > MAX_BUFFER:  # cannot happen with a fixed length; kept as a bound
            out.append(Fault("garbage", bytes(self._buffer)))
            self._buffer.clear()
        return out

    def _prepare(self, data: bytes) -> bytes:
        return data

    def _frame_length(self, buffer: bytearray) -> int | None:
        """The length of the frame at the start of ``buffer``: None to wait for more, 0 if none fits."""
        raise NotImplementedError

    def read(self, frame: bytes) -> Decoded:
        raise NotImplementedError

    def leftover(self) -> bytes:
        return bytes(self._buffer)


def _digits(field: bytes) -> int | None:
    """Six ASCII digits (a Toledo indicator may blank leading zeros with spaces)."""
    text = field.decode("ascii", "replace").replace(" ", "0")
    return int(text) if len(text) == len(field) and text.isdigit() and text.isascii() else None


# --- XK3190-A9 ------------------------------------------------------------------------------------

XK_LENGTH = 12
_HEX = b"0123456789ABCDEF"


def xk3190_checksum(body: bytes) -> bytes:
    """The two ASCII hex nibbles of the XOR of ``body`` (sign, digits, decimal byte)."""
    check = 0
    for byte in body:
        check ^= byte
    return bytes((_HEX[check >> 4], _HEX[check & 0x0F]))


def xk3190_frame(kg_value: float, decimals: int = 0) -> bytes:
    """The frame an XK3190-A9 sends for ``kg_value`` shown with ``decimals`` places (simulators, tests)."""
    scaled = round(abs(kg_value) * 10 ** decimals)
    body = (b"-" if kg_value < 0 else b"+") + f"{scaled:06d}".encode()[-6:] + str(decimals).encode()
    return bytes([STX]) + body + xk3190_checksum(body) + bytes([ETX])


class Xk3190Decoder(StreamDecoder):
    def __init__(self, unit_kg: float = 1.0) -> None:
        super().__init__()
        self.unit_kg = unit_kg

    def _frame_length(self, buffer: bytearray) -> int | None:
        if len(buffer) < XK_LENGTH:
            return None
        return XK_LENGTH

    def read(self, frame: bytes) -> Decoded:
        sign, digits, decimals, check = frame[1:2], frame[2:8], frame[8], frame[9:11]
        value = _digits(digits)
        if frame[11] != ETX or sign not in (b"+", b"-") or value is None or not 0x30 <= decimals <= 0x34:
            return Fault("bad_frame", frame)
        if check != xk3190_checksum(frame[1:9]):
            return Fault("bad_checksum", frame)
        if sign == b"-" and value:
            return Fault("negative", frame)
        return Reading(value / 10 ** (decimals - 0x30) * self.unit_kg)


# --- Mettler Toledo ------------------------------------------------------------------------------

TOLEDO_SCALE = (100, 10, 1, 0.1, 0.01, 0.001)
NET, NEGATIVE, OVER_RANGE, MOTION, KG = 1, 2, 4, 8, 16


def toledo_checksum(body: bytes) -> int:
    """Two's complement of the 7-bit sum of ``body`` (STX through CR), itself 7 bits."""
    return -sum(body) & 0x7F


def toledo_frame(weight: float, tare: float = 0.0, *, decimal_code: int = 2, net: bool = False,
                 negative: bool = False, over_range: bool = False, motion: bool = False, kg: bool = True,
                 checksum: bool = True) -> bytes:
    """The frame a Toledo indicator sends (simulators, tests); weights in the displayed unit."""
    scale = TOLEDO_SCALE[decimal_code]
    status_a = 0x20 | decimal_code
    status_b = 0x20 | net * NET | negative * NEGATIVE | over_range * OVER_RANGE | motion * MOTION | kg * KG
    fields = f"{round(abs(weight) / scale):06d}"[-6:] + f"{round(tare / scale):06d}"[-6:]
    body = bytes([STX, status_a, status_b, 0x20]) + fields.encode() + bytes([CR])
    return body + bytes([toledo_checksum(body)]) if checksum else body


class ToledoDecoder(StreamDecoder):
    def __init__(self, checksum: bool = True) -> None:
        super().__init__()
        self.checksum = checksum
        self.length = 18 if checksum else 17

    def _prepare(self, data: bytes) -> bytes:
        return bytes(byte & 0x7F for byte in data)

    def _frame_length(self, buffer: bytearray) -> int | None:
        return None if len(buffer) < self.length else self.length

    def read(self, frame: bytes) -> Decoded:
        weight, tare = _digits(frame[4:10]), _digits(frame[10:16])
        if frame[16] != CR or weight is None or tare is None or STX in frame[1:4] or CR in frame[1:16]:
            return Fault("bad_frame", frame)
        if self.checksum and toledo_checksum(frame[:17]) != frame[17]:
            return Fault("bad_checksum", frame)
        status_a, status_b = frame[1], frame[2]
        if status_a & 0x07 >= len(TOLEDO_SCALE):
            return Fault("bad_status", frame)
        if status_b & OVER_RANGE:
            return Fault("over_range", frame)
        if status_b & NEGATIVE and weight:
            return Fault("negative", frame)
        scale = TOLEDO_SCALE[status_a & 0x07] * (1.0 if status_b & KG else LB_KG)
        tare_kg = tare * scale
        gross = weight * scale + (tare_kg if status_b & NET else 0.0)
        return Reading(gross, motion=bool(status_b & MOTION), tare_kg=tare_kg)


def decoder_for(fmt: str, *, unit_kg: float = 1.0, toledo_checksum_on: bool = True) -> StreamDecoder:
    if fmt == "xk3190-a9":
        return Xk3190Decoder(unit_kg)
    if fmt == "toledo":
        return ToledoDecoder(toledo_checksum_on)
    raise ValueError(f"format must be xk3190-a9 or toledo, got {fmt!r}")
