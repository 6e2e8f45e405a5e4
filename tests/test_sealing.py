"""Device secrets sealed at rest under WASTEFLOW_SECRET_KEY (operations.md): the sealer, the demo
key file beside a SQLite database, PostgreSQL refusing to start without a key, and migration 0009
sealing the secrets a database already holds."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from tests.utils.databases import scratch_postgres
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.migrate import alembic_config, upgrade
from wasteflow.sealing import Sealer, SealingError, SecretKeyMissing, is_sealed, sealer_for

KEY = "k" * 32
BEFORE = "telemetry_via"
"""The revision before device secrets were sealed."""


def test_a_sealed_secret_opens_only_under_its_key_and_for_its_device():
    sealer = Sealer(KEY)
    sealed = sealer.seal("plain-secret", "gps-1")
    assert is_sealed(sealed) and "plain-secret" not in sealed
    assert sealer.seal("plain-secret", "gps-1") != sealed  # a fresh nonce every time
    assert sealer.open(sealed, "gps-1") == "plain-secret"
    with pytest.raises(SealingError, match="does not open"):
        sealer.open(sealed, "gps-2")
    with pytest.raises(SealingError, match="does not open"):
        Sealer("x" * 32).open(sealed, "gps-1")
    with pytest.raises(SealingError, match="not sealed"):
        sealer.open("plain-secret", "gps-1")


def test_a_short_key_is_refused_with_how_to_make_one():
    with pytest.raises(SealingError, match="at least 32 characters.*openssl rand"):
        Sealer("short")


def test_sqlite_without_a_key_gets_a_private_key_file_beside_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    sealed = sealer_for(url, "").seal("s", "d")
    key_file = tmp_path / "demo.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Sealer(key_file.read_text().strip()).open(sealed, "d") == "s"


def test_postgresql_without_a_key_refuses_to_start_and_says_what_to_do(postgres_url):
    with pytest.raises(SecretKeyMissing, match="WASTEFLOW_SECRET_KEY is not set.*openssl rand -base64 32"):
        create_app(Settings(database_url=postgres_url, secret_key=""))


def test_the_cli_on_postgresql_without_a_key_stops_with_the_reason(postgres_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    env["WASTEFLOW_DATABASE_URL"] = postgres_url
    for args in (("migrate",), ("broker-config", "--out", "/nonexistent/never-written", "--bridge-password", "x")):
        result = subprocess.run([sys.executable, "-m", "wasteflow.cli", *args], capture_output=True, text=True,
                                timeout=120, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "WASTEFLOW_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


# --- migration 0009 -------------------------------------------------------------------------------


def _insert_plain_device(url: str, device_id: str, secret: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO device (id, kind, secret, require_signature, created_at) "
                          "VALUES (:id, 'gps', :secret, true, CURRENT_TIMESTAMP)"), {"id": device_id, "secret": secret})
    engine.dispose()


def _column(url: str, sql: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _seals_and_unseals(url: str) -> None:
    upgrade(url, BEFORE)
    _insert_plain_device(url, "gps-old", "the-old-plain-secret")
    upgrade(url)
    sealed = _column(url, "SELECT sealed_secret FROM device WHERE id = 'gps-old'")
    assert is_sealed(sealed) and "the-old-plain-secret" not in sealed
    assert sealer_for(url).open(sealed, "gps-old") == "the-old-plain-secret"
    command.downgrade(alembic_config(url), BEFORE)
    assert _column(url, "SELECT secret FROM device WHERE id = 'gps-old'") == "the-old-plain-secret"


def test_migration_seals_existing_secrets_on_sqlite_under_the_demo_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("WASTEFLOW_SECRET_KEY", raising=False)
    _seals_and_unseals(f"sqlite:///{tmp_path / 'old.db'}")
    assert (tmp_path / "old.db.key").exists()


def test_migration_seals_existing_secrets_on_postgresql():
    with scratch_postgres("wf_sealing") as url:
        _seals_and_unseals(url)


def test_migration_on_postgresql_without_a_key_changes_nothing(monkeypatch):
    with scratch_postgres("wf_sealing_nokey") as url:
        upgrade(url, BEFORE)
        _insert_plain_device(url, "gps-old", "the-old-plain-secret")
        monkeypatch.delenv("WASTEFLOW_SECRET_KEY", raising=False)
        with pytest.raises(SecretKeyMissing):
            upgrade(url)
        assert _column(url, "SELECT version_num FROM alembic_version") == BEFORE
        assert _column(url, "SELECT secret FROM device WHERE id = 'gps-old'") == "the-old-plain-secret"
