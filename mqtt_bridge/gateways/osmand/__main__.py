"""``python -m mqtt_bridge.gateways.osmand`` (or ``wasteflow gateway http``): serve phones until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator

import uvicorn

from mqtt_bridge.gateways.jt808.__main__ import host_port
from mqtt_bridge.gateways.osmand.directory import PhoneDirectory
from mqtt_bridge.gateways.osmand.server import OsmandGateway
from mqtt_bridge.gateways.publisher import GatewayPublisher
from wasteflow.config import Settings, get_settings
from wasteflow.database import get_engine

log = logging.getLogger("wasteflow.gateway.osmand")


def client_id() -> str:
    """Unique per process: several gateways behind one load balancer each keep their own session."""
    return (os.environ.get("WASTEFLOW_OSMAND_CLIENT_ID")
            or f"wasteflow-osmand-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")


class GatewayServer(uvicorn.Server):
    """uvicorn, with SIGTERM/SIGINT left to :func:`run`: uvicorn's own handling re-raises the signal
    once it has finished, and a service stopped on purpose must exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def report_status(gateway: OsmandGateway, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        log.info("%s", gateway.counters.line(len(gateway.directory)))


async def run(settings: Settings, listen: str | None = None, status_every_s: float = 10.0) -> int:
    host, port = host_port(listen or settings.osmand_listen)
    directory = PhoneDirectory(get_engine(settings.database_url))
    known = await asyncio.to_thread(directory.load_all)
    publisher = GatewayPublisher(settings.mqtt_url, client_id(), protocol=settings.mqtt_protocol,
                                 ca_file=settings.mqtt_ca_file)
    publisher.start()
    gateway = OsmandGateway(publisher, directory, publish_timeout_s=settings.osmand_publish_timeout_s,
                            max_body_bytes=settings.osmand_max_body_bytes,
                            quarantine_per_minute=settings.osmand_quarantine_per_minute)
    server = GatewayServer(uvicorn.Config(gateway, host=host, port=port, log_level="warning", lifespan="off",
                                           access_log=False))
    log.info("osmand gateway listening on http://%s:%d (%d phones registered); publishing to %s as %s",
             host, port, known, publisher.address.host, publisher.client_id)
    for signum in (signal.SIGTERM, signal.SIGINT):  # stop taking requests, finish those open, then exit 0
        asyncio.get_running_loop().add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    chores = [asyncio.create_task(directory.keep_fresh()), asyncio.create_task(report_status(gateway, status_every_s))]
    try:
        await server.serve()
    finally:
        for chore in chores:
            chore.cancel()
        publisher.stop()
    return 0


def main(listen: str | None = None) -> int:
    logging.basicConfig(level=os.environ.get("WASTEFLOW_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(get_settings(), listen))


if __name__ == "__main__":
    sys.exit(main())
