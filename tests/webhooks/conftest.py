"""The webhook tests deliver to a real HTTP server on 127.0.0.1: their app allows private addresses
(WASTEFLOW_WEBHOOK_ALLOW_PRIVATE=1) and retries from a short base (WASTEFLOW_WEBHOOK_RETRY_BASE_S)."""

from __future__ import annotations

import pytest

from wasteflow.config import Settings


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, webhook_allow_private=True, webhook_retry_base_s=2.0,
                    webhook_timeout_s=2.0, webhook_concurrency=4)
