"""Registry routes: thin, over :mod:`wasteflow.registry.service`."""

from fastapi import APIRouter, Depends

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.auth.views import EmptyBody
from wasteflow.config import Settings
from wasteflow.registry import service
from wasteflow.registry.schemas import (
    Created,
    DeviceCreate,
    DeviceIssued,
    EnterpriseCreate,
    EnterprisePublic,
    KeyIssued,
    SiteCreate,
    SitePublic,
    VehicleCreate,
    VehiclePublic,
    WasteCategoryPublic,
    ZoneCreate,
    ZonePublic,
)

router = APIRouter(prefix="/v1", tags=["registry"], responses=responses(401, 403, 404, 409, 422))


@router.post("/enterprises", status_code=201, response_model=Created)
def register_enterprise(data: EnterpriseCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.transaction() as session:
        return Created(id=service.register_enterprise(session, principal, data).id)


@router.get("/enterprises", response_model=list[EnterprisePublic])
def list_enterprises(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return [EnterprisePublic.model_validate(e, from_attributes=True) for e in service.list_enterprises(session, principal)]


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic)
def get_enterprise(enterprise_id: int, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return EnterprisePublic.model_validate(service.visible_enterprise(session, principal, enterprise_id),
                                               from_attributes=True)


@router.post("/enterprises/{enterprise_id}/keys", status_code=201, response_model=KeyIssued)
def issue_enterprise_key(enterprise_id: int, data: EmptyBody | None = None,
                         principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.transaction() as session:
        return KeyIssued(key=service.issue_enterprise_key(session, principal, enterprise_id))


@router.post("/sites", status_code=201, response_model=Created)
def register_site(data: SiteCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                  settings: Settings = Depends(get_settings)):
    with db.transaction() as session:
        return Created(id=service.register_site(session, principal, data, settings).id)


@router.get("/sites", response_model=list[SitePublic])
def list_sites(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return [SitePublic.model_validate(s, from_attributes=True) for s in service.list_sites(session, principal)]


@router.post("/vehicles", status_code=201, response_model=VehiclePublic)
def register_vehicle(data: VehicleCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                     settings: Settings = Depends(get_settings)):
    with db.transaction() as session:
        return VehiclePublic.model_validate(service.register_vehicle(session, principal, data, settings),
                                            from_attributes=True)


@router.get("/vehicles", response_model=list[VehiclePublic])
def list_vehicles(principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return [VehiclePublic.model_validate(v, from_attributes=True) for v in service.list_vehicles(session, principal)]


@router.post("/devices", status_code=201, response_model=DeviceIssued)
def register_device(data: DeviceCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.transaction() as session:
        device, secret = service.register_device(session, principal, data)
        return DeviceIssued(id=device.id, kind=device.kind, vehicle_id=device.vehicle_id, site_id=device.site_id,
                            require_signature=device.require_signature, secret=secret)


@router.post("/zones", status_code=201, response_model=Created)
def register_zone(data: ZoneCreate, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
                  settings: Settings = Depends(get_settings)):
    with db.transaction() as session:
        return Created(id=service.register_zone(session, principal, data, settings).id)


@router.get("/zones", response_model=list[ZonePublic])
def list_zones(_principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return [ZonePublic.model_validate(z, from_attributes=True) for z in service.list_zones(session)]


@router.get("/waste-categories", response_model=list[WasteCategoryPublic])
def list_waste_categories(_principal: Principal = Depends(get_principal), db: Db = Depends(get_db)):
    with db.reading() as session:
        return [WasteCategoryPublic.model_validate(c, from_attributes=True) for c in service.list_categories(session)]
