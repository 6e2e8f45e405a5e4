"""A world shared by a whole module, for scenarios that build on (or never change) the same data.

Modules using ``shared_world`` must not also use the per-test ``world``/``client``: on PostgreSQL
the per-test fixture truncates the database the shared world lives in.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from tests.conftest import _truncate
from tests.support import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine


@pytest.fixture(scope="module")
def shared_world(db_kind, request, tmp_path_factory):
    if db_kind == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "wasteflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate(url)
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield build_world(client, get_engine(url))
