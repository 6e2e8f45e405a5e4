"""The sizes of the telemetry columns, in one place: the tables are declared with them and the
bridge's parser checks every message against them.

A value the parser accepts must fit its column. When the two disagreed, one weigh ticket with a
17-character plate or a ``seq`` over 2**31-1 failed its INSERT on PostgreSQL, and the batch it
rode in was retried forever (issue 12). Change a size here and both sides follow; a change to a
stored column still needs its migration.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

DEVICE_ID_CHARS = 80
"""``device.id`` and every table's ``device_id`` (the topic allows 64; OwnTracks ids included)."""
PLATE_CHARS = 16
"""``weigh_ticket.plate`` and ``vehicle.plate``."""
TICKET_NO_CHARS = 64
"""``weigh_ticket.ticket_no``."""
MANIFEST_NO_CHARS = 40
"""``manifest.manifest_no`` and a ticket's ``claimed_manifest_no``."""
VIA_CHARS = 16
"""The gateway a reading came through, on fixes, load readings and tickets."""

READING_SEQ_TYPE = BigInteger
"""``seq`` of a gps fix or a load reading: part of the primary key, 64 bits."""
READING_SEQ_MAX = INT64_MAX
TICKET_SEQ_TYPE = Integer
"""``weigh_ticket.seq``: a 32-bit integer column."""
TICKET_SEQ_MAX = INT32_MAX
MASS_KG_TYPE = Integer
"""``load_kg``, ``gross_kg``, ``tare_kg``, ``net_kg``: 32-bit integer columns."""
MASS_KG_COLUMN_MAX = INT32_MAX
