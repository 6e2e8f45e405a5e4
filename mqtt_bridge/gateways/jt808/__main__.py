"""``python -m mqtt_bridge.gateways.jt808`` (or ``wasteflow gateway jt808``): run the gateway until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

from mqtt_bridge.gateways.jt808.directory import TerminalDirectory
from mqtt_bridge.gateways.jt808.server import Jt808Gateway
from mqtt_bridge.gateways.publisher import GatewayPublisher
from wasteflow.config import Settings, get_settings
from wasteflow.database import get_engine
from wasteflow.sealing import sealer_for

log = logging.getLogger("wasteflow.gateway.jt808")


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def run(settings: Settings, listen: str | None = None, status_every_s: float = 10.0) -> int:
    host, port = host_port(listen or settings.jt808_listen)
    engine = get_engine(settings.database_url)
    directory = TerminalDirectory(engine, sealer=sealer_for(engine.url, settings.secret_key))
    known = await asyncio.to_thread(directory.load_all)
    client_id = os.environ.get("WASTEFLOW_JT808_CLIENT_ID") or f"wasteflow-jt808-{socket.gethostname()}-{os.getpid()}"
    publisher = GatewayPublisher(settings.mqtt_url, client_id, protocol=settings.mqtt_protocol,
                                 ca_file=settings.mqtt_ca_file)
    publisher.start()
    gateway = Jt808Gateway(publisher, directory, idle_s=settings.jt808_idle_s, allow=settings.jt808_allow,
                           max_connections=settings.jt808_max_connections,
                           quarantine_per_minute=settings.jt808_quarantine_per_minute)
    server = await gateway.start(host, port)
    log.info("jt808 gateway listening on %s:%d (%d terminals registered); publishing to %s as %s",
             host, port, known, publisher.address.host, client_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), status_every_s)
        except TimeoutError:
            log.info("%s", gateway.counters.line(len(gateway.connections), len(directory)))
    server.close()
    await gateway.close()
    await asyncio.sleep(0.5)  # let closing connections publish what they left unfinished
    publisher.stop()
    return 0


def main(listen: str | None = None) -> int:
    logging.basicConfig(level=os.environ.get("WASTEFLOW_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(get_settings(), listen))


if __name__ == "__main__":
    sys.exit(main())
