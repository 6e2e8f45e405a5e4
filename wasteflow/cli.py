"""The ``wasteflow`` command line."""

from __future__ import annotations

from pathlib import Path

import typer

from wasteflow.config import get_settings

app = typer.Typer(help="wasteflow: industrial solid waste tracked from generator to receiver, "
                       "reconciled, and audited.", no_args_is_help=True, add_completion=False)
admin = typer.Typer(help="Administration: the administrator's key.", no_args_is_help=True)
app.add_typer(admin, name="admin")
gateway = typer.Typer(help="Device gateways (devices.md): what devices in the field speak, translated to the "
                           "canonical MQTT topics for the bridge.", no_args_is_help=True)
app.add_typer(gateway, name="gateway")


def _sealing_ready(settings) -> None:
    """Every command that reads or writes device secrets stops here, with what to do, when the
    database keeps them sealed under a key it was not given (PostgreSQL without WASTEFLOW_SECRET_KEY)."""
    from wasteflow.sealing import SealingError, sealer_for

    try:
        sealer_for(settings.database_url, settings.secret_key)
    except SealingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


@app.command()
def migrate() -> None:
    """Bring the database (WASTEFLOW_DATABASE_URL) to the current schema."""
    from wasteflow.migrate import upgrade

    _sealing_ready(get_settings())
    url = get_settings().database_url
    upgrade(url)
    typer.echo(f"database is at the current schema: {_redact(url)}")


@app.command()
def maintain(months_ahead: int = typer.Option(3, help="create telemetry partitions this many months ahead"),
             retention_days: int = typer.Option(None, help="drop telemetry months wholly older than this "
                                                "(default: WASTEFLOW_TELEMETRY_RETENTION_DAYS; 0 keeps all)")) -> None:
    """PostgreSQL upkeep: telemetry partitions ahead of time, and the retention policy."""
    from wasteflow.database import get_engine
    from wasteflow.tracks.partitions import maintain as run

    settings = get_settings()
    days = settings.telemetry_retention_days if retention_days is None else retention_days
    report = run(get_engine(settings.database_url), months_ahead, days)
    typer.echo(f"created {len(report.created)} partitions {report.created}; "
               f"dropped {len(report.dropped)} {report.dropped}")


@app.command()
def serve(workers: int = typer.Option(1, help="uvicorn worker processes"),
          migrate_first: bool = typer.Option(True, "--migrate/--no-migrate",
                                             help="run migrations before serving")) -> None:
    """Serve the REST API on WASTEFLOW_HTTP (default 127.0.0.1:8000)."""
    import uvicorn

    settings = get_settings()
    _sealing_ready(settings)
    if migrate_first:
        from wasteflow.migrate import upgrade
        upgrade(settings.database_url)
    host, port = _host_port(settings.http)
    typer.echo(f"wasteflow API on http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs)")
    config = uvicorn.Config("wasteflow.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                            log_level="info", access_log=False)
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[_listening_socket(host, port)]).run()


