"""Response shape of a weigh ticket, as the manifest it is linked to shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class TicketPublic(BaseModel):
    ticket_no: str
    device_id: str
    site_id: int
    plate: str
    gross_kg: int
    tare_kg: int
    net_kg: int
    gross_at: datetime
    tare_at: datetime
    verified: bool
