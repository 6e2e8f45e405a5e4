"""Registry routes: thin, over :mod:`wasteflow.registry.service`."""

from typing import Annotated

from fastapi import APIRouter, Depends

from wasteflow.api.deps import DbDep, Paging, PrincipalDep, SettingsDep
from wasteflow.api.problems import responses
from wasteflow.auth.schemas import KeyIssued
from wasteflow.paging import PageRequest
from wasteflow.registry import service
from wasteflow.registry.schemas import (
    DeviceCreate,
    DeviceIssued,
    DevicePage,
    DevicePublic,
    EnterpriseCreate,
    EnterprisePage,
    EnterprisePublic,
    SiteCreate,
    SitePage,
    VehicleCreate,
    VehiclePage,
    VehiclePublic,
    WasteCategoryList,
    WasteCategoryPublic,
    ZoneCreate,
    ZonePage,
)
from wasteflow.schemas import Created, EmptyBody

router = APIRouter(prefix="/v1", tags=["registry"], responses=responses(401, 403, 404, 409, 422))

REGISTRY_PAGE_SIZE = 100
"""api.md: registry lists answer 100 rows when no ``limit`` is given (at most ``page_size_max``)."""
RegistryPage = Annotated[PageRequest, Depends(Paging(default=REGISTRY_PAGE_SIZE))]


@router.post("/enterprises", status_code=201, response_model=Created)
def register_enterprise(data: EnterpriseCreate, session: DbDep, principal: PrincipalDep):
    return Created(id=service.register_enterprise(session, principal, data).id)


@router.get("/enterprises", response_model=EnterprisePage)
def list_enterprises(session: DbDep, principal: PrincipalDep, page: RegistryPage):
    return EnterprisePage.of(*service.list_enterprises(session, principal, page))


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic)
def get_enterprise(enterprise_id: int, session: DbDep, principal: PrincipalDep):
    return EnterprisePublic.model_validate(service.visible_enterprise(session, principal, enterprise_id),
                                           from_attributes=True)


@router.post("/enterprises/{enterprise_id}/keys", status_code=201, response_model=KeyIssued)
def issue_enterprise_key(enterprise_id: int, session: DbDep, principal: PrincipalDep, data: EmptyBody | None = None):
    return KeyIssued(key=service.issue_enterprise_key(session, principal, enterprise_id))


@router.post("/sites", status_code=201, response_model=Created)
def register_site(data: SiteCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    return Created(id=service.register_site(session, principal, data, settings).id)


@router.get("/sites", response_model=SitePage)
def list_sites(session: DbDep, principal: PrincipalDep, page: RegistryPage):
    return SitePage.of(*service.list_sites(session, principal, page))


@router.post("/vehicles", status_code=201, response_model=VehiclePublic)
def register_vehicle(data: VehicleCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    return VehiclePublic.model_validate(service.register_vehicle(session, principal, data, settings),
                                        from_attributes=True)


@router.get("/vehicles", response_model=VehiclePage)
def list_vehicles(session: DbDep, principal: PrincipalDep, page: RegistryPage):
    return VehiclePage.of(*service.list_vehicles(session, principal, page))


@router.post("/devices", status_code=201, response_model=DeviceIssued)
def register_device(data: DeviceCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    device, secret = service.register_device(session, principal, data, settings)
    return DeviceIssued.model_validate({**device.model_dump(), "secret": secret})


@router.post("/devices/{device_id:path}/secret", response_model=DeviceIssued)
def rotate_device_secret(device_id: str, session: DbDep, principal: PrincipalDep, settings: SettingsDep,
                         data: EmptyBody | None = None):
    """A new secret, shown once; the old one still verifies until ``previous_secret_until``."""
    device, secret = service.rotate_device_secret(session, principal, device_id, settings)
    return DeviceIssued.model_validate({**device.model_dump(), "secret": secret})


@router.post("/devices/{device_id:path}/disable", response_model=DevicePublic)
def disable_device(device_id: str, session: DbDep, principal: PrincipalDep, data: EmptyBody | None = None):
    return DevicePublic.model_validate(service.set_device_enabled(session, principal, device_id, False).model_dump())


@router.post("/devices/{device_id:path}/enable", response_model=DevicePublic)
def enable_device(device_id: str, session: DbDep, principal: PrincipalDep, data: EmptyBody | None = None):
    return DevicePublic.model_validate(service.set_device_enabled(session, principal, device_id, True).model_dump())


@router.get("/devices", response_model=DevicePage)
def list_devices(session: DbDep, principal: PrincipalDep, page: RegistryPage):
    """The devices bound to vehicles and sites the caller may see, by device id; never their secrets."""
    return DevicePage.of(*service.list_devices(session, principal, page))


@router.post("/zones", status_code=201, response_model=Created)
def register_zone(data: ZoneCreate, session: DbDep, principal: PrincipalDep, settings: SettingsDep):
    return Created(id=service.register_zone(session, principal, data, settings).id)


@router.get("/zones", response_model=ZonePage)
def list_zones(session: DbDep, principal: PrincipalDep, page: RegistryPage):
    return ZonePage.of(*service.list_zones(session, principal, page))


@router.get("/waste-categories", response_model=WasteCategoryList)
def list_waste_categories(session: DbDep, _principal: PrincipalDep):
    return WasteCategoryList([WasteCategoryPublic.model_validate(c, from_attributes=True)
                              for c in service.list_categories(session)])
