"""Alembic migrations: no drift from the models, and a full downgrade/upgrade round trip, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tests.utils.databases import scratch_postgres
from wasteflow.migrate import alembic_config, upgrade
from wasteflow.models import metadata


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _drift(url: str) -> list:
    """Differences between the migrated database and the models; PostgreSQL's partitions (children of a
    partitioned table, which the models do not know) are the database's own business."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            partitions: set[str] = set()
            if conn.dialect.name == "postgresql":
                partitions = {r[0] for r in conn.execute(text("SELECT relname FROM pg_class WHERE relispartition"))}

            def include_name(name, type_, parent_names):
                if type_ == "table":
                    return name not in partitions
                return parent_names.get("table_name") not in partitions

            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_no_drift_between_migrations_and_models(db_url):
    diff = _drift(db_url)
    assert diff == [], "the migrations and wasteflow.models disagree:\n" + "\n".join(map(repr, diff))


def test_migrated_database_has_reference_data(db_url):
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
            codes = {r[0] for r in conn.execute(text("SELECT code FROM waste_category"))}
            assert {"SW01", "SW07", "SW59"} <= codes and len(codes) == 17
            assert conn.execute(
                text("SELECT tolerance_pct FROM waste_category WHERE code = 'SW07'")).scalar_one() == 5.0
            assert conn.execute(text("SELECT seq FROM ledger_head WHERE id = 1")).scalar_one() == 0
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    upgrade(url)
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"manifest", "ledger_entry", "ledger_head", "enterprise", "waste_category"} <= tables
    config = alembic_config(url)
    command.downgrade(config, "base")
    engine = create_engine(url)
    try:
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set(), left
    finally:
        engine.dispose()
    command.upgrade(config, "head")
    assert _drift(url) == []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM waste_category")).scalar_one() == 17
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'roundtrip.db'}")


def test_downgrade_and_upgrade_postgresql():
    with scratch_postgres("wasteflow_mig") as url:
        _round_trip(url)
        # the append-only trigger came back with the upgrade
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                triggers = {r[0] for r in conn.execute(text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_entry'::regclass AND NOT tgisinternal"))}
                assert "ledger_entry_append_only" in triggers
        finally:
            engine.dispose()
