"""``GET /v1/manifests/{no}/track``: the trip as GeoJSON, for maps and for evidence."""

from fastapi import APIRouter, Depends
from shapely.geometry import MultiPoint

from wasteflow.api.deps import Db, get_db, get_principal, get_settings
from wasteflow.api.problems import responses
from wasteflow.auth.service import Principal
from wasteflow.config import Settings
from wasteflow.findings import service as findings
from wasteflow.manifests.service import get_visible
from wasteflow.monitoring.trips import PlaceDirectory, load_trip, thresholds
from wasteflow.tracks.geojson import track_collection

router = APIRouter(prefix="/v1/manifests", tags=["manifests"], responses=responses(401, 404))
_places = PlaceDirectory()


@router.get("/{manifest_no}/track", response_model=None, responses={200: {
    "content": {"application/geo+json": {}},
    "description": "A FeatureCollection; each feature's properties.kind is fix, route, site, zone, stop or finding"}})
def get_track(manifest_no: str, principal: Principal = Depends(get_principal), db: Db = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> dict:
    with db.reading() as session:
        manifest = get_visible(session, principal, manifest_no)
        trip = load_trip(session, manifest, _places)
        nearby = []
        if trip.fixes:
            hull = MultiPoint([(f.lon, f.lat) for f in trip.fixes]).envelope
            nearby = [p for p in _places.index.places if p.geometry.intersects(hull)]
        public = [findings.public(f) for f in findings.for_manifest(session, manifest_no)]
        return track_collection(trip, nearby, public, thresholds(settings))
