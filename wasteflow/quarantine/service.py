"""Reading rejected telemetry back, for those who oversee it."""

from __future__ import annotations

import base64
from typing import Literal

from sqlalchemy import false, func
from sqlmodel import Session, col, select

from wasteflow.auth.service import Principal
from wasteflow.database import Query
from wasteflow.paging import PageRequest, keyset_page
from wasteflow.quarantine.models import QuarantinedMessage
from wasteflow.registry.models import Device
from wasteflow.registry.service import visible_devices


def visible(query: Query, principal: Principal) -> Query:
    """``query`` (over :class:`QuarantinedMessage`) narrowed to what ``principal`` may see.

    The administrator sees every rejected message; a regulator those of devices registered in its
    regions (bound to a vehicle or site of an enterprise there), never another region's; a message
    naming no registered device has no region, so only the administrator sees it. Enterprises see none.
    """
    if principal.is_admin:
        return query
    if not principal.is_regulator:
        return query.where(false())
    devices = visible_devices(select(Device.id), principal)
    return query.where(col(QuarantinedMessage.device_id).in_(devices))


def list_messages(session: Session, principal: Principal, page: PageRequest, *, reason: str | None = None,
                  device_id: str | None = None) -> tuple[list[QuarantinedMessage], str | None]:
    """Newest first."""
    principal.require_oversight()
    query = visible(select(QuarantinedMessage), principal)
    if reason:
        query = query.where(col(QuarantinedMessage.reason) == reason)
    if device_id:
        query = query.where(col(QuarantinedMessage.device_id) == device_id)
    return keyset_page(session, query, QuarantinedMessage.id, "q", page)


def counts_by_reason(session: Session, principal: Principal) -> dict[str, int]:
    principal.require_oversight()
    query = visible(select(QuarantinedMessage.reason, func.count()), principal).group_by(QuarantinedMessage.reason)
    return {reason: count for reason, count in session.exec(query).all()}


def payload_text(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """The payload as sent: UTF-8 text where it is, else base64."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"
