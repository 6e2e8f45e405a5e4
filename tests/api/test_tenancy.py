"""The tenancy matrix (issue 12): for every route of the app and every role, what it gets, asserted
from one table. A route without a row fails the test, so a new route must say who may use it.

Roles, in the table's column order: the administrator, the regulator of region 1502 (``reg_a``,
the world's), a regulator of 1503 (``reg_b``), the manifests' generator, transporter and receiver,
an enterprise with no stake in them (``stranger``), and a request without a key (``anonymous``).

Cells: ``2`` a 2xx answer; ``D`` denied (403, or 404 "as if it did not exist"); ``U`` 401;
``4`` another 4xx: a 422 naming a reference the caller may not act for (``unknown_reference``: a
site, vehicle or device for another's enterprise), or a 409/422 of the state once past the gate.
Each write cell acts on its own fresh resource, so one role's success cannot change another's cell.

``python -m tests.api.test_tenancy`` writes docs/access.md from the table; a test checks it is current.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.utils.regions import add_region_b
from tests.utils.world import auth, credit_code, square
from wasteflow.api.app import create_app

ROLES = ("admin", "reg_a", "reg_b", "generator", "transporter", "receiver", "stranger", "anonymous")
ACCESS_DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
_serial = itertools.count(1)

# method, path: one cell per role in ROLES' order
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "22222222",
    ("GET", "/docs"): "22222222",
    ("GET", "/docs/oauth2-redirect"): "22222222",
    ("GET", "/redoc"): "22222222",
    ("GET", "/healthz"): "22222222",
    ("GET", "/metrics"): "UUUUUUUU",
    ("GET", "/console"): "22222222",
    ("GET", "/console/"): "22222222",
    ("GET", "/console/me"): "2222222U",
    ("GET", "/console/{name}"): "22222222",
    ("POST", "/v1/regulators"): "2DDDDDDU",
    ("POST", "/v1/regulators/{regulator_id}/keys"): "2DDDDDDU",
    ("POST", "/v1/enterprises"): "22DDDDDU",
    ("GET", "/v1/enterprises"): "2222222U",
    ("GET", "/v1/enterprises/{enterprise_id}"): "22D2DDDU",
    ("POST", "/v1/enterprises/{enterprise_id}/keys"): "22DDDDDU",
    ("POST", "/v1/sites"): "2242444U",
    ("GET", "/v1/sites"): "2222222U",
    ("POST", "/v1/vehicles"): "2244244U",
    ("GET", "/v1/vehicles"): "2222222U",
    ("POST", "/v1/devices"): "2244244U",
    ("GET", "/v1/devices"): "2222222U",
    ("POST", "/v1/devices/{device_id:path}/secret"): "22DD2DDU",
    ("POST", "/v1/devices/{device_id:path}/disable"): "22DD2DDU",
    ("POST", "/v1/devices/{device_id:path}/enable"): "22DD2DDU",
    ("GET", "/v1/keys"): "2222222U",
    ("POST", "/v1/keys/{key_id}/revoke"): "22DD2DDU",
    ("POST", "/v1/zones"): "222DDDDU",
    ("GET", "/v1/zones"): "2222222U",
    ("GET", "/v1/waste-categories"): "2222222U",
    ("POST", "/v1/manifests"): "DDD2DD4U",
    ("GET", "/v1/manifests"): "2222222U",
    ("GET", "/v1/manifests/{manifest_no}"): "22D222DU",
    ("GET", "/v1/manifests/{manifest_no}/track"): "22D222DU",
    ("GET", "/v1/manifests/{manifest_no}/ledger"): "22D222DU",
    ("GET", "/v1/manifests/{manifest_no}/versions"): "22D222DU",
    ("POST", "/v1/manifests/{manifest_no}/dispatch"): "DDD2DDDU",
    ("POST", "/v1/manifests/{manifest_no}/cancel"): "DDD2DDDU",
    ("POST", "/v1/manifests/{manifest_no}/receive"): "DDDDD2DU",
    ("POST", "/v1/manifests/{manifest_no}/reject"): "DDDDD2DU",
    ("POST", "/v1/manifests/{manifest_no}/legs"): "DDD22DDU",
    ("POST", "/v1/manifests/{manifest_no}/handover"): "DDDD4DDU",
    ("POST", "/v1/manifests/{manifest_no}/revisions"): "DDD222DU",
    ("GET", "/v1/revisions"): "2222222U",
    ("GET", "/v1/revisions/{revision_id}"): "22D222DU",
    ("POST", "/v1/revisions/{revision_id}/approve"): "DDD22DDU",
    ("POST", "/v1/revisions/{revision_id}/refuse"): "DDD22DDU",
    ("GET", "/v1/findings"): "2222222U",
    ("GET", "/v1/findings/stats"): "222DDDDU",
    ("GET", "/v1/findings/{finding_id}"): "22D222DU",
    ("PATCH", "/v1/findings/{finding_id}"): "22DDDDDU",
    ("GET", "/v1/flows"): "222DDDDU",
    ("GET", "/v1/flows/capacity"): "222DDDDU",
    ("GET", "/v1/flows/declared"): "222DDDDU",
    ("GET", "/v1/exports/manifests.csv"): "222DDDDU",
    ("GET", "/v1/exports/flows.csv"): "222DDDDU",
    ("GET", "/v1/exports/manifests.geojson"): "222DDDDU",
    ("GET", "/v1/exports/tracks.geojson"): "222DDDDU",
    ("GET", "/v1/quarantine"): "222DDDDU",
    ("GET", "/v1/quarantine/counts"): "222DDDDU",
    ("GET", "/v1/ledger/verify"): "222DDDDU",
    ("GET", "/v1/ledger/export"): "222DDDDU",
    ("POST", "/v1/forensics/dump-site"): "222DDDDU",
    ("GET", "/v1/hotspots"): "222DDDDU",
    ("POST", "/v1/webhooks"): "D222222U",
    ("GET", "/v1/webhooks"): "2222222U",
    ("GET", "/v1/webhooks/{webhook_id}"): "2DD2DDDU",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "2DD2DDDU",
    ("POST", "/v1/webhooks/{webhook_id}/enable"): "2DD2DDDU",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "2DD2DDDU",
}


def app_routes(routes, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers (HEAD left out: GET's twin)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from app_routes(included.routes, prefix + (getattr(route, "prefix", "") or ""))
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, prefix + route.path


# --- the world each cell acts on -------------------------------------------------------------

class Probe:
    """The world's resources, and a fresh one of each kind for a write cell."""

    def __init__(self, world):
        self.world = world
        add_region_b(world)
        world.keys["reg_b"] = world.keys["regulator_b"]
        world.keys["reg_a"] = world.regulator
        world.keys["stranger"] = world.keys["outsider"]
        self.received = self.fresh_received()
        self.finding_id = self._a_finding(self.received)
        self.revision_id = self.fresh_revision()
        self.webhook_id = self.fresh_webhook()

    def call(self, role: str, method: str, path: str, body=None, params=None):
        headers = {} if role == "anonymous" else auth(self.world.key(role))
        return self.world.client.request(method, path, json=body, params=params, headers=headers)

    def ok(self, method: str, path: str, body=None, who: str = "admin") -> dict:
        response = self.call(who, method, path, body)
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    def fresh_filed(self, **overrides) -> str:
        return self.world.file(**overrides)

    def fresh_dispatched(self, **overrides) -> str:
        no = self.fresh_filed(**overrides)
        self.ok("POST", f"/v1/manifests/{no}/dispatch", {}, "generator")
        return no

    def fresh_received(self) -> str:
        no = self.fresh_dispatched()
        self.ok("POST", f"/v1/manifests/{no}/receive", {"accepted_kg": 29000}, "receiver")
        return no

    def fresh_revision(self) -> int:
        no = self.fresh_received()
        body = {"changes": {"accepted_kg": 28000}, "reason": "a misread scale"}
        return self.ok("POST", f"/v1/manifests/{no}/revisions", body, "receiver")["id"]

    def fresh_device(self, disabled: bool = False) -> str:
        """A transporter's GPS terminal on its truck (trust-b's device routes)."""
        device_id = _unique("gps-f")
        self.ok("POST", "/v1/devices", {"id": device_id, "kind": "gps", "vehicle_plate": "蒙B12345"}, "transporter")
        if disabled:
            self.ok("POST", f"/v1/devices/{device_id}/disable", {}, "transporter")
        return device_id

    def fresh_transporter_key(self) -> int:
        """A second key of the transporter's, so revoking it leaves the probe's own key working."""
        self.ok("POST", f"/v1/enterprises/{self.world.ids['transporter']}/keys", {}, "admin")
        keys = self.ok("GET", "/v1/keys", None, "transporter")["items"]
        return max(k["id"] for k in keys)

    def fresh_webhook(self) -> int:
        body = {"url": "http://127.0.0.1:9/hook", "events": ["manifest.received"]}
        return self.ok("POST", "/v1/webhooks", body, "generator")["id"]

    def _a_finding(self, no: str) -> int:
        """A received manifest without a single fix: reconciliation raised NO_TRACK on it."""
        items = self.ok("GET", "/v1/findings", None)["items"]
        return next(f["id"] for f in items if f["manifest_no"] == no)


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_serial):05d}"


