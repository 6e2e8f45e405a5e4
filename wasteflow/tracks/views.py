"""``GET /v1/manifests/{no}/track``: the trip as GeoJSON, for maps and for evidence."""

from fastapi import APIRouter
from shapely.geometry import MultiPoint

from wasteflow.api.deps import DbDep, MonitorDep, PrincipalDep
from wasteflow.api.media import GeoJSONResponse
from wasteflow.api.problems import responses
from wasteflow.findings import service as findings
from wasteflow.manifests.service import get_visible
from wasteflow.monitoring.loading import load_trip
from wasteflow.tracks.geojson import track_collection
from wasteflow.tracks.schemas import TrackCollection

router = APIRouter(prefix="/v1/manifests", tags=["manifests"], responses=responses(401, 404, 422))


@router.get("/{manifest_no}/track", response_model=TrackCollection, response_class=GeoJSONResponse,
            responses={200: {"description": "A FeatureCollection; each feature's properties.kind is fix, route, "
                                            "site, zone, stop or finding"}})
def get_track(manifest_no: str, session: DbDep, principal: PrincipalDep, monitor: MonitorDep):
    manifest = get_visible(session, principal, manifest_no)
    trip = load_trip(session, manifest, monitor.places)
    nearby = []
    if trip.fixes:
        hull = MultiPoint([(f.lon, f.lat) for f in trip.fixes]).envelope
        nearby = [p for p in monitor.places.index.places if p.geometry.intersects(hull)]
    public = [findings.public(f) for f in findings.for_manifest(session, manifest_no)]
    return track_collection(trip, nearby, public, monitor.thresholds)
