"""Fixtures for the monitoring tests (both databases, through the `world` fixture)."""

from __future__ import annotations

import pytest

from tests.utils.monitoring import make_env


@pytest.fixture
def env(world, engine, settings):
    return make_env(world, engine, settings)
