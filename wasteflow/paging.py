"""Every list the API answers, paged one way: keyset pages behind an opaque, tagged cursor.

A page is read newest first (or, for the registry, in registration order) by its key column,
asking for one row more than the page holds: that row's presence is how we know there is a
next page, without counting. The cursor is the last key the page returned, tagged with what
it counts (``m`` manifests, ``f`` findings...) and base64url-encoded, so a manifests cursor
handed to the findings list is refused, and a client cannot mistake it for an offset.

Like Netflix/dispatch's ``search_filter_sort_paginate``, one function pages every kind; what a
caller may see is decided before, by the kind's ``visible(query, principal)``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import String
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from wasteflow.errors import RuleViolation

T = TypeVar("T")
Row = TypeVar("Row")


class Page(BaseModel, Generic[T]):
    """One page of a list. Subclass it with a name (``class ManifestPage(Page[ManifestPublic])``) so the
    OpenAPI document names it too."""

    items: list[T]
    next_cursor: str | None = Field(description="give it as `cursor` for the next page; null on the last page")

    @classmethod
    def of(cls, rows: list[Any], next_cursor: str | None) -> Self:
        """The page of ``rows`` (table rows, or dicts) as this page's items."""
        return cls.model_validate({"items": rows, "next_cursor": next_cursor}, from_attributes=True)


@dataclass(frozen=True)
class PageRequest:
    """What a list was asked for: a page of at most ``limit`` rows after ``cursor``."""

    limit: int
    cursor: str | None = None

    @classmethod
    def clamped(cls, limit: int | None, cursor: str | None, default: int, maximum: int) -> PageRequest:
        """``limit`` (default when not given) held to ``maximum``: a larger one is honoured as the maximum."""
        return cls(limit=min(limit or default, maximum), cursor=cursor or None)


def encode_cursor(kind: str, key: int | str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, key_type: type = int) -> Any:
    """The key a cursor of this kind carries; 422 for anything this API did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, value = raw.split(":", 1)
        if tag != kind:
            raise ValueError
        return key_type(value)
    except ValueError:  # also binascii.Error and UnicodeDecodeError
        raise RuleViolation("bad_cursor", "cursor", "the cursor is not one this API gave out") from None


def keyset_page(session: Session, query: SelectOfScalar[Row], key: Any, kind: str, request: PageRequest, *,
                newest_first: bool = True) -> tuple[list[Row], str | None]:
    """One page of ``query`` (a select of one entity, filtered but not ordered) and the cursor to the next.

    ``key`` is the entity's unique, ever-growing column (``Manifest.id``): pages stay stable while new
    rows arrive.
    """
    if request.cursor:
        textual = isinstance(getattr(key.type, "impl", key.type), String)  # SQLModel's AutoString decorates String
        after = decode_cursor(kind, request.cursor, str if textual else int)
        query = query.where(key < after if newest_first else key > after)
    query = query.order_by(key.desc() if newest_first else key.asc()).limit(request.limit + 1)
    rows = list(session.exec(query).all())
    if len(rows) <= request.limit:
        return rows, None
    rows = rows[:request.limit]
    return rows, encode_cursor(kind, getattr(rows[-1], key.key))
