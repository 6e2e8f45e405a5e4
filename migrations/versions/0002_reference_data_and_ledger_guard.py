"""Reference data (waste categories, the ledger head) and, on PostgreSQL, an append-only ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENERAL_INDUSTRIAL_SOLID_WASTE = [
    ("SW01", "Smelting slag", None), ("SW02", "Fly ash", None), ("SW03", "Furnace slag", None),
    ("SW04", "Coal gangue", None), ("SW05", "Tailings", None), ("SW06", "Desulphurisation gypsum", None),
    ("SW07", "Sludge", 5.0), ("SW09", "Red mud", None), ("SW10", "Phosphogypsum", None),
    ("SW11", "Industrial by-product gypsum", None), ("SW12", "Drilling cuttings", None),
    ("SW13", "Food residue", None), ("SW14", "Textile and leather waste", None),
    ("SW15", "Paper and printing waste", None), ("SW16", "Chemical waste", None),
    ("SW17", "Recyclable waste", None), ("SW59", "Other industrial solid waste", None),
]

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION wasteflow_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on ledger_entry is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    category = sa.table("waste_category", sa.column("code", sa.String), sa.column("name", sa.String),
                        sa.column("hazardous", sa.Boolean), sa.column("tolerance_pct", sa.Float))
    op.bulk_insert(category, [{"code": c, "name": n, "hazardous": False, "tolerance_pct": t}
                              for c, n, t in GENERAL_INDUSTRIAL_SOLID_WASTE])
    op.execute("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute("CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry "
                   "FOR EACH ROW EXECUTE FUNCTION wasteflow_ledger_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
        op.execute("DROP FUNCTION IF EXISTS wasteflow_ledger_append_only()")
    op.execute("DELETE FROM ledger_head")
    op.execute("DELETE FROM waste_category")
