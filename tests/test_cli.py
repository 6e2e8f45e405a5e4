"""The command line, run as a user would: migrate, admin bootstrap, --help."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.migrate import alembic_config


def cli(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    if database_url:
        env["WASTEFLOW_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "wasteflow.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_help_lists_the_commands():
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("demo", "serve", "bridge", "migrate", "admin"):
        assert command in result.stdout, command
    admin = cli("admin", "--help")
    assert admin.returncode == 0 and "bootstrap" in admin.stdout


def test_migrate_then_bootstrap_gives_a_working_admin_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrated = cli("migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    assert "current schema" in migrated.stdout
    engine = create_engine(url)
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
    engine.dispose()
    assert cli("migrate", database_url=url).returncode == 0  # idempotent

    boot = cli("admin", "bootstrap", database_url=url)
    assert boot.returncode == 0, boot.stderr
    lines = boot.stdout.strip().splitlines()
    key = lines[-1]
    assert key.startswith("wf_") and key == key.strip() and " " not in key and len(key) >= 40
    second = cli("admin", "bootstrap", database_url=url).stdout.strip().splitlines()[-1]
    assert second != key

    with TestClient(create_app(Settings(database_url=url))) as client:
        headers = {"Authorization": f"Bearer {key}"}
        created = client.post("/v1/regulators", json={"name": "Baotou", "regions": ["1502"]}, headers=headers)
        assert created.status_code == 201, created.text
        issued = client.post(f"/v1/regulators/{created.json()['id']}/keys", json={}, headers=headers)
        assert issued.status_code == 201, issued.text
        verify = client.get("/v1/ledger/verify", headers=headers).json()
        assert (verify["ok"], verify["entries"]) == (True, 0)
        assert client.post("/v1/regulators", json={"name": "x", "regions": ["15"]},
                           headers={"Authorization": "Bearer " + key[:-1]}).status_code == 401
    get_engine(url).dispose()


def test_bootstrap_on_a_fresh_database_migrates_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    boot = cli("admin", "bootstrap", database_url=url)
    assert boot.returncode == 0, boot.stderr
    key = boot.stdout.strip().splitlines()[-1]
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get("/v1/waste-categories", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200 and len(response.json()) == 17
    get_engine(url).dispose()


def test_the_scale_gateway_documents_its_plate_port_and_refuses_half_a_configuration(tmp_path):
    result = cli("gateway", "scale", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "127.0.0.1:8780" in text and "/plate" in text and "xk3190-a9" in text and "toledo" in text
    no_secret = cli("gateway", "scale", "--device", "wb-1", "--tcp", "127.0.0.1:4001", "--format", "toledo")
    assert no_secret.returncode != 0 and "secret" in no_secret.stderr
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    both = cli("gateway", "scale", "--device", "wb-1", "--tcp", "127.0.0.1:4001", "--serial", "/dev/ttyUSB0",
               "--format", "toledo", "--secret-file", str(secret))
    assert both.returncode != 0 and "either --serial" in " ".join(both.stderr.split())
    bad_format = cli("gateway", "scale", "--device", "wb-1", "--tcp", "127.0.0.1:4001", "--format", "a12")
    assert bad_format.returncode != 0 and "--format" in bad_format.stderr
