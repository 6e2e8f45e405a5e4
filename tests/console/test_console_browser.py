"""The console in a real headless browser (Debian's chromium + chromedriver, driven by Selenium).

Log in with a key, open a finding, see its track drawn (the SVG has the polyline), move the finding
through its workflow and see the status change in the database. Outside CI the test is skipped when
chromium, chromedriver or Selenium is missing; in CI (``CI`` set) it must run.

``WASTEFLOW_SCREENSHOTS=DIR`` saves screenshots of the main pages there (docs/screenshots/ holds them).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.utils.console import build_console_world
from tests.utils.world import build_world
from wasteflow.api.app import create_app
from wasteflow.config import Settings
from wasteflow.database import get_engine
from wasteflow.findings.models import Finding, FindingEvent

CHROMIUM = os.environ.get("WASTEFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WASTEFLOW_CHROMEDRIVER", "/usr/bin/chromedriver")


def _need_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"the browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path, sqlite_template):
    _need_browser()
    import uvicorn

    path = tmp_path / "console.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = get_engine(settings.database_url)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, engine)
        manifests = build_console_world(world, engine, settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "world": world, "manifests": manifests, "engine": engine}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--window-size=1360,900", "--lang=en-US",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def _css(driver, selector, timeout=15):
    from selenium.webdriver.common.by import By
    return _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector), timeout)


def _loaded(driver, fragment: str = "") -> None:
    """Wait until the console has finished rendering the page of the current URL."""
    _wait(driver, lambda d: d.execute_script(
        "return document.body.dataset.loaded !== undefined && document.body.dataset.loaded === location.hash"
        " && location.hash.includes(arguments[0])", fragment))


def _js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def _shoot(driver, name: str, height: int | None = None) -> None:
    folder = os.environ.get("WASTEFLOW_SCREENSHOTS")
    if not folder:
        return
    time.sleep(0.3)
    if height:
        driver.set_window_size(1360, height)
        time.sleep(0.3)
    Path(folder).mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(Path(folder) / f"{name}.png"))
    driver.set_window_size(1360, 900)


def _status(engine, finding_id: int) -> str:
    with Session(engine) as session:
        session.expire_all()
        return session.get(Finding, finding_id).status


def test_console_login_finding_track_and_workflow(served, browser):
    from selenium.webdriver.common.by import By

    url, world, engine = served["url"], served["world"], served["engine"]
    trip = served["manifests"]["trip"]
    with Session(engine) as session:
        stop = session.exec(select(Finding).where(Finding.manifest_no == trip,
                                                  Finding.code == "UNAUTHORIZED_STOP")).one()

    browser.get(url + "/console")
    _css(browser, "#key").send_keys("wf_not_a_key")
    browser.find_element(By.ID, "login").click()
    _wait(browser, lambda d: "not accepted" in d.find_element(By.ID, "login-error").text)
    key = browser.find_element(By.ID, "key")
    key.clear()
    key.send_keys(world.regulator)
    browser.find_element(By.ID, "login").click()

    # the queue, then filtered to critical ones
    _loaded(browser, "#/findings")
    row = _css(browser, f'#findings tr[data-finding="{stop.id}"]')
    assert "UNAUTHORIZED_STOP" in row.text and trip in row.text
    assert "Baotou enforcement" in browser.find_element(By.ID, "who").text
    _shoot(browser, "console-findings")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "filter-severity")).select_by_value("critical")
    browser.find_element(By.ID, "apply").click()
    _loaded(browser, "severity=critical")
    severities = _js(browser, "return [...document.querySelectorAll('#findings tbody tr[data-finding]')]"
                              ".map(r => r.children[2].textContent)")
    assert severities and set(severities) == {"critical"}
    assert not browser.find_elements(By.CSS_SELECTOR, f'#findings tr[data-finding="{stop.id}"]')
    browser.get(url + "/console/#/findings")
    _loaded(browser, "#/findings")
    _css(browser, f'#findings tr[data-finding="{stop.id}"]').click()
    _loaded(browser, f"#/finding/{stop.id}")

    # the finding's page: its trip drawn as SVG, with the track polyline, the sites and the finding
    polyline = _css(browser, "#track-svg polyline#track-line")
    assert len(polyline.get_attribute("points").split()) > 50
    assert browser.find_elements(By.CSS_SELECTOR, "#track-svg path.corridor")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#track-svg path.area.site")) >= 2
    assert browser.find_elements(By.CSS_SELECTOR, f'#track-svg g.finding.current[data-finding="{stop.id}"]')
    _shoot(browser, "console-finding", height=1000)

    # work it: a move needs a note; each move lands in the database with its note
    for target in ("acknowledged", "investigating", "resolved"):
        button = _css(browser, f'button[data-move="{target}"]')
        note = browser.find_element(By.ID, "note")
        note.send_keys(f"console test: {target}")
        button.click()
        _wait(browser, lambda d, target=target: _js(d, "const el = document.getElementById('finding-status');"
                                                       "return el && el.textContent.trim()") == target)
        assert _status(engine, stop.id) == target
    with Session(engine) as session:
        notes = [e.note for e in session.exec(select(FindingEvent).where(FindingEvent.finding_id == stop.id)
                                              .order_by(FindingEvent.id)).all()]
    assert notes[-3:] == ["console test: acknowledged", "console test: investigating", "console test: resolved"]
    assert "resolved" in _js(browser, "return document.getElementById('history').textContent")

    # the manifest's page: its ledger history and its track
    _css(browser, f'a[href="#/manifest/{trip}"]').click()
    _loaded(browser, f"#/manifest/{trip}")
    kinds = browser.find_element(By.ID, "ledger").text
    assert "manifest.filed" in kinds and "manifest.reconciled" in kinds and "finding.resolved" in kinds
    assert _css(browser, "#track-svg polyline#track-line")
    _shoot(browser, "console-manifest", height=1500)

    # flows for a period
    browser.get(url + "/console/#/flows?period=day&from=2025-03-10&to=2025-03-12")
    _loaded(browser, "#/flows")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#flows tbody tr")) == 5
    text = browser.find_element(By.CSS_SELECTOR, ".stats").text
    assert "20.5 t" in text  # in transit
    assert "Cement works" in browser.find_element(By.ID, "capacity").text
    _shoot(browser, "console-flows", height=1000)

    browser.get(url + "/console/#/cases?period=month")
    _loaded(browser, "#/cases")
    assert browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
    _shoot(browser, "console-cases")


def test_console_manifest_page_shows_legs_refusals_follow_ups_and_revisions(served, browser):
    from selenium.webdriver.common.by import By

    url, world, m = served["url"], served["world"], served["manifests"]
    browser.get(url + "/console")
    _css(browser, "#key").send_keys(world.regulator)
    browser.find_element(By.ID, "login").click()
    _loaded(browser, "#/findings")

    browser.get(url + f"/console/#/manifest/{m['w1']}")
    _loaded(browser, f"#/manifest/{m['w1']}")
    legs = _css(browser, "#legs").text
    assert "2 legs" in legs.lower() and "蒙B23456" in legs and "Transfer station" in legs and "haulier2 co" in legs

    browser.get(url + f"/console/#/manifest/{m['w2']}")
    _loaded(browser, f"#/manifest/{m['w2']}")
    refusal = _css(browser, "#refusal").text
    assert "Refused 4,100 kg" in refusal and "mixed with rubble" in refusal
    assert m["w3"] in refusal and "return" in refusal and m["w4"] in refusal and "redirect" in refusal
    revisions = browser.find_element(By.ID, "revisions").text
    assert "refused_kg: 4000 → 4100" in revisions and "applied" in revisions
    assert "v1" in revisions and "Earlier versions" in revisions
    ledger = browser.find_element(By.ID, "ledger").text
    assert "revision.proposed" in ledger and "revision.approved" in ledger and "manifest.revised" in ledger
    _shoot(browser, "console-manifest-workflow", height=1800)

    _css(browser, f'#refusal a[href="#/manifest/{m["w3"]}"]').click()
    _loaded(browser, f"#/manifest/{m['w3']}")
    assert m["w2"] in _css(browser, "#parent").text and "return" in _css(browser, "#parent").text
