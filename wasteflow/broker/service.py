"""Writing the broker's files from the registry, and rewriting them when devices change."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from wasteflow.broker.files import (
    Account,
    broker_username,
    device_topics,
    gateway_account,
    render_acl,
    render_passwords,
    service_accounts,
    without_impostors,
)
from wasteflow.registry import device_secrets
from wasteflow.registry.models import Device
from wasteflow.sealing import Sealer, sealer_for


def registry_accounts(engine: Engine, sealer: Sealer | None = None) -> list[Account]:
    """One account per enabled device that speaks MQTT itself (not the terminals behind a gateway),
    its password the device's current secret: a rotation changes it at once, a disabled device has none."""
    sealer = sealer or sealer_for(engine.url)
    with Session(engine) as session:
        devices = session.exec(select(Device).where(Device.protocol.is_(None),  # type: ignore[union-attr]
                                                    Device.disabled_at.is_(None))  # type: ignore[union-attr]
                               .order_by(Device.id)).all()
        return [Account(broker_username(d.id), device_secrets.current_secret(d, sealer), publish=device_topics(d.id))
                for d in devices]


def jt808_account(engine: Engine, username: str, password: str) -> Account:
    """The JT/T 808 gateway publishes gps (and load, for a load_item) of the enabled registered terminals only."""
    with Session(engine) as session:
        ids = list(session.exec(select(Device.id).where(Device.protocol == "jt808",
                                                        Device.disabled_at.is_(None))  # type: ignore[union-attr]
                                .order_by(Device.id)).all())
    return gateway_account(username, password, "jt808", ids, ("gps", "load"))


def osmand_account(engine: Engine, username: str, password: str) -> Account:
    """The OsmAnd HTTP gateway publishes gps of the registered ``osmand:{id}`` phones only."""
    with Session(engine) as session:
        ids = list(session.exec(select(Device.id).where(Device.protocol == "osmand").order_by(Device.id)).all())
    return gateway_account(username, password, "osmand", ids, ("gps",))


def write_files(out_dir: Path, accounts: list[Account]) -> bool:
    """Write ``passwords`` and ``acl`` atomically; True when the set of accounts changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = hashlib.sha256(repr(sorted((a.username, a.password, a.publish, a.subscribe)
                                             for a in accounts)).encode()).hexdigest()
    stamp = out_dir / ".fingerprint"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return False
    _atomic_write(out_dir / "passwords", render_passwords(accounts), mode=0o600)
    _atomic_write(out_dir / "acl", render_acl(accounts), mode=0o644)
    _atomic_write(stamp, fingerprint, mode=0o600)
    return True


def _atomic_write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def all_accounts(engine: Engine, bridge_user: str, bridge_password: str, alert_user: str | None = None,
                 alert_password: str | None = None, jt808: tuple[str, str] | None = None,
                 osmand: tuple[str, str] | None = None, sealer: Sealer | None = None) -> list[Account]:
    """The services' accounts (each gateway's when it has a password), then the devices'."""
    services = service_accounts(bridge_user, bridge_password, alert_user, alert_password)
    if jt808 is not None and jt808[1]:
        services.append(jt808_account(engine, *jt808))
    if osmand is not None and osmand[1]:
        services.append(osmand_account(engine, *osmand))
    return without_impostors(services, registry_accounts(engine, sealer))
