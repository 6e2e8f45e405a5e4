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
    render_acl,
    render_passwords,
    service_accounts,
    without_impostors,
)
from wasteflow.registry.models import Device


def registry_accounts(engine: Engine) -> list[Account]:
    with Session(engine) as session:
        devices = session.exec(select(Device).order_by(Device.id)).all()
        return [Account(broker_username(d.id), d.secret, publish=device_topics(d.id)) for d in devices]


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
                 alert_password: str | None = None) -> list[Account]:
    return without_impostors(service_accounts(bridge_user, bridge_password, alert_user, alert_password),
                             registry_accounts(engine))
