"""Test fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from WASTEFLOW_TEST_POSTGRES (default: the machine's server at
127.0.0.1:5432). If it cannot be reached the PostgreSQL cases are skipped — except
in CI (``CI=true``), where they fail, so a green run always means both databases.
The same holds for the tests marked ``mosquitto`` and the broker binary.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.migrate import upgrade

POSTGRES_ADMIN = os.environ.get("WASTEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
KEEP_TABLES = {"alembic_version", "waste_category", "ledger_head"}


def pytest_addoption(parser):
    parser.addoption("--databases", default=os.environ.get("WASTEFLOW_TEST_DATABASES", "sqlite,postgresql"),
                     help="comma-separated: sqlite, postgresql")


def pytest_runtest_setup(item):
    """Tests marked ``mosquitto`` start the real broker: skipped where it is not installed,
    except in CI, where a missing broker fails them (a green run means they ran)."""
    if item.get_closest_marker("mosquitto") is None:
        return
    from tests.brokers import MOSQUITTO

    if shutil.which(MOSQUITTO) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{MOSQUITTO} is not installed, and CI must run the broker tests")
        pytest.skip(f"{MOSQUITTO} is not installed")


def pytest_generate_tests(metafunc):
    if "db_kind" in metafunc.fixturenames:
        kinds = [k.strip() for k in metafunc.config.getoption("--databases").split(",") if k.strip()]
        metafunc.parametrize("db_kind", kinds, scope="session")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the block (its SQLAlchemy URL), dropped afterwards.
    Unreachable PostgreSQL skips the test — and fails it in CI."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable in CI ({POSTGRES_ADMIN}): {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgres_url():
    with scratch_postgres("wasteflow_test") as url:
        upgrade(url)
        yield url
        get_engine(url).dispose()


def empty_database(db_kind: str, request, directory) -> str:
    """A migrated, empty database: a copy of the SQLite template in ``directory``, or the
    session's PostgreSQL database wiped clean. For fixtures of any scope."""
    if db_kind == "sqlite":
        path = directory / "wasteflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def db_url(db_kind, request, tmp_path):
    return empty_database(db_kind, request, tmp_path)


def _truncate(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        wipe = [t for t in tables if t not in KEEP_TABLES]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in wipe) + " RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE ledger_head SET seq = 0, hash = :h WHERE id = 1"), {"h": "0" * 64})


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def engine(settings):
    return get_engine(settings.database_url)


@pytest.fixture
def world(client, engine):
    from tests.support import build_world
    return build_world(client, engine)
