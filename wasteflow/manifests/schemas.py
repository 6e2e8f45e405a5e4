"""Request and response shapes of manifests (field names are the contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from wasteflow.findings.schemas import FindingPublic
from wasteflow.paging import Page
from wasteflow.schemas import Strict
from wasteflow.tickets.schemas import TicketPublic
from wasteflow.tracks.schemas import TripSummary

ManifestStatus = Literal["filed", "dispatched", "in_transit", "arrived", "received", "reconciled", "rejected",
                         "cancelled"]


FollowUpKind = Literal["return", "redirect"]
MAX_LEGS = 5


class LegCreate(Strict):
    """A later leg of the transport: the transporter that takes the load over, and its vehicle."""

    transporter_id: int
    vehicle_plate: str = Field(examples=["蒙B23456"], max_length=32)


class ManifestCreate(Strict):
    generator_site_id: int
    transporter_id: int
    vehicle_plate: str = Field(examples=["蒙B12345"])
    receiver_site_id: int
    waste_code: str = Field(examples=["SW02"])
    declared_kg: int = Field(examples=[30000])
    planned_departure: AwareDatetime | None = None
    planned_arrival: AwareDatetime | None = None
    route: dict[str, Any] | None = Field(default=None, description="GeoJSON LineString, [lon, lat] positions")
    corridor_m: float | None = Field(default=None, description="route corridor half-width in metres (default 500)")
    at: AwareDatetime | None = Field(default=None, description="event time of filing (default: now)")
    legs: list[LegCreate] | None = Field(default=None, description="legs 2-5 of a multi-leg transport, in order")
    parent_manifest_no: str | None = Field(default=None, max_length=40,
                                           description="a follow-up of a refusal: the manifest it carries on")
    kind: FollowUpKind | None = Field(default=None, description="a follow-up's kind: return or redirect")


class HandoverSignature(Strict):
    leg: int = Field(ge=2, le=MAX_LEGS, description="the leg that takes the load over")
    at: AwareDatetime | None = None
    site_id: int | None = Field(default=None, description="the transfer station or storage yard, if any")
    ticket_no: str | None = Field(default=None, max_length=64,
                                  description="the transfer site's weighing of the next leg's vehicle leaving")


class DispatchSignature(Strict):
    departure_ticket_no: str | None = Field(default=None, max_length=64)
    at: AwareDatetime | None = None


class ReceiveSignature(Strict):
    accepted_kg: int = Field(ge=0, le=1_000_000)
    refused_kg: int | None = Field(default=None, ge=0, le=1_000_000, description="a partial refusal")
    refusal_reason: str | None = Field(default=None, min_length=1, max_length=1000)
    arrival_ticket_no: str | None = Field(default=None, max_length=64)
    at: AwareDatetime | None = None


class RejectSignature(Strict):
    reason: str = Field(min_length=1, max_length=1000)
    at: AwareDatetime | None = None


class CancelSignature(Strict):
    reason: str | None = Field(default=None, max_length=1000)
    at: AwareDatetime | None = None


class FiledManifest(BaseModel):
    manifest_no: str
    status: str


class LegPublic(BaseModel):
    leg: int
    transporter_id: int
    vehicle_plate: str
    status: Literal["planned", "current", "done"]
    started_at: datetime | None = Field(description="dispatch (leg 1) or the handover to this leg")
    handover_site_id: int | None = None
    handover_ticket_no: str | None = None


class FollowUpPublic(BaseModel):
    manifest_no: str
    kind: FollowUpKind
    status: str
    declared_kg: int
    receiver_site_id: int


class ManifestPublic(BaseModel):
    manifest_no: str
    status: ManifestStatus
    region_code: str
    generator_id: int
    generator_site_id: int
    transporter_id: int
    vehicle_plate: str
    receiver_id: int
    receiver_site_id: int
    waste_code: str
    declared_kg: int
    planned_departure: datetime | None
    planned_arrival: datetime | None
    route: dict[str, Any] | None
    corridor_m: float
    filed_at: datetime
    dispatched_at: datetime | None
    in_transit_at: datetime | None
    arrived_at: datetime | None
    received_at: datetime | None
    rejected_at: datetime | None
    cancelled_at: datetime | None
    reconciled_at: datetime | None
    accepted_kg: int | None
    refused_kg: int | None = None
    refusal_reason: str | None = None
    reject_reason: str | None
    departure_ticket_no: str | None
    arrival_ticket_no: str | None
    departure_ticket: TicketPublic | None = None
    arrival_ticket: TicketPublic | None = None
    kind: Literal["primary", "return", "redirect"] = "primary"
    parent_manifest_no: str | None = None
    version: int = 1
    current_leg: int = 1
    legs: list[LegPublic] = Field(default_factory=list, description="every leg, leg 1 first (single manifest)")
    follow_ups: list[FollowUpPublic] = Field(default_factory=list,
                                             description="follow-ups of a refusal the caller may see")
    trip: TripSummary | None = Field(default=None, description="in the single manifest's answer, not in lists")
    findings: list[FindingPublic] = Field(default_factory=list)


class ManifestPage(Page[ManifestPublic]):
    pass
