"""Schemathesis against the ASGI app: whatever the OpenAPI document allows, nothing answers a 5xx.

Bounded: a few examples per operation, on SQLite only, with the administrator's key (which may do
the most) and, for the manifest routes, the generator's.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = int(os.environ.get("WASTEFLOW_FUZZ_EXAMPLES", "25"))


def test_no_server_errors(world, db_kind):
    if db_kind != "sqlite":
        pytest.skip("the fuzz run is bounded to SQLite")
    manifest_no = world.file()
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for who in ("admin", "generator") if operation.path.startswith("/v1/manifests") else ("admin",):
            headers = {"Authorization": f"Bearer {world.key(who)}"}

            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def run(case):
                if case.path_parameters and "manifest_no" in case.path_parameters and len(failures) % 2 == 0:
                    case.path_parameters["manifest_no"] = manifest_no  # reach past the 404 now and then
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the ASGI transport re-raises what the app did not handle
                    failures.append(f"{who} {case.method} {case.formatted_path} {case.query} {case.body!r}"
                                    f" -> {type(exc).__name__}: {exc}")
                    return
                if response.status_code >= 500:
                    failures.append(f"{who} {case.method} {case.formatted_path} {case.query} {case.body!r}"
                                    f" -> {response.status_code} {response.text[:300]}")

            run()
    assert operations >= 20
    assert failures == [], "\n".join(failures[:20])


def test_openapi_documents_every_route_and_problem(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ("/v1/regulators", "/v1/enterprises", "/v1/sites", "/v1/vehicles", "/v1/devices", "/v1/zones",
                 "/v1/manifests", "/v1/manifests/{manifest_no}", "/v1/manifests/{manifest_no}/dispatch",
                 "/v1/manifests/{manifest_no}/receive", "/v1/manifests/{manifest_no}/reject",
                 "/v1/manifests/{manifest_no}/cancel", "/v1/ledger/verify", "/v1/ledger/export", "/healthz"):
        assert path in paths, path
    dispatch = paths["/v1/manifests/{manifest_no}/dispatch"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(dispatch)
    assert "application/problem+json" in dispatch["409"]["content"]
    create = document["components"]["schemas"]["ManifestCreate"]
    assert create.get("additionalProperties") is False
