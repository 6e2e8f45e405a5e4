"""Request parameters and response shapes of the regulator's reports: flows, capacity, declarations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel

FromBound = Annotated[str | None, Query(alias="from", description="a local date (2026-11-01) or an RFC 3339 time; "
                                                                  "inclusive")]
ToBound = Annotated[str | None, Query(alias="to", description="a local date (inclusive: the whole day) or an "
                                                              "RFC 3339 time (exclusive)")]
RegionPrefix = Annotated[str | None, Query(description="a region-code prefix: the generator's or the receiver's "
                                                       "region lies under it")]
Period = Literal["day", "month", "year"]


class FlowItem(BaseModel):
    period: str
    generator_id: int
    receiver_id: int
    receiver_site_id: int
    waste_code: str
    manifests: int
    departed_kg: int
    received_kg: int
    accepted_kg: int
    kind: Literal["primary", "return", "redirect"] = "primary"
    refused_kg: int = 0
    parent_manifest_nos: list[str] = []


class FlowPage(BaseModel):
    """``GET /v1/flows``: every row at once (rows are groups, not manifests), with the totals on the road
    and in dispute."""

    items: list[FlowItem]
    in_transit_kg: int
    in_transit_manifests: int
    disputed_kg: int
    disputed_manifests: int
    refused_kg: int = 0
    refused_manifests: int = 0
    period: Period
    timezone: str


class CapacityItem(BaseModel):
    receiver_site_id: int
    site_name: str
    receiver_id: int
    receiver_name: str
    region_code: str
    year: int
    annual_capacity_kg: int | None
    manifests: int
    accepted_kg: int
    remaining_kg: int | None
    share_used: float | None
    exceeded: bool


class CapacityReport(BaseModel):
    year: int
    timezone: str
    items: list[CapacityItem]


class DeclaredItem(BaseModel):
    generator_id: int
    generator_name: str
    region_code: str
    manifests: int
    declared_kg: int
    departed_kg: int
    accepted_kg: int
    received_manifests: int
    without_departure_ticket: int
    departed_minus_declared_kg: int


class DeclaredReport(BaseModel):
    timezone: str
    items: list[DeclaredItem]
