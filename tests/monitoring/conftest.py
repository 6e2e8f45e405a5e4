"""Fixtures for the monitoring tests (both databases, through the `world` fixture)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mon_support import make_env  # noqa: E402


@pytest.fixture
def env(world, engine, settings):
    return make_env(world, engine, settings)
