"""Request and response shapes of the registry (the API's contract: field names are pinned)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from wasteflow.paging import Page
from wasteflow.schemas import Strict


class EnterpriseCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(examples=["91350100M000100Y43"])
    roles: list[Literal["generator", "transporter", "receiver"]] = Field(min_length=1)
    region_code: str = Field(examples=["150202"])


class EnterprisePublic(BaseModel):
    id: int
    name: str
    credit_code: str
    roles: list[str]
    region_code: str


class SiteCreate(Strict):
    enterprise_id: int
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["plant", "storage", "utilisation", "disposal", "landfill", "transfer", "parking"]
    geofence: dict[str, Any]
    permitted_codes: list[str] = Field(default_factory=list)
    annual_capacity_kg: int | None = Field(default=None, ge=0, le=10**15)


class SitePublic(BaseModel):
    id: int
    enterprise_id: int
    name: str
    kind: str
    geofence: dict[str, Any]
    permitted_codes: list[str]
    annual_capacity_kg: int | None


class VehicleCreate(Strict):
    transporter_id: int
    plate: str = Field(examples=["蒙B12345"])
    tare_kg: int = Field(gt=0, le=100_000)
    max_load_kg: int = Field(gt=0, le=200_000)


class VehiclePublic(BaseModel):
    id: int
    transporter_id: int
    plate: str
    tare_kg: int
    max_load_kg: int


class LoadItem(Strict):
    """Where a JT/T 808 terminal carries the measured load (the item id differs by vendor)."""

    id: int = Field(ge=0, le=255, examples=[85])
    bytes: int = Field(ge=1, le=8, examples=[4])
    unit_kg: float = Field(gt=0, le=1000, examples=[0.1])


class DeviceCreate(Strict):
    id: str = Field(min_length=1, max_length=80, examples=["gps-0001"])
    kind: Literal["gps", "load_cell", "weighbridge"]
    vehicle_plate: str | None = None
    site_id: int | None = None
    require_signature: bool = Field(default=True, description="JT/T 808 terminals and OsmAnd phones cannot sign: "
                                                              "false for them (their default)")
    protocol: Literal["jt808", "osmand"] | None = Field(
        default=None, description="jt808: a JT/T 808 terminal, reporting through `wasteflow gateway jt808`; "
                                  "osmand: a phone (OsmAnd, Traccar Client) reporting through `wasteflow gateway "
                                  "http`, registered as osmand:{its id} (the default for such ids)")
    terminal_id: str | None = Field(default=None, examples=["013912345678"],
                                    description="the terminal's phone number (the JT/T 808 header's BCD digits)")
    load_item: LoadItem | None = None


class DevicePublic(BaseModel):
    id: str
    kind: str
    vehicle_id: int | None
    site_id: int | None
    require_signature: bool
    protocol: str | None = None
    terminal_id: str | None = Field(default=None, description="without leading zeros")
    load_item: dict[str, Any] | None = None
    disabled_at: datetime | None = Field(default=None, description="set: the device is disabled, its messages "
                                                                   "are quarantined as device_disabled")
    previous_secret_until: datetime | None = Field(default=None, description="after a rotation: the old secret "
                                                                             "verifies until then")


class DeviceIssued(DevicePublic):
    secret: str = Field(description="Shown once: keep it in the device. It signs every message.")


class ZoneCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["rest_area", "restricted"]
    geofence: dict[str, Any]
    region_code: str | None = Field(None, pattern=r"^[0-9]{2,6}$", examples=["1502"],
                                    description="within the regulator's regions; default: its first region prefix")


class ZonePublic(BaseModel):
    id: int
    name: str
    kind: str
    geofence: dict[str, Any]
    region_code: str


class WasteCategoryPublic(BaseModel):
    code: str
    name: str
    hazardous: bool
    tolerance_pct: float | None


class WasteCategoryList(RootModel[list[WasteCategoryPublic]]):
    """Every category, in code order (a short, fixed list: not paged)."""


class EnterprisePage(Page[EnterprisePublic]):
    pass


class SitePage(Page[SitePublic]):
    pass


class VehiclePage(Page[VehiclePublic]):
    pass


class DevicePage(Page[DevicePublic]):
    pass


class ZonePage(Page[ZonePublic]):
    pass
