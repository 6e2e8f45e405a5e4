"""Throw-away PostgreSQL databases for the benchmarks: created migrated, dropped afterwards."""

from __future__ import annotations

import os
import secrets
import uuid

import psycopg

ADMIN_URL = os.environ.get("WASTEFLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = os.environ.setdefault("WASTEFLOW_SECRET_KEY", secrets.token_urlsafe(32))
"""Device secrets are sealed under it (PostgreSQL refuses to run without one); every bench process
inherits it, a throw-away database needs no lasting one."""


def sealed(url: str, device_id: str, secret: str) -> str:
    """A device secret as the ``device.sealed_secret`` column holds it, for rows written straight in."""
    from wasteflow.sealing import sealer_for

    return sealer_for(url, SECRET_KEY).seal(secret, device_id)


def create_database() -> tuple[str, str]:
    """A fresh database at the current schema: (name, SQLAlchemy URL)."""
    from wasteflow.migrate import upgrade

    name = f"wf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    upgrade(url)
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")