def _leg_transporter(probe: Probe) -> dict:
    return {"transporter_id": probe.world.ids["transporter"], "vehicle_plate": "蒙B12345"}


def request_for(probe: Probe, method: str, path: str) -> tuple[str, dict | None, dict | None]:
    """The concrete path, body and query of one cell: fresh resources for writes."""
    w, ids = probe.world, probe.world.ids
    bodies: dict[tuple[str, str], Callable[[], tuple[str, dict | None]]] = {
        ("POST", "/v1/regulators"): lambda: (path, {"name": _unique("reg "), "regions": ["1509"]}),
        ("POST", "/v1/regulators/{regulator_id}/keys"): lambda: (path.format(regulator_id=w.regulator_id), {}),
        ("POST", "/v1/enterprises"): lambda: (path, {"name": _unique("firm "), "credit_code": credit_code("150202"),
                                                     "roles": ["generator"], "region_code": "150202"}),
        ("POST", "/v1/enterprises/{enterprise_id}/keys"): lambda: (path.format(enterprise_id=ids["generator"]), {}),
        ("POST", "/v1/sites"): lambda: (path, {"enterprise_id": ids["generator"], "name": _unique("site "),
                                               "kind": "plant", "geofence": square(109.5, 40.4)}),
        ("POST", "/v1/vehicles"): lambda: (path, {"transporter_id": ids["transporter"],
                                                  "plate": f"蒙B{next(_serial) % 100000:05d}",
                                                  "tare_kg": 15000, "max_load_kg": 35000}),
        ("POST", "/v1/devices"): lambda: (path, {"id": _unique("gps-t"), "kind": "gps", "vehicle_plate": "蒙B12345"}),
        ("POST", "/v1/devices/{device_id:path}/secret"): lambda: (
            path.replace("{device_id:path}", probe.fresh_device()), {}),
        ("POST", "/v1/devices/{device_id:path}/disable"): lambda: (
            path.replace("{device_id:path}", probe.fresh_device()), {}),
        ("POST", "/v1/devices/{device_id:path}/enable"): lambda: (
            path.replace("{device_id:path}", probe.fresh_device(disabled=True)), {}),
        ("POST", "/v1/keys/{key_id}/revoke"): lambda: (path.format(key_id=probe.fresh_transporter_key()), {}),
        ("POST", "/v1/zones"): lambda: (path, {"name": _unique("zone "), "kind": "rest_area",
                                               "geofence": square(109.6, 40.5)}),
        ("POST", "/v1/manifests"): lambda: (path, w.manifest_body()),
        ("POST", "/v1/manifests/{manifest_no}/dispatch"): lambda: (path.format(manifest_no=probe.fresh_filed()), {}),
        ("POST", "/v1/manifests/{manifest_no}/cancel"): lambda: (path.format(manifest_no=probe.fresh_filed()), {}),
        ("POST", "/v1/manifests/{manifest_no}/receive"): lambda: (
            path.format(manifest_no=probe.fresh_dispatched()), {"accepted_kg": 30000}),
        ("POST", "/v1/manifests/{manifest_no}/reject"): lambda: (
            path.format(manifest_no=probe.fresh_dispatched()), {"reason": "wrong waste"}),
        ("POST", "/v1/manifests/{manifest_no}/legs"): lambda: (
            path.format(manifest_no=probe.fresh_filed()), _leg_transporter(probe)),
        ("POST", "/v1/manifests/{manifest_no}/handover"): lambda: (
            path.format(manifest_no=probe.fresh_dispatched(legs=[_leg_transporter(probe)])),
            {"leg": 2, "site_id": ids["plant"]}),
        ("POST", "/v1/manifests/{manifest_no}/revisions"): lambda: (
            path.format(manifest_no=probe.fresh_received()),
            {"changes": {"accepted_kg": 28500}, "reason": "a misread scale"}),
        ("POST", "/v1/revisions/{revision_id}/approve"): lambda: (
            path.format(revision_id=probe.fresh_revision()), {"note": "agreed"}),
        ("POST", "/v1/revisions/{revision_id}/refuse"): lambda: (
            path.format(revision_id=probe.fresh_revision()), {"note": "no"}),
        ("PATCH", "/v1/findings/{finding_id}"): lambda: (
            path.format(finding_id=probe._a_finding(probe.fresh_received())),
            {"status": "acknowledged", "note": "seen"}),
        ("POST", "/v1/forensics/dump-site"): lambda: (
            path, {"location": {"type": "Point", "coordinates": [109.5, 40.4]}, "radius_m": 300}),
        ("POST", "/v1/webhooks"): lambda: (path, {"url": "http://127.0.0.1:9/hook", "events": ["manifest.received"]}),
        ("POST", "/v1/webhooks/{webhook_id}/enable"): lambda: (path.format(webhook_id=probe.fresh_webhook()), {}),
        ("DELETE", "/v1/webhooks/{webhook_id}"): lambda: (path.format(webhook_id=probe.fresh_webhook()), None),
    }
    if (method, path) in bodies:
        concrete, body = bodies[(method, path)]()
        return concrete, body, None
    reads = {"manifest_no": probe.received, "enterprise_id": ids["generator"], "revision_id": probe.revision_id,
             "finding_id": probe.finding_id, "webhook_id": probe.webhook_id, "name": "console.js"}
    return path.format(**reads), None, None


