"""Request and response shapes of regulators and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from wasteflow.paging import Page
from wasteflow.schemas import Strict


class RegulatorCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Baotou enforcement"])
    regions: list[str] = Field(min_length=1, examples=[["1502"]],
                               description="region-code prefixes: 2 digits a province, 4 a city, 6 a district")


class KeyIssued(BaseModel):
    key: str = Field(description="Shown once; only its hash is stored.")


class KeyPublic(BaseModel):
    """A key as listed: never its value, which only its creator saw, once."""

    id: int
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    owner_kind: str = Field(examples=["enterprise"], description="admin | regulator | enterprise")
    enterprise_id: int | None
    regulator_id: int | None
    created_at: datetime
    revoked_at: datetime | None = Field(description="set: the key answers 401 since then")


class KeyPage(Page[KeyPublic]):
    pass
