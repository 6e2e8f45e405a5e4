"""Assertions shared by the API tests: problem details, ledger size, stored manifests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.utils.world import auth

PROBLEM_BASE = "https://wasteflow.example/problems/"


def problem(response, status: int, *, rule: str | None = None, field: str | None = None,
            slug: str | None = None, title: str | None = None) -> dict:
    """Assert ``response`` is RFC 9457 problem details with this status (and rule, field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"].startswith(PROBLEM_BASE), body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if slug is not None:
        assert body["type"] == PROBLEM_BASE + slug, body
    if title is not None:
        assert body["title"] == title, body
    if rule is not None:
        assert body["rule"] == rule, body
        if status == 422 and rule != "validation":
            assert body["errors"][0]["rule"] == rule, body
    if field is not None:
        assert body["errors"][0]["field"] == field, body
    return body


def violation(response, rule: str, field: str) -> dict:
    """A domain rule's 422."""
    return problem(response, 422, rule=rule, field=field, slug="rule-violation", title="A rule was broken")


def invalid(response, field: str | None = None) -> dict:
    """A request-validation 422 (schema level: types, unknown fields)."""
    body = problem(response, 422, rule="validation", slug="validation")
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def conflict_state(response, current_state: str) -> dict:
    body = problem(response, 409, slug="state-conflict")
    assert body["current_state"] == current_state, body
    return body


def ledger_entries(world) -> int:
    response = world.get("/v1/ledger/verify", "admin")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True, body
    return body["entries"]


def all_manifests(world, who: str = "admin", **params) -> list[dict]:
    """Every manifest ``who`` may list, following the cursor."""
    items, cursor = [], None
    for _ in range(1000):
        query = dict(params, limit=params.get("limit", 500))
        if cursor:
            query["cursor"] = cursor
        response = world.get("/v1/manifests", who, **query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def iso(value: datetime) -> str:
    return value.isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ago(**kwargs) -> datetime:
    return now() - timedelta(**kwargs)


def headers(key: str) -> dict:
    return auth(key)
