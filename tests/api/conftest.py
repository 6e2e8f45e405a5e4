"""A world shared by a whole module, for scenarios that build on (or never change) the same data.

Modules using ``shared_world`` must not also use the per-test ``world``/``client``: on PostgreSQL
the per-test fixture truncates the database the shared world lives in.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.databases import empty_database
from tests.utils.world import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine


@pytest.fixture(scope="module")
def shared_world(db_kind, request, tmp_path_factory):
    url = empty_database(db_kind, request, tmp_path_factory.mktemp("shared"))
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield build_world(client, get_engine(url))
