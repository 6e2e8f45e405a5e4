"""The line to the indicator: a serial port (a pseudo-terminal standing in for /dev/ttyUSB0),
reconnection with backoff after a cut cable, and the plate listener's answers."""

from __future__ import annotations

import asyncio
import os
import time
import tty

from mqtt_bridge.gateways.scale.framing import decoder_for, toledo_frame, xk3190_frame
from mqtt_bridge.gateways.scale.links import SerialLink, TcpLink, backoff
from mqtt_bridge.gateways.scale.server import ScaleGateway
from mqtt_bridge.gateways.scale.spool import Spool
from mqtt_bridge.gateways.scale.stability import StableRule, StableWeigher
from simulators.scale_indicator import Indicator


def test_backoff_doubles_up_to_thirty_seconds():
    assert [backoff(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_serial_port_is_read_through_pyserial():
    master, slave = os.openpty()
    tty.setraw(slave)
    link = SerialLink(os.ttyname(slave), 9600, "8N1", silent_s=1.0)
    frames = toledo_frame(30000) * 3

    async def read() -> bytes:
        received = b""
        async for chunk in link.chunks():
            received += chunk
            if len(received) >= len(frames):
                return received
        return received

    async def scenario() -> bytes:
        reading = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        os.write(master, frames)
        return await asyncio.wait_for(reading, 10)

    try:
        received = asyncio.run(scenario())
    finally:
        os.close(master)
        os.close(slave)
    assert [r.gross_kg for r in decoder_for("toledo").feed(received)] == [30000.0] * 3


def gateway_on(tmp_path, fmt: str) -> ScaleGateway:
    spool = Spool(tmp_path / "spool.db", "wb-1", "s3cret")
    rule = StableRule(threshold_kg=500, hold_s=0.5, division_kg=20)
    return ScaleGateway("wb-1", spool, decoder_for(fmt), StableWeigher(rule), publisher=None)  # type: ignore[arg-type]


def test_a_cut_cable_is_reconnected_and_weighing_goes_on(tmp_path):
    indicator = Indicator("xk3190-a9", rate_hz=25).start()
    gateway = gateway_on(tmp_path, "xk3190-a9")

    async def scenario():
        reading = asyncio.create_task(gateway.read_indicator(TcpLink("127.0.0.1", indicator.port, silent_s=2.0)))
        await asyncio.to_thread(indicator.weigh, 15080, 1.2, 0.3, 0.3)
        indicator.cut_cable()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(indicator.weigh, 49260, 1.2, 0.3, 0.3)
        reading.cancel()

    try:
        asyncio.run(scenario())
    finally:
        indicator.close()
    assert [w.kg for w in gateway.spool.weighings()] == [15080, 49260]
    assert gateway.counters.link_failures >= 1 and gateway.counters.connections >= 2


def test_garbage_on_the_line_is_counted_never_fatal(tmp_path):
    gateway = gateway_on(tmp_path, "xk3190-a9")
    now = time.monotonic()
    gateway.on_bytes(b"\xff\x02\x02junk" + xk3190_frame(12340)[:-1] + b"\x00" + xk3190_frame(0), now)
    assert gateway.counters.faults["garbage"] >= 1 and gateway.counters.faults["bad_frame"] >= 1
    assert gateway.counters.frames == 1


def test_the_plate_listener_answers_with_reasons(tmp_path):
    gateway = gateway_on(tmp_path, "toledo")
    assert gateway.answer("POST", "/plate", b"{not json")[0] == 400
    status, body = gateway.answer("POST", "/plate", b'{"plate": "\\u8499B12345", "colour": "blue"}')
    assert status == 400 and body["reason"] == "unknown_field"
    status, body = gateway.answer("POST", "/plate", b'{"plate": "\\u8499B12345", "manifest_no": "WF 1"}')
    assert status == 400 and body["reason"] == "bad_manifest_no"
    status, body = gateway.answer("POST", "/plate", b'{"plate": "\\u8499B12345", "weighing_id": true}')
    assert status == 400 and body["reason"] == "bad_weighing_id"
    assert gateway.answer("POST", "/plate", '{"plate": "蒙B12345"}'.encode())[0] == 202
    assert gateway.answer("GET", "/weighings?unassigned=1", b"") == (200, [])
    assert gateway.answer("GET", "/nowhere", b"")[0] == 404