def outcome(status: int) -> str:
    if 200 <= status < 300 or status in (301, 302, 307, 308):
        return "2"
    if status == 401:
        return "U"
    if status in (403, 404):
        return "D"
    if 400 <= status < 500:
        return "4"
    return f"<{status}>"


# --- the tests ---------------------------------------------------------------------------------

def test_every_route_has_a_row_and_every_row_a_route(client):
    served = set(app_routes(client.app.routes))
    assert served - set(EXPECTED) == set(), "routes without a row in the tenancy table"
    assert set(EXPECTED) - served == set(), "rows for routes the app does not serve"
    assert all(len(cells) == len(ROLES) for cells in EXPECTED.values())


def test_a_route_added_without_a_row_is_caught(settings):
    app = create_app(settings)
    app.add_api_route("/v1/unlisted", lambda: None, methods=["GET"])
    assert set(app_routes(app.routes)) - set(EXPECTED) == {("GET", "/v1/unlisted")}


@pytest.fixture
def probe(world):
    world.client.app.state.settings.webhook_allow_private = True
    world.client.app.state.settings.metrics_key = "a-metrics-key-no-api-key-opens"
    return Probe(world)


def test_each_role_gets_what_the_table_says_on_every_route(probe):
    wrong, observed = [], []
    for (method, path), cells in sorted(EXPECTED.items()):
        got_cells = ""
        for role, expected in zip(ROLES, cells, strict=True):
            concrete, body, params = request_for(probe, method, path)
            response = probe.call(role, method, concrete, body, params)
            got = outcome(response.status_code)
            got_cells += got
            if got != expected:
                wrong.append(f"{method} {path} as {role}: expected {expected}, got {response.status_code} "
                             f"{response.text[:160]}")
        observed.append(f'    ("{method}", "{path}"): "{got_cells}",')
    if wrong:
        pytest.fail("\n".join(wrong) + "\n\nobserved:\n" + "\n".join(observed), pytrace=False)


