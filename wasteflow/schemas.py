"""The shapes every package's ``schemas.py`` builds on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body: unknown fields are a 422, as api.md requires. Every request schema derives from it."""

    model_config = ConfigDict(extra="forbid")


class EmptyBody(Strict):
    """The ``{}`` some actions take (issuing a key): anything in it is an unknown field."""


class Created(BaseModel):
    id: int


class Health(BaseModel):
    status: str
    version: str