def _listening_socket(host: str, port: int):
    """The workers' shared socket, made with IPPROTO_TCP.

    uvicorn's own (``socket.socket(family)``) carries protocol 0, so asyncio does not set
    TCP_NODELAY on the connections it accepts, and keep-alive clients wait out a 40 ms
    delayed ACK on every response (measured: 44 ms vs 1 ms per request).
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@app.command()
def bridge() -> None:
    """Run one MQTT bridge worker: telemetry from WASTEFLOW_MQTT_URL into the database."""
    from mqtt_bridge.__main__ import main

    _sealing_ready(get_settings())
    raise typer.Exit(main())


@app.command()
def webhooks() -> None:
    """Run the webhook worker: the outbox fanned out and delivered, signed, with retries (until Ctrl-C / SIGTERM)."""
    import signal
    import threading

    from wasteflow.database import get_engine
    from wasteflow.webhooks.worker import run

    settings = get_settings()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    typer.echo(f"webhook worker: {settings.webhook_concurrency} at a time, {settings.webhook_timeout_s} s timeout")
    run(get_engine(settings.database_url), settings, stop)


@app.command("broker-config")
def broker_config(out: Path = typer.Option(Path("deploy/mosquitto/auth"), help="directory for `passwords` and `acl`"),
                  bridge_user: str = typer.Option("wasteflow-bridge", envvar="WASTEFLOW_BROKER_BRIDGE_USER"),
                  bridge_password: str = typer.Option(..., envvar="WASTEFLOW_BROKER_BRIDGE_PASSWORD",
                                                      help="the bridge's broker password"),
                  alert_user: str = typer.Option("regulator-alerts", envvar="WASTEFLOW_BROKER_ALERT_USER"),
                  alert_password: str = typer.Option("", envvar="WASTEFLOW_BROKER_ALERT_PASSWORD"),
                  jt808_user: str = typer.Option("wasteflow-jt808", envvar="WASTEFLOW_BROKER_JT808_USER"),
                  jt808_password: str = typer.Option("", envvar="WASTEFLOW_BROKER_JT808_PASSWORD",
                                                     help="the JT/T 808 gateway's broker password (empty: no account)"),
                  osmand_user: str = typer.Option("wasteflow-osmand", envvar="WASTEFLOW_BROKER_OSMAND_USER"),
                  osmand_password: str = typer.Option("", envvar="WASTEFLOW_BROKER_OSMAND_PASSWORD",
                                                      help="the OsmAnd HTTP gateway's broker password "
                                                           "(empty: no account)"),
                  watch: float = typer.Option(0, help="re-check the registry every N seconds (0: once)"),
                  reload_pid: int = typer.Option(0, help="send SIGHUP to this Mosquitto process after a change"),
                  ) -> None:
    """Generate Mosquitto's password and ACL files from the registry: one account per device."""
    import os
    import signal
    import time

    from wasteflow.broker.service import all_accounts, write_files
    from wasteflow.database import get_engine

    _sealing_ready(get_settings())
    engine = get_engine(get_settings().database_url)
    while True:
        accounts = all_accounts(engine, bridge_user, bridge_password, alert_user, alert_password or None,
                                jt808=(jt808_user, jt808_password), osmand=(osmand_user, osmand_password))
        if write_files(out, accounts):
            typer.echo(f"wrote {out / 'passwords'} and {out / 'acl'}: {len(accounts)} accounts", err=True)
            if reload_pid:
                os.kill(reload_pid, signal.SIGHUP)
        if not watch:
            return
        time.sleep(watch)


@app.command("broker-certs")
def broker_certs(host: list[str] = typer.Option(..., "--host", help="a name or address devices connect to "
                                                "(repeat for several)"),
                 out: Path = typer.Option(Path("deploy/mosquitto/certs"), help="directory for the files"),
                 days: int = typer.Option(365, help="validity in days")) -> None:
    """Trial TLS certificates for the broker's device listener (8883): a private CA and a server
    certificate. Give devices ca.crt; mount server.crt and server.key into the broker."""
    from wasteflow.broker.certs import make_trial_certificates

    for path in make_trial_certificates(host, days).write(out):
        typer.echo(f"wrote {path}", err=True)


JT808_HELP = (
    "Take JT/T 808 (2013 and 2019) terminals over TCP and publish their fixes to the broker.\n\n"
    "Register each terminal through the API first: POST /v1/devices with \"protocol\": \"jt808\" and "
    "\"terminal_id\" (the terminal's phone number; a vendor \"load_item\" is optional). Then point the terminal "
    "at this host and port: it registers (0x0100), authenticates with the code it is given (0x0102) and reports "
    "(0x0200, 0x0704). A terminal is acknowledged only after the broker has acknowledged its data.\n\n"
    "Reads the registry from WASTEFLOW_DATABASE_URL; publishes to WASTEFLOW_MQTT_URL (use the gateway's broker "
    "account). Also: WASTEFLOW_JT808_ALLOW (networks allowed to connect), WASTEFLOW_JT808_IDLE_S, "
    "WASTEFLOW_JT808_MAX_CONNECTIONS, WASTEFLOW_JT808_QUARANTINE_PER_MINUTE. See docs/devices.md."
)


