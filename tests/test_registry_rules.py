"""Pure unit tests of wasteflow.registry.rules: credit codes, plates, waste codes, regions, geofences, routes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasteflow.errors import RuleViolation
from wasteflow.registry import rules

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def independent_check_char(body: str) -> str:
    """GB 32100-2015 computed from scratch: weights 3^i mod 31, check = (31 - sum mod 31) mod 31."""
    total = sum(CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return CHARSET[(31 - total % 31) % 31]


def rule_of(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(RuleViolation) as caught:
        call(*args, **kwargs)
    return caught.value.rule, caught.value.field


# --- credit codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "91110108551385082Q"])
def test_known_valid_credit_codes(code):
    assert independent_check_char(code[:17]) == code[17]
    assert rules.credit_code_check_char(code[:17]) == code[17]
    assert rules.check_credit_code(code) == code
    assert rules.check_credit_code(" " + code.lower() + " ") == code


def test_weights_are_powers_of_three():
    assert rules.CREDIT_CODE_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert rules.CREDIT_CODE_CHARSET == CHARSET and len(CHARSET) == 31


@pytest.mark.parametrize("code, rule", [
    ("91350100M000100Y44", "credit_code_check"),
    ("911100001000013428", "credit_code_check"),
    ("91350100M000100Y4", "credit_code_length"),
    ("91350100M000100Y433", "credit_code_length"),
    ("", "credit_code_length"),
    ("91350100M0001O0Y43", "credit_code_charset"),  # the letter O
    ("91350100M0001I0Y43", "credit_code_charset"),
    ("9135010 M000100Y43", "credit_code_charset"),
    ("91350100M000100Y4Z", "credit_code_charset"),
    ("91350100M00010。Y43", "credit_code_charset"),
])
def test_bad_credit_codes(code, rule):
    assert rule_of(rules.check_credit_code, code) == (rule, "credit_code")


def test_check_char_can_be_zero():
    # find a body whose check character is '0' (31 - 0 wraps to 0) and make sure it round-trips
    for n in range(10_000):
        body = f"9115020000{n:07d}"
        if rules.credit_code_check_char(body) == "0":
            assert rules.check_credit_code(body + "0") == body + "0"
            assert independent_check_char(body) == "0"
            return
    pytest.fail("no body with check character 0 found")


body17 = st.text(alphabet=CHARSET, min_size=17, max_size=17)


@settings(max_examples=300, deadline=None)
@given(body=body17, position=st.integers(0, 17), replacement=st.sampled_from(CHARSET))
def test_any_body_passes_and_any_single_change_fails(body, position, replacement):
    code = body + rules.credit_code_check_char(body)
    assert rules.credit_code_check_char(body) == independent_check_char(body)
    assert rules.check_credit_code(code) == code
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1:]
    # a mod-31 check with weights coprime to 31 catches every single-character substitution
    assert rule_of(rules.check_credit_code, changed) == ("credit_code_check", "credit_code")


@settings(max_examples=100, deadline=None)
@given(body=body17, i=st.integers(0, 16))
def test_adjacent_transpositions_are_caught(body, i):
    code = body + rules.credit_code_check_char(body)
    if code[i] == code[i + 1]:
        return
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    assert rule_of(rules.check_credit_code, swapped)[0] == "credit_code_check"


# --- plates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("plate", ["蒙B12345", "京A8888A", "粤BD12345", "粤BFA1234", "蒙B12345D", "沪A12345F",
                                   "蒙BA1234", "京A1234学", "蒙B1234挂", " 蒙b12345 "])
def test_plates_accepted(plate):
    assert rules.check_plate(plate) == plate.strip().upper()


@pytest.mark.parametrize("plate", ["ABC123", "蒙B1234", "蒙B123456", "蒙BI2345", "蒙O12345", "蒙1B2345",
                                   "XX12345", "蒙BDA12345", "蒙B12345X", "蒙BX12345", "", "蒙 B12345", "台A12345"])
def test_plates_refused(plate):
    assert rule_of(rules.check_plate, plate) == ("plate_format", "plate")


def test_extra_plate_patterns():
    assert rule_of(rules.check_plate, "WX-1234")[0] == "plate_format"
    assert rules.check_plate("wx-1234", (r"[A-Z]{2}-\d{4}",)) == "WX-1234"
    assert rule_of(rules.check_plate, "WX-12345", (r"[A-Z]{2}-\d{4}",))[0] == "plate_format"  # full match


# --- waste codes, regions -------------------------------------------------------------------

@pytest.mark.parametrize("code", ["SW01", "SW59", "HW01", "HW08", "HW50", "HW08 900-249-08", "HW49 900-041-49"])
def test_waste_codes_accepted(code):
    assert rules.check_waste_code(code) == code


@pytest.mark.parametrize("code", ["SW1", "SW001", "sw02", "HW00", "HW51", "HW08 900-249", "HW08  900-249-08",
                                  "HW08-900-249-08", "HW08 900-249-08 ", "SW02 900-249-08", "", "fly ash"])
def test_waste_codes_refused(code):
    assert rule_of(rules.check_waste_code, code, "waste_code") == ("waste_code_format", "waste_code")


@pytest.mark.parametrize("prefix, ok", [("15", True), ("1502", True), ("150202", True), ("1", False),
                                        ("150", False), ("15020", False), ("1502021", False), ("ab", False)])
def test_region_prefixes(prefix, ok):
    if ok:
        assert rules.check_region_prefix(prefix) == prefix
    else:
        assert rule_of(rules.check_region_prefix, prefix) == ("region_prefix_format", "regions")


def test_region_codes():
    assert rules.check_region_code("150202") == "150202"
    for bad in ("15020", "1502020", "15020a", ""):
        assert rule_of(rules.check_region_code, bad) == ("region_code_format", "region_code")


# --- geofences and routes -------------------------------------------------------------------

MIN, MAX = 25.0, 200_000_000.0


def square(lon=109.9, lat=40.6, half_m=150.0):
    dlat = half_m / 111_320
    dlon = half_m / (111_320 * math.cos(math.radians(lat)))
    return [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
            [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


def test_geofence_accepted_and_area_is_geodesic():
    geometry = rules.check_geofence(polygon(square()), MIN, MAX)
    assert geometry.geom_type == "Polygon"
    area = abs(rules._GEOD.geometry_area_perimeter(geometry)[0])
    assert area == pytest.approx(300 * 300, rel=0.01)  # square metres, not square degrees
    multi = {"type": "MultiPolygon", "coordinates": [[square()], [square(110.0)]]}
    assert rules.check_geofence(multi, MIN, MAX).geom_type == "MultiPolygon"


@pytest.mark.parametrize("geojson, rule", [
    (polygon(square()[:-1]), "geofence_not_closed"),
    (polygon([[109.90, 40.60], [109.91, 40.61], [109.91, 40.60], [109.90, 40.61], [109.90, 40.60]]),
     "geofence_invalid"),
    (polygon(square(half_m=20_000)), "geofence_size"),
    (polygon(square(half_m=2)), "geofence_size"),
    (polygon([[lat, lon] for lon, lat in square()]), "geofence_position"),
    ({"type": "Point", "coordinates": [109.9, 40.6]}, "geofence_type"),
    ({"type": "Polygon"}, "geofence_coordinates"),
    ({"type": "MultiPolygon", "coordinates": []}, "geofence_coordinates"),
    ({"type": "MultiPolygon", "coordinates": [[]]}, "geofence_coordinates"),
    (polygon([[0, 0], [1, 0], [0, 0]]), "geofence_ring"),
    (polygon([[0, 0], [1, 0], [1, float("nan")], [0, 0]]), "geofence_position"),
    (polygon([[0, 0], [1, 0], [1, float("inf")], [0, 0]]), "geofence_position"),
    (polygon([[0, 0, 0, 0], [1, 0], [1, 1], [0, 0, 0, 0]]), "geofence_position"),
    (polygon([[109.90, 40.60], [109.91, 40.60, 5.0], [109.91, 40.61], [109.90, 40.60]]), "geofence_invalid"),
    ("Polygon", "geofence_type"),
    (None, "geofence_type"),
])
def test_geofence_refused(geojson, rule):
    assert rule_of(rules.check_geofence, geojson, MIN, MAX) == (rule, "geofence")


def test_hole_outside_shell_is_invalid():
    assert rule_of(rules.check_geofence, polygon(square(), square(110.5)), MIN, MAX)[0] == "geofence_invalid"


def test_routes():
    line = rules.check_route({"type": "LineString", "coordinates": [[109.8, 40.6], [109.9, 40.65]]})
    assert line.geom_type == "LineString"
    for geojson, rule in [
        ({"type": "Point", "coordinates": [109.8, 40.6]}, "route_type"),
        ({"type": "MultiLineString", "coordinates": [[[109.8, 40.6], [109.9, 40.6]]]}, "route_type"),
        ({"type": "LineString", "coordinates": [[109.8, 40.6]]}, "route_coordinates"),
        ({"type": "LineString", "coordinates": "109.8,40.6"}, "route_coordinates"),
        ({"type": "LineString", "coordinates": [[109.8, 40.6], [109.8, 40.6], [109.8, 40.6]]}, "route_degenerate"),
        ({"type": "LineString", "coordinates": [[109.8, 95.0], [109.9, 40.6]]}, "geofence_position"),
        ({"type": "LineString", "coordinates": [[109.8, 40.6], None]}, "geofence_position"),
        ({"type": "LineString", "coordinates": [[109.8, 40.6], [109.9, 40.6, 3.0], [109.95, 40.6]]}, "route_invalid"),
    ]:
        assert rule_of(rules.check_route, geojson) == (rule, "route"), geojson
