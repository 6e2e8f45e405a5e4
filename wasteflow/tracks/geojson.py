"""A trip as a GeoJSON FeatureCollection: fixes, route, sites and zones, stops, findings (pure)."""

from __future__ import annotations

from shapely.geometry import mapping

from wasteflow.detection.model import Place, Thresholds, Trip
from wasteflow.detection.stops import find_stops


def _feature(geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def track_collection(trip: Trip, nearby: list[Place], findings: list[dict], th: Thresholds) -> dict:
    features = [_place(trip.generator_site, "generator"), _place(trip.receiver_site, "receiver")]
    shown = {(False, trip.generator_site.id), (False, trip.receiver_site.id)}
    for place in nearby:
        if (place.is_zone, place.id) not in shown:
            features.append(_place(place, place.kind if place.is_zone else "other_site"))
            shown.add((place.is_zone, place.id))
    if trip.route is not None:
        features.append(_feature(mapping(trip.route), kind="route", corridor_m=trip.corridor_m))
    fixes = sorted(trip.fixes, key=lambda f: (f.ts, f.seq))
    features += [_feature({"type": "Point", "coordinates": [f.lon, f.lat]}, kind="fix", ts=_iso(f.ts), seq=f.seq,
                          speed_kmh=f.speed_kmh, verified=f.verified, via=f.via, device_id=f.device_id)
                 for f in fixes]
    features += [_feature({"type": "Point", "coordinates": [s.lon, s.lat]}, kind="stop", start=_iso(s.start),
                          end=_iso(s.end), duration_s=round(s.duration_s), fixes=s.fix_count)
                 for s in find_stops(fixes, th)] if fixes else []
    features += [_feature(f["location"], kind="finding", id=f["id"], code=f["code"], severity=f["severity"],
                          status=f["status"]) for f in findings if f.get("location")]
    return {"type": "FeatureCollection", "manifest_no": trip.manifest_no, "features": features}


def _place(place: Place, role: str) -> dict:
    return _feature(mapping(place.geometry), kind="zone" if place.is_zone else "site", id=place.id,
                    name=place.name, role=role)