@gateway.command("jt808", help=JT808_HELP)
def gateway_jt808(listen: str = typer.Option(None, "--listen", help="host:port for terminals "
                                             "(default: WASTEFLOW_JT808_LISTEN, 127.0.0.1:7808)")) -> None:
    """The JT/T 808 gateway (help: JT808_HELP)."""
    from mqtt_bridge.gateways.jt808.__main__ import main

    _sealing_ready(get_settings())
    raise typer.Exit(main(listen))


OSMAND_HELP = (
    "Take phones running OsmAnd or Traccar Client over HTTP (Traccar's OsmAnd protocol: query string, form or "
    "Traccar Client's JSON) and publish their fixes to the broker.\n\n"
    "Register each phone through the API first: POST /v1/devices with \"id\": \"osmand:{the phone's id}\", "
    "\"kind\": \"gps\" and its vehicle_plate. Then set the phone's server URL to http://this-host:5055 "
    "(behind a TLS proxy in production). A request is answered 200 only after the broker has acknowledged its "
    "fixes; 400 with the reason for what cannot be read (no id, an unknown id, a number that does not parse, a "
    "position out of range); 503 while the broker is away (the phone sends it again).\n\n"
    "Reads the registry from WASTEFLOW_DATABASE_URL; publishes to WASTEFLOW_MQTT_URL (use the gateway's broker "
    "account; mqtts:// with WASTEFLOW_MQTT_CA_FILE for TLS). Also: WASTEFLOW_OSMAND_PUBLISH_TIMEOUT_S, "
    "WASTEFLOW_OSMAND_MAX_BODY_BYTES, WASTEFLOW_OSMAND_QUARANTINE_PER_MINUTE. See docs/devices.md."
)


@gateway.command("http", help=OSMAND_HELP)
def gateway_http(listen: str = typer.Option(None, "--listen", help="host:port for phones "
                                            "(default: WASTEFLOW_OSMAND_LISTEN, 127.0.0.1:5055)")) -> None:
    """The OsmAnd HTTP gateway (help: OSMAND_HELP)."""
    from mqtt_bridge.gateways.osmand.__main__ import main

    raise typer.Exit(main(listen))


SCALE_HELP = (
    "Read a weighbridge indicator's continuous output and publish signed weigh tickets to the broker.\n\n"
    "The indicator streams weights (continuous mode: XK3190-A9 tF = 0, or Mettler Toledo continuous output) on a "
    "serial port (--serial PATH --baud N) or through a serial-to-Ethernet server (--tcp HOST:PORT). A weighing is a "
    "load above the empty threshold held within one division for the hold time with no motion. An ANPR camera or "
    "the operator's screen names the truck: POST http://127.0.0.1:8780/plate (--plate-listen) with "
    "{\"plate\": \"...\", \"manifest_no\": optional}; GET /weighings?unassigned=1 lists weighings made without "
    "a plate, and {\"plate\": ..., \"weighing_id\": ...} names one. Two weighings of a plate within 12 h make a "
    "ticket on wf/v1/dev/{ID}/weigh, signed with the weighbridge's secret (--secret-file or "
    "WASTEFLOW_DEVICE_SECRET), kept in the spool until the broker acknowledges it. Publishes to WASTEFLOW_MQTT_URL; "
    "never reads the database. See docs/weighbridges.md."
)