# --- docs/access.md ---------------------------------------------------------------------------

WORDS = {"2": "yes", "D": "no (403/404)", "U": "401", "4": "no (422/409)"}


def render() -> str:
    lines = ["# Who may use which route", "",
             "Generated by `python -m tests.api.test_tenancy` from the table `tests/api/test_tenancy.py` asserts",
             "(do not edit by hand). `yes`: answered; `no (403/404)`: 403, or 404 as if it did not exist;",
             "`no (422/409)`: refused naming the reference the caller may not act for, or the state; `401`: no or",
             "a bad key. `reg A`/`reg B`: regulators of the manifests' region and of another; `stranger`: an",
             "enterprise with no part in the manifests. `GET /metrics` opens only to WASTEFLOW_METRICS_KEY.", "",
             "| route | " + " | ".join(r.replace("reg_a", "reg A").replace("reg_b", "reg B") for r in ROLES) + " |",
             "| --- |" + " --- |" * len(ROLES)]
    for (method, path), cells in sorted(EXPECTED.items(), key=lambda item: (item[0][1], item[0][0])):
        lines.append(f"| `{method} {path}` | " + " | ".join(WORDS[c] for c in cells) + " |")
    return "\n".join(lines) + "\n"


def test_docs_access_md_is_current():
    assert ACCESS_DOC.read_text(encoding="utf-8") == render(), "run: python -m tests.api.test_tenancy"


if __name__ == "__main__":
    ACCESS_DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {ACCESS_DOC}")
