"""Request and response shapes of regulators and API keys."""

from __future__ import annotations

from pydantic import BaseModel, Field

from wasteflow.schemas import Strict


class RegulatorCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Baotou enforcement"])
    regions: list[str] = Field(min_length=1, examples=[["1502"]],
                               description="region-code prefixes: 2 digits a province, 4 a city, 6 a district")


class KeyIssued(BaseModel):
    key: str = Field(description="Shown once; only its hash is stored.")