@gateway.command("scale", help=SCALE_HELP)
def gateway_scale(device: str = typer.Option(..., "--device", help="the weighbridge's registered device id"),
                  serial: str = typer.Option(None, "--serial", help="serial port, e.g. /dev/ttyUSB0"),
                  baud: int = typer.Option(9600, "--baud", help="serial speed"),
                  tcp: str = typer.Option(None, "--tcp", help="HOST:PORT of a serial-to-Ethernet server"),
                  fmt: str = typer.Option(..., "--format", help="xk3190-a9 or toledo"),
                  division_kg: float = typer.Option(20.0, "--division-kg", help="the indicator's division (kg)"),
                  unit: str = typer.Option("kg", "--unit", help="kg or t: the unit of XK3190 frames (they carry none)"),
                  serial_format: str = typer.Option("8N1", "--serial-format", help="8N1 or 7E1 (Toledo: usually 7E1)"),
                  toledo_checksum: str = typer.Option("on", "--toledo-checksum", help="on or off: frames end with a "
                                                      "checksum byte"),
                  plate_listen: str = typer.Option("127.0.0.1:8780", "--plate-listen",
                                                   help="host:port of the local POST /plate for the ANPR camera"),
                  spool: Path = typer.Option(Path("scale-spool.db"), "--spool", help="the spool (SQLite file)"),
                  secret_file: Path = typer.Option(None, "--secret-file", help="file holding the device's secret"),
                  secret: str = typer.Option("", envvar="WASTEFLOW_DEVICE_SECRET", hidden=True),
                  threshold_kg: float = typer.Option(500.0, "--threshold-kg", help="empty-platform threshold"),
                  hold_s: float = typer.Option(3.0, "--hold-s", help="seconds a weight must hold")) -> None:
    """The weighbridge gateway (help: SCALE_HELP)."""
    from mqtt_bridge.gateways.scale.__main__ import ScaleOptions, main, make_link
    from mqtt_bridge.gateways.scale.stability import StableRule

    if fmt not in ("xk3190-a9", "toledo") or unit not in ("kg", "t") or serial_format not in ("8N1", "7E1") \
            or toledo_checksum not in ("on", "off"):
        raise typer.BadParameter("--format xk3190-a9|toledo, --unit kg|t, --serial-format 8N1|7E1, "
                                 "--toledo-checksum on|off")
    key = secret_file.read_text().strip() if secret_file else secret
    if not key:
        raise typer.BadParameter("the weighbridge's secret: --secret-file or WASTEFLOW_DEVICE_SECRET")
    try:
        link = make_link(serial, baud, tcp, serial_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    options = ScaleOptions(device, key, fmt, link, spool, plate_listen, unit,
                           StableRule(threshold_kg, hold_s, division_kg), toledo_checksum == "on")
    raise typer.Exit(main(options))


@admin.command("bootstrap")
def bootstrap() -> None:
    """Create an administrator API key and print it once (alone on the last line)."""
    from wasteflow.auth.service import bootstrap_admin
    from wasteflow.database import get_engine, session_scope
    from wasteflow.migrate import upgrade

    settings = get_settings()
    _sealing_ready(settings)
    upgrade(settings.database_url)
    with session_scope(get_engine(settings.database_url)) as session:
        key = bootstrap_admin(session)
    typer.echo("Administrator key (shown once; only its hash is stored):", err=True)
    typer.echo(key)


@app.command()
def demo(trips: int = typer.Option(300, help="manifests in the simulated day"),
         seed: int = typer.Option(7, help="random seed: the same seed gives the same day"),
         keep_running: bool = typer.Option(False, "--keep-running", help="leave the API up afterwards")) -> None:
    """Run a simulated day of a region on the embedded defaults and write a regulator's report."""
    from simulators.demo import run_demo

    raise typer.Exit(run_demo(trips=trips, seed=seed, keep_running=keep_running))


@app.command()
def simulate(api: str = typer.Option(..., "--api", help="base URL of the API, e.g. http://127.0.0.1:8000"),
             mqtt: str = typer.Option(..., "--mqtt", help="the broker, mqtt://[user:pass@]host:port"),
             api_key: str = typer.Option(..., "--api-key", envvar="WASTEFLOW_ADMIN_KEY",
                                         help="the administrator's key (wasteflow admin bootstrap)"),
             trips: int = typer.Option(300, help="manifests in the simulated day"),
             seed: int = typer.Option(7, help="random seed: the same seed gives the same day"),
             speedup: float = typer.Option(1440.0, help="simulated seconds per real second (1440: a day in a minute)"),
             protocol: str = typer.Option("5", help="MQTT protocol: 5 or 3.1.1"),
             variant: str = typer.Option("", help="a capital letter making the region's names, plates and device "
                                                  "ids unique (to register a second copy)"),
             per_device: bool = typer.Option(False, "--per-device", help="one MQTT login per device (username = "
                                                                         "device id, password = its secret)")) -> None:
    """Run the simulated fleet against any broker and API: registers its region, plays a day, writes a report."""
    from simulators.simulate import run_simulation

    raise typer.Exit(run_simulation(api, mqtt, api_key, trips=trips, seed=seed, speedup=speedup, protocol=protocol,
                                    variant=variant, per_device=per_device))


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


if __name__ == "__main__":
    app()
