"""The console's files are served from the package, and the manifest ledger route it reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.utils.world import auth


def test_console_files(client):
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/console/console.js">' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the internet
    for name, media in (("console.js", "text/javascript"), ("console.css", "text/css")):
        served = client.get(f"/console/{name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(media)
        assert "https://" not in served.text.replace("http://www.w3.org/2000/svg", "")
    for bad in ("views.py", "..%2Fviews.py", "nope.js", ".hidden.css"):
        assert client.get(f"/console/{bad}").status_code == 404
    assert "/console/" not in client.get("/openapi.json").text


def test_console_me(world):
    assert world.client.get("/console/me").status_code == 401
    me = world.get("/console/me", "regulator").json()
    assert me["kind"] == "regulator" and me["regions"] == ["1502"] and me["oversight"] is True
    assert me["timezone"] == "Asia/Shanghai"
    assert world.get("/console/me", "generator").json()["oversight"] is False


def test_manifest_ledger_history(world):
    no = world.file()
    assert world.post(f"/v1/manifests/{no}/dispatch", {}, "generator").status_code == 200
    body = world.get(f"/v1/manifests/{no}/ledger", "regulator").json()
    assert [e["kind"] for e in body["entries"]] == ["manifest.filed", "manifest.dispatched"]
    assert all(set(e) >= {"seq", "prev_hash", "hash", "at", "recorded_at", "kind", "body"} for e in body["entries"])
    assert world.get(f"/v1/manifests/{no}/ledger", "generator").status_code == 200
    assert world.get(f"/v1/manifests/{no}/ledger", "outsider").status_code == 404
    assert world.client.get(f"/v1/manifests/{no}/ledger", headers=auth("wf_nope")).status_code == 401


def test_static_files_ship_in_the_package():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "console/static/*" in pyproject["tool"]["setuptools"]["package-data"]["wasteflow"]
    static = Path(__file__).parents[2] / "wasteflow" / "console" / "static"
    assert {p.name for p in static.iterdir()} >= {"index.html", "console.js", "console.css"}
