"""PostgreSQL telemetry is partitioned by month; maintenance creates months ahead and applies retention."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from wasteflow.tracks.partitions import add_months, expired, maintain, months_to_create, partitions


def test_months_to_create_spans_this_month_and_ahead():
    assert months_to_create(date(2026, 11, 25), 2) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)


def test_retention_drops_only_whole_months_past_the_horizon():
    names = ["gps_fix_y2025m09", "gps_fix_y2025m10", "gps_fix_y2025m11", "gps_fix_default"]
    # horizon 2025-11-10: October ended on 11-01 (expired), November has not
    assert expired(names, date(2026, 11, 25), 380) == ["gps_fix_y2025m09", "gps_fix_y2025m10"]
    assert expired(names, date(2026, 11, 25), 0) == []


@pytest.fixture
def pg_engine(db_kind, engine):
    if db_kind != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    return engine


def test_fixes_land_in_their_month_and_old_months_are_dropped(pg_engine, world):
    today = datetime.now(UTC).date()
    report = maintain(pg_engine, months_ahead=2, today=today)
    assert len(report.created) == 6  # 3 months × 2 tables
    assert maintain(pg_engine, months_ahead=2, today=today).created == []  # idempotent
    now = datetime.now(UTC)
    with pg_engine.begin() as conn:
        for seq, ts in enumerate((now, now - timedelta(days=400))):
            conn.execute(text("INSERT INTO gps_fix (device_id, ts, seq, lat, lon, verified, received_at) "
                              "VALUES ('gps-0001', :ts, :seq, 40.6, 109.8, true, now())"), {"ts": ts, "seq": seq})
        placed = dict(conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM gps_fix GROUP BY 1")).all())
    assert placed == {f"gps_fix_y{now.year:04d}m{now.month:02d}": 1, "gps_fix_default": 1}
    later = add_months(today, 14)
    dropped = maintain(pg_engine, months_ahead=0, retention_days=365, today=later).dropped
    assert f"gps_fix_y{now.year:04d}m{now.month:02d}" in dropped
    assert "gps_fix_default" in partitions(pg_engine, "gps_fix")


def test_track_query_uses_the_primary_key_and_prunes_partitions(pg_engine):
    maintain(pg_engine, months_ahead=1)
    with pg_engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT * FROM gps_fix WHERE device_id = 'gps-0001' "
            "AND ts >= now() - interval '2 hours' AND ts <= now()")))
    assert "Index Scan using gps_fix_y" in plan, plan  # the primary key (device_id, ts, seq) serves it
    assert "Subplans Removed" in plan, plan  # months outside the window are pruned
