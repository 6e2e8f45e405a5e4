"""The pure forensics rules: passage figures, ranking, hotspot clustering."""

from __future__ import annotations

from datetime import timedelta

from tests.utils.detection import at, move
from wasteflow.forensics.hotspots import Located, clusters, hotspots
from wasteflow.forensics.rules import (
    NearFix,
    Passage,
    bounding_box,
    distance_m,
    largest_fall,
    longest_stop_s,
    ranked,
    seconds_within,
    significant_drop,
)

C = (109.86, 40.62)


def fix(t: float, east_m: float = 0, speed: float | None = None) -> NearFix:
    lon, lat = move(*C, east_m=east_m)
    return NearFix(at(t), lon, lat, int(t), "gps-1", True, speed)


def test_the_bounding_box_holds_the_circle_at_any_latitude():
    for lat in (0.0, 40.6, 69.0):
        west, south, east, north = bounding_box(C[0], lat, 300)
        for bearing in range(0, 360, 15):
            import math
            lon2, lat2 = move(C[0], lat, east_m=300 * math.sin(math.radians(bearing)),
                              north_m=300 * math.cos(math.radians(bearing)))
            assert west <= lon2 <= east and south <= lat2 <= north


def test_distance_agrees_with_the_geodesic_at_dump_scale():
    other = move(*C, east_m=250, north_m=100)
    assert abs(distance_m(*C, *other) - 269.3) < 1.5


def test_time_within_follows_the_line_between_fixes():
    standing = [fix(0), fix(30), fix(60)]
    assert seconds_within(standing, *C, 300) == 60
    passing = [fix(0, east_m=-450), fix(30, east_m=0), fix(60, east_m=450)]  # 54 km/h, one fix inside
    assert abs(seconds_within(passing, *C, 300) - 40) < 0.5
    leaving = [fix(0, east_m=0), fix(60, east_m=600), fix(120, east_m=1200)]
    assert abs(seconds_within(leaving, *C, 300) - 30) < 0.5
    assert seconds_within([fix(0, east_m=-900), fix(30, east_m=900)], *C, 300) == 0  # no fix within: not seen


def test_a_stop_is_two_minutes_standing_within_the_radius():
    standing = [fix(t, speed=0) for t in range(0, 150, 30)]
    assert longest_stop_s(standing, [True] * len(standing)) == 120
    short = standing[:4]
    assert longest_stop_s(short, [True] * 4) == 0
    moving = [fix(t, east_m=t * 15) for t in range(0, 300, 30)]  # 54 km/h implied, no speed reported
    assert longest_stop_s(moving, [True] * len(moving)) == 0


def test_a_stop_without_reported_speed_is_read_from_the_moves():
    slow = [fix(t, east_m=t * 0.5) for t in range(0, 301, 30)]  # 1.8 km/h
    assert longest_stop_s(slow, [True] * len(slow)) == 300


def test_the_largest_fall_is_from_the_peak_before_it():
    loads = [(at(t), kg) for t, kg in ((0, 30000), (60, 30100), (120, 29900), (180, 24000), (240, 24100))]
    assert largest_fall(loads) == (6100, 30100)
    assert significant_drop(6100, 30100, 5.0, 300)
    assert not significant_drop(280, 30000, 0.5, 300)
    assert largest_fall([]) == (0, 0)


def passage(name: str, loaded: bool, **kw) -> Passage:
    base = {"manifest_no": name, "plate": name, "loaded": loaded, "enter": at(0), "leave": at(60),
            "seconds_within": 60, "closest_m": 50, "longest_stop_s": 0}
    return Passage(**(base | kw))


def test_ranking_loaded_then_drop_stop_shortfall_time():
    out = ranked([
        passage("idle-long", False, seconds_within=5000, longest_stop_s=4000, dropped=False),
        passage("passer", True, seconds_within=30),
        passage("lingerer", True, seconds_within=400),
        passage("short", True, shortfall_kg=3000),
        passage("stopper", True, longest_stop_s=600, seconds_within=600),
        passage("dropper", True, dropped=True, load_drop_kg=6000),
    ])
    assert [p.manifest_no for p in out] == ["dropper", "stopper", "short", "lingerer", "passer", "idle-long"]
    assert [p.rank for p in out] == [1, 2, 3, 4, 5, 6]


def located(i: int, east_m: float, north_m: float = 0, vehicle: str = "A", day: int = 0) -> Located:
    lon, lat = move(*C, east_m=east_m, north_m=north_m)
    return Located(i, lon, lat, vehicle, at(0) + timedelta(days=day))


def test_single_linkage_chains_points_each_within_the_link():
    chain = [located(i, 250 * i) for i in range(5)]  # 1 km long, each 250 m from the next
    assert [len(c) for c in clusters(chain, 300)] == [5]
    assert sorted(len(c) for c in clusters(chain + [located(9, 1500)], 300)) == [1, 5]


def test_a_hotspot_needs_two_vehicles_or_three_findings():
    two_trucks = [located(1, 0, vehicle="A"), located(2, 100, vehicle="B", day=3)]
    one_truck_twice = [located(3, 5000, vehicle="C"), located(4, 5100, vehicle="C")]
    one_truck_thrice = [located(5, -9000, vehicle="D"), located(6, -9050, vehicle="D"), located(7, -9100, vehicle="D")]
    found = hotspots(two_trucks + one_truck_twice + one_truck_thrice)
    assert [h.finding_ids for h in found] == [[5, 6, 7], [1, 2]]
    pair = found[1]
    assert pair.vehicles == 2 and abs(pair.radius_m - 50) < 1
    assert pair.first_seen == at(0) and pair.last_seen == at(0) + timedelta(days=3)
    assert hotspots(two_trucks, min_vehicles=3) == []


def test_clustering_is_quick_on_thousands_of_findings():
    import time

    points = [located(i, (i % 100) * 97.0, (i // 100) * 131.0, vehicle=str(i % 7)) for i in range(5000)]
    started = time.perf_counter()
    found = clusters(points, 300)
    assert time.perf_counter() - started < 5
    assert len(found) == 1
