"""Pure validation rules for the registry: credit codes, plates, geofences, waste codes.

Each check raises :class:`~wasteflow.errors.RuleViolation` naming the rule and field.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pyproj import Geod
from shapely.geometry import shape
from shapely.validation import explain_validity

from wasteflow.errors import RuleViolation

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
PLATE_PATTERNS = (
    rf"[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{5}}",                 # ordinary: 蒙B12345
    rf"[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[挂学警]",          # trailer, learner, police
    rf"[{PROVINCES}][{_LETTER}](?:[DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])",  # new energy
)

SW_CODE = re.compile(r"^SW\d{2}$")
HW_CODE = re.compile(r"^HW(0[1-9]|[1-4][0-9]|50)( \d{3}-\d{3}-\d{2})?$")
REGION_CODE = re.compile(r"^\d{6}$")
REGION_PREFIX = re.compile(r"^\d{2}(\d{2}){0,2}$")

_GEOD = Geod(ellps="WGS84")


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=False))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def check_credit_code(code: str, field: str = "credit_code") -> str:
    """GB 32100-2015: 18 characters from its alphabet, the last a weighted mod-31 check."""
    code = code.strip().upper()
    if len(code) != 18:
        raise RuleViolation("credit_code_length", field,
                            f"a unified social credit code has 18 characters, this one has {len(code)}")
    bad = [c for c in code if c not in CREDIT_CODE_CHARSET]
    if bad:
        raise RuleViolation("credit_code_charset", field,
                            f"character {bad[0]!r} is not used in unified social credit codes "
                            "(I, O, S, V, Z never are)")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise RuleViolation("credit_code_check", field,
                            f"check character is {code[17]!r}, GB 32100-2015 gives {expected!r}: the code is mistyped")
    return code


def check_plate(plate: str, extra_patterns: tuple[str, ...] = (), field: str = "plate") -> str:
    plate = plate.strip().upper()
    for pattern in PLATE_PATTERNS + extra_patterns:
        if re.fullmatch(pattern, plate):
            return plate
    raise RuleViolation("plate_format", field,
                        f"{plate!r} is not a Chinese plate (like 蒙B12345, or new-energy 蒙BD12345)")


def check_waste_code(code: str, field: str = "waste_code") -> str:
    if SW_CODE.match(code) or HW_CODE.match(code):
        return code
    raise RuleViolation("waste_code_format", field,
                        f"{code!r} is neither an SWnn general industrial code nor HW01–HW50 "
                        "(optionally with its 8-digit sub-code, as in 'HW08 900-249-08')")


def check_region_code(code: str, field: str = "region_code") -> str:
    if not REGION_CODE.match(code):
        raise RuleViolation("region_code_format", field,
                            "a region code is a 6-digit administrative division code, like 150202")
    return code


def check_region_prefix(prefix: str, field: str = "regions") -> str:
    if not REGION_PREFIX.match(prefix):
        raise RuleViolation("region_prefix_format", field,
                            f"{prefix!r}: a region prefix has 2 (province), 4 (city) or 6 (district) digits")
    return prefix


def check_geofence(geojson: Any, min_area_m2: float, max_area_m2: float, field: str = "geofence"):
    """A closed, non-self-intersecting Polygon or MultiPolygon of plausible size; returns its shapely shape."""
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise RuleViolation("geofence_type", field, "a geofence is a GeoJSON Polygon or MultiPolygon")
    polygons = geojson.get("coordinates")
    if geojson["type"] == "Polygon":
        polygons = [polygons]
    if not isinstance(polygons, list) or not polygons:
        raise RuleViolation("geofence_coordinates", field, "coordinates are missing or empty")
    for polygon in polygons:
        _check_rings(polygon, field)
    try:
        geometry = shape(geojson)
    except (ValueError, TypeError) as exc:  # e.g. positions mixing [lon, lat] and [lon, lat, alt]
        raise RuleViolation("geofence_invalid", field, f"the polygon cannot be built: {exc}") from None
    if not geometry.is_valid:
        raise RuleViolation("geofence_invalid", field,
                            f"the polygon is not valid ({explain_validity(geometry)}): rings must not cross themselves")
    area = abs(_GEOD.geometry_area_perimeter(geometry)[0])
    if not min_area_m2 <= area <= max_area_m2:
        raise RuleViolation("geofence_size", field,
                            f"area {area:,.0f} m² is implausible for a site or zone "
                            f"(allowed {min_area_m2:,.0f}–{max_area_m2:,.0f} m²); are the coordinates [lon, lat]?")
    return geometry


def _check_rings(polygon: Any, field: str) -> None:
    if not isinstance(polygon, list) or not polygon:
        raise RuleViolation("geofence_coordinates", field, "a polygon is a list of linear rings")
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            raise RuleViolation("geofence_ring", field, "a linear ring needs at least 4 positions")
        for position in ring:
            _check_position(position, field)
        if list(ring[0][:2]) != list(ring[-1][:2]):
            raise RuleViolation("geofence_not_closed", field, "a linear ring must end where it starts (closed)")


def _check_position(position: Any, field: str) -> None:
    ok = (isinstance(position, list) and len(position) in (2, 3)
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in position))
    if not ok:
        raise RuleViolation("geofence_position", field, f"{position!r} is not a [lon, lat] position")
    lon, lat = position[0], position[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise RuleViolation("geofence_position", field,
                            f"[{lon}, {lat}] is outside [-180..180, -90..90] (order is [lon, lat])")


def check_route(geojson: Any, field: str = "route"):
    """A planned route: a GeoJSON LineString of at least two distinct positions."""
    if not isinstance(geojson, dict) or geojson.get("type") != "LineString":
        raise RuleViolation("route_type", field, "a route is a GeoJSON LineString")
    coords = geojson.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise RuleViolation("route_coordinates", field, "a route needs at least two positions")
    for position in coords:
        _check_position(position, field)
    try:
        line = shape(geojson)
    except (ValueError, TypeError) as exc:  # e.g. positions mixing [lon, lat] and [lon, lat, alt]
        raise RuleViolation("route_invalid", field, f"the line cannot be built: {exc}") from None
    if line.length == 0:
        raise RuleViolation("route_degenerate", field, "a route's positions must not all be the same point")
    return line
