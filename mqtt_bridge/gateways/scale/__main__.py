"""``wasteflow gateway scale``: run one weighbridge's gateway until SIGTERM/SIGINT.

The gateway sits at the weighbridge: it reads the indicator, takes plate calls on a local
port, keeps its spool, and publishes signed tickets to WASTEFLOW_MQTT_URL. It never reads the
database; the weighbridge's secret comes from ``--secret-file`` or WASTEFLOW_DEVICE_SECRET.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from mqtt_bridge.gateways.publisher import GatewayPublisher
from mqtt_bridge.gateways.scale.framing import decoder_for
from mqtt_bridge.gateways.scale.links import Link, SerialLink, TcpLink
from mqtt_bridge.gateways.scale.server import ScaleGateway
from mqtt_bridge.gateways.scale.spool import Spool
from mqtt_bridge.gateways.scale.stability import StableRule, StableWeigher
from wasteflow.config import get_settings

log = logging.getLogger("wasteflow.gateway.scale")

UNITS_KG = {"kg": 1.0, "t": 1000.0}


@dataclass(frozen=True)
class ScaleOptions:
    device_id: str
    secret: str
    fmt: str
    link: Link
    spool: Path
    plate_listen: str = "127.0.0.1:8780"
    unit: str = "kg"
    rule: StableRule = StableRule()
    toledo_checksum: bool = True


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def make_link(serial: str | None, baud: int, tcp: str | None, serial_format: str) -> Link:
    if bool(serial) == bool(tcp):
        raise ValueError("give either --serial PATH --baud N or --tcp HOST:PORT")
    if tcp:
        return TcpLink(*host_port(tcp))
    return SerialLink(str(serial), baud, serial_format)


async def run(options: ScaleOptions, status_every_s: float = 30.0) -> int:
    settings = get_settings()
    spool = Spool(options.spool, options.device_id, options.secret)
    decoder = decoder_for(options.fmt, unit_kg=UNITS_KG[options.unit], toledo_checksum_on=options.toledo_checksum)
    client_id = os.environ.get("WASTEFLOW_SCALE_CLIENT_ID") or f"wasteflow-scale-{options.device_id}-{os.getpid()}"
    publisher = GatewayPublisher(settings.mqtt_url, client_id, protocol=settings.mqtt_protocol)
    publisher.start()
    gateway = ScaleGateway(options.device_id, spool, decoder, StableWeigher(options.rule), publisher)
    host, port = host_port(options.plate_listen)
    plates = await asyncio.start_server(gateway.serve_plates, host, port)
    tasks = [asyncio.create_task(gateway.read_indicator(options.link)), asyncio.create_task(gateway.publish_spooled())]
    log.info("scale gateway for %s: %s (%s), plates on http://%s:%d/plate, spool %s (%d tickets pending), "
             "publishing to %s", options.device_id, options.link.describe(), options.fmt, host, port, options.spool,
             len(spool.pending()), publisher.address.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), status_every_s)
        except TimeoutError:
            log.info("%s", gateway.counters.line())
    plates.close()
    for task in tasks:
        task.cancel()
    await asyncio.sleep(0.2)
    publisher.stop()
    spool.close()
    return 0


def main(options: ScaleOptions) -> int:
    logging.basicConfig(level=os.environ.get("WASTEFLOW_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(options))


if __name__ == "__main__":
    sys.exit("run it as: wasteflow gateway scale --help")
