"""The OpenAPI document names every JSON body it describes: a client generator gets a type for each.

Only deliberately non-JSON responses (CSV, JSON Lines, HTML, plain-text metrics) go without a named
schema, and they say which media type they are.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

JSON = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
NOT_JSON = {"text/csv", "application/x-ndjson", "text/html", "text/plain"}
NO_BODY = {"204", "301", "302", "303", "307", "308"}


def unnamed_bodies(document: dict) -> list[str]:
    """Every response body in ``document`` that is JSON without a ``$ref`` to a named schema, or is not
    JSON and not one of the media types allowed to go unnamed."""
    named = set(document.get("components", {}).get("schemas", {}))
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                where = f"{method.upper()} {path} {status}"
                content = response.get("content") or {}
                if not content and status not in NO_BODY:
                    found.append(f"{where}: no media type")
                for media_type, body in content.items():
                    if JSON.match(media_type):
                        ref = (body.get("schema") or {}).get("$ref", "")
                        if not (ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in named):
                            found.append(f"{where} {media_type}: {body.get('schema')}")
                    elif media_type not in NOT_JSON:
                        found.append(f"{where} {media_type}: neither JSON nor an allowed media type")
    return found


def test_every_json_response_body_has_a_named_schema(client):
    document = client.get("/openapi.json").json()
    assert len(document["paths"]) >= 30
    assert unnamed_bodies(document) == []


def test_problem_responses_refer_to_the_named_problem(client):
    document = client.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    dispatch = document["paths"]["/v1/manifests/{manifest_no}/dispatch"]["post"]["responses"]
    assert dispatch["409"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_walk_catches_a_bare_dict_and_an_undeclared_stream():
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict:
        return {}

    @app.get("/listed")
    def listed() -> list[int]:
        return []

    @app.get("/xml", responses={200: {"content": {"application/xml": {}}}})
    def xml() -> None:
        return None

    found = unnamed_bodies(TestClient(app).get("/openapi.json").json())
    assert any(f.startswith("GET /bare 200 application/json") for f in found), found
    assert any(f.startswith("GET /listed 200 application/json") for f in found), found
    assert any(f.startswith("GET /xml 200 application/xml") for f in found), found
