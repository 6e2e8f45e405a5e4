"""Test fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from WASTEFLOW_TEST_POSTGRES (default: the machine's server at
127.0.0.1:5432). If it cannot be reached the PostgreSQL cases are skipped — except
in CI (``CI=true``), where they fail, so a green run always means both databases.
The same holds for the tests marked ``mosquitto`` and the broker binary.
"""

from __future__ import annotations

import os
import shutil

import pytest
from fastapi.testclient import TestClient

from tests.utils.databases import empty_database, scratch_postgres
from tests.utils.world import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.migrate import upgrade

TEST_SECRET_KEY = "test-only-device-secret-key-0123456789abcdef"
os.environ.setdefault("WASTEFLOW_SECRET_KEY", TEST_SECRET_KEY)
"""PostgreSQL keeps device secrets sealed under WASTEFLOW_SECRET_KEY and refuses to run without it;
every process a test starts inherits this one."""


def pytest_addoption(parser):
    parser.addoption("--databases", default=os.environ.get("WASTEFLOW_TEST_DATABASES", "sqlite,postgresql"),
                     help="comma-separated: sqlite, postgresql")


def pytest_runtest_setup(item):
    """Tests marked ``mosquitto`` start the real broker: skipped where it is not installed,
    except in CI, where a missing broker fails them (a green run means they ran)."""
    if item.get_closest_marker("mosquitto") is None:
        return
    from tests.utils.brokers import MOSQUITTO

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


@pytest.fixture(scope="session")
def postgres_url():
    with scratch_postgres("wasteflow_test") as url:
        upgrade(url)
        yield url
        get_engine(url).dispose()


@pytest.fixture
def db_url(db_kind, request, tmp_path):
    return empty_database(db_kind, request, tmp_path)


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
    return build_world(client, engine)
