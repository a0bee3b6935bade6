"""The console in a real browser (Debian's chromium and chromedriver, headless), against a hub served on
a loopback port with real worker threads and a destination that fails once, then succeeds.

Skipped when /usr/bin/chromium is absent, unless CXHUB_REQUIRE_BROWSER=1 (CI), which makes that a failure.
With CXHUB_CONSOLE_SCREENSHOTS=DIR, screenshots of the main pages are saved as DIR/console-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

import plugins.webhook as webhook
from hub.store import EventFilter
from hub.testing import sign_standard_webhook, wait_for
from tests.conftest import WHSEC, detractor, send
from tests.hub.console.conftest import ENV, PASSWORDS, console_config, console_section

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
HOSTILE = ('<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
           '<a href="javascript:window.__xss = 3">click</a>')
BEARER = "Bearer proxy-credential-never-kept-42"


@pytest.fixture
def browser(monkeypatch):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)"
        if os.environ.get("CXHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CXHUB_REQUIRE_BROWSER=1 but the browser is missing: {reason}")
        pytest.skip(reason)
    from selenium import webdriver

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> None:
    directory = os.environ.get("CXHUB_CONSOLE_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(directory) / f"console-{name}.png"))


@pytest.fixture
def served(make_hub, httpserver):
    """A hub serving HTTP with worker threads; its one route forwards to a destination that fails first."""
    httpserver.expect_oneshot_request("/receiver", method="POST").respond_with_data("try later", status=500)
    httpserver.expect_request("/receiver", method="POST").respond_with_data("ok")
    hub = make_hub(console_config(httpserver.url_for("/receiver")), plugins=[webhook], env=ENV)
    hub.start_workers(threads=2)
    return hub, hub.serve()


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def submit(driver, button) -> None:
    """Click a button that submits a form, and wait until the next page has replaced this one.

    The old page's button is gone once asking about it fails: chromedriver says so either as a
    stale element or, while the old document is being discarded, as "Node with given id does not
    belong to the document" (which selenium's `staleness_of` does not catch).
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    def replaced(_driver) -> bool:
        try:
            button.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one
            return True
        return False

    button.click()
    WebDriverWait(driver, 10).until(replaced)


def sign_in(driver, base: str, name: str, password: str, path: str = "/console/") -> None:
    driver.get(base + path)
    by_id(driver, "name").send_keys(name)
    by_id(driver, "password").send_keys(password)
    submit(driver, by_id(driver, "sign-in"))


def test_an_operator_finds_a_dead_delivery_and_retries_it_until_it_succeeds(browser, served, httpserver):
    from selenium.webdriver.common.by import By

    hub, base = served
    body = orjson.dumps(detractor(comment="The export keeps failing. " + HOSTILE))
    signed = sign_standard_webhook(WHSEC, "msg_hostile", body)
    assert hub.post("app", body, {**signed, "Authorization": BEARER}).status_code == 202
    wait_for(lambda: len(hub.store.reads.deliveries(status="dead")) == 1, what="the first delivery dead")
    send(hub, detractor(response_id=2002, comment="Fine now"), msg_id="msg_fine")
    wait_for(lambda: len(hub.store.reads.deliveries(status="succeeded")) == 1, what="the second delivered")
    [dead] = hub.store.reads.deliveries(status="dead")

    sign_in(browser, base, "otto", "wrong password", path="/console/deliveries?status=dead")
    assert "Wrong user name or password" in by_id(browser, "sign-in-error").text
    by_id(browser, "name").clear()
    sign_in(browser, base, "otto", PASSWORDS["otto"], path="/console/deliveries?status=dead")
    assert browser.current_url == base + "/console/deliveries?status=dead"  # back to the page asked for
    screenshot(browser, "deliveries-dead")

    for page, marker in (("/console/", "events-total"), ("/console/events", "events"),
                         ("/console/deliveries", "deliveries"), ("/console/quarantine", "quarantine"),
                         ("/console/connections", "connections"), ("/console/routes", "route-list")):
        browser.get(base + page)
        assert by_id(browser, marker).is_displayed(), page
        screenshot(browser, page.strip("/").replace("console", "").strip("/") or "overview")

    browser.get(base + "/console/events")
    by_id(browser, "q").send_keys("export keeps")
    submit(browser, by_id(browser, "apply"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    assert len(rows) == 1 and "q=export+keeps" in browser.current_url
    submit(browser, rows[0].find_element(By.TAG_NAME, "a"))
    assert "The export keeps failing." in by_id(browser, "event-text").text
    assert "<script>" in by_id(browser, "event-text").text  # shown as text...
    assert browser.execute_script("return window.__xss") is None  # ...and never run
    assert not browser.find_elements(By.CSS_SELECTOR, "#event-text img, #event-text a, #event-text script")
    masked = {row.find_element(By.TAG_NAME, "td").text
              for row in browser.find_elements(By.CSS_SELECTOR, "#request-headers tr.masked")}
    assert {"authorization", "webhook-signature"} <= masked  # listed, their values masked
    assert "(removed)" in browser.find_element(By.CSS_SELECTOR, "#request-headers tr.masked .mask").text
    assert BEARER not in browser.page_source and signed["webhook-signature"].split(",", 1)[1] not in browser.page_source
    assert "<script>window.__xss = 1</script>" in by_id(browser, "request-body").text  # the raw body, as text
    assert not browser.find_elements(By.CSS_SELECTOR, "#request-body img, #request-body a, #request-body script")
    assert browser.execute_script("return window.__xss") is None
    screenshot(browser, "event-detail")

    submit(browser, browser.find_element(By.CSS_SELECTOR, f"#delivery-{dead.id} button.retry"))
    assert "Queued again" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    wait_for(lambda: hub.store.reads.delivery(dead.id).status == "succeeded", what="the retried delivery succeeds")
    browser.refresh()
    status = browser.find_element(By.CSS_SELECTOR, f"#delivery-{dead.id} .status")
    assert status.text == "succeeded"
    timeline = browser.find_element(By.CSS_SELECTOR, f"#delivery-{dead.id} .timeline").text
    assert "HTTP 500" in timeline and "succeeded" in timeline
    assert browser.execute_script("return window.__xss") is None
    received = [request for request, _ in httpserver.log]
    assert len(received) == 3 and all(request.headers.get("webhook-signature") for request in received)


def test_a_form_without_its_csrf_token_is_refused(browser, served):
    from selenium.webdriver.common.by import By

    hub, base = served
    sign_in(browser, base, "otto", PASSWORDS["otto"], path="/console/connections")
    form = browser.find_element(By.CSS_SELECTOR, "#connection-out form")
    browser.execute_script("arguments[0].querySelector('[name=csrf_token]').remove()", form)
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text
    assert "could not be checked" in by_id(browser, "error-message").text
    browser.get(base + "/console/connections")
    assert browser.find_element(By.CSS_SELECTOR, "#connection-out .status").text == "ok"  # not paused


def test_an_expired_session_signs_in_again_and_returns_to_the_page(browser, served, monkeypatch):
    import time

    hub, base = served
    send(hub, detractor())
    sign_in(browser, base, "vera", PASSWORDS["vera"])
    [row] = hub.store.browse.events(EventFilter()).rows
    later = time.time() + 9 * 3600  # past the default 480 minutes
    monkeypatch.setattr("hub.console.auth.now", lambda: later)
    browser.get(base + f"/console/events/{row.id}")
    assert "Your session expired" in by_id(browser, "sign-in-notice").text
    sign_in_here = browser.current_url
    assert "/console/sign-in" in sign_in_here
    by_id(browser, "name").send_keys("vera")
    by_id(browser, "password").send_keys(PASSWORDS["vera"])
    submit(browser, by_id(browser, "sign-in"))
    assert browser.current_url == base + f"/console/events/{row.id}"


def test_an_operator_sends_a_test_delivery_and_retries_it_until_it_succeeds(browser, served, httpserver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    hub, base = served
    sign_in(browser, base, "otto", PASSWORDS["otto"], path="/console/connections")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#connection-out a.test-link"))
    assert "/console/connections/out/test" in browser.current_url
    Select(by_id(browser, "test-type")).select_by_value("cx.ticket.created")
    by_id(browser, "test-email").send_keys("ann@example.com")
    params = by_id(browser, "test-params")
    params.clear()
    params.send_keys('{"note": "{{ data.text }}"}')
    screenshot(browser, "test-delivery")
    submit(browser, by_id(browser, "send-test"))
    assert "Test delivery queued to out.forward" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert by_id(browser, "test-event").is_displayed() and not browser.find_elements(By.ID, "replay")
    [delivery] = hub.store.reads.deliveries()
    assert delivery.route == "(console test)"
    wait_for(lambda: hub.store.reads.delivery(delivery.id).status == "dead", what="the first attempt (500) dead")
    browser.refresh()
    submit(browser, browser.find_element(By.CSS_SELECTOR, f"#delivery-{delivery.id} button.retry"))
    wait_for(lambda: hub.store.reads.delivery(delivery.id).status == "succeeded", what="the retried test delivery")
    browser.refresh()
    assert browser.find_element(By.CSS_SELECTOR, f"#delivery-{delivery.id} .status").text == "succeeded"
    timeline = browser.find_element(By.CSS_SELECTOR, f"#delivery-{delivery.id} .timeline").text
    assert "HTTP 500" in timeline and "succeeded" in timeline
    received = [orjson.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(received) == 2 and received[0] == received[1]  # the same test event, attempt after attempt
    assert received[1]["source"] == "/sources/cxhub-console" and received[1]["type"] == "cx.ticket.created"
    assert "sent from the cxhub console by otto" in received[1]["data"]["text"]
    screenshot(browser, "test-delivery-sent")


def test_a_viewer_opens_a_customer_timeline_cases_and_insights(browser, make_hub, httpserver):
    """The CX pages in the browser: find a customer (whose hostile name stays inert), page its timeline,
    filter the cases to the overdue ones, open one, and chart NPS by source."""
    from datetime import timedelta

    from selenium.webdriver.common.by import By

    from hub.sla import check_cases
    from hub.store import now
    from tests.hub.console.test_console_cx import HOSTILE_NAME, ROUTES, SOURCES, answer, post

    httpserver.expect_request("/receiver").respond_with_data("")
    hub = make_hub(SOURCES + ROUTES % httpserver.url_for("/receiver") + console_section(), plugins=[webhook], env=ENV)
    hostile = HOSTILE_NAME.replace("alert(2)", "window.__xss = 4").replace('alert("name")', "window.__xss = 5")
    for number in range(1, 4):
        post(hub, answer(number, 2 if number == 1 else 9, name=hostile, comment=f"answer number {number}"))
    post(hub, answer(4, 10, email="bob@example.com"), source="kiosk")
    hub.drain()
    assert check_cases(hub.hub, at=now() + timedelta(hours=25))
    hub.drain()
    base = hub.serve()

    sign_in(browser, base, "vera", PASSWORDS["vera"], path="/console/customers")
    by_id(browser, "customer-q").send_keys("ANN@example.com")
    submit(browser, by_id(browser, "find-customer"))
    assert "/console/customers/cus_" in browser.current_url
    assert "<script>" in by_id(browser, "customer-name").text  # the name, as text...
    assert browser.execute_script("return window.__xss") is None  # ...never run
    assert not browser.find_elements(By.CSS_SELECTOR, "#customer-name img, #customer-name script")
    types = [row.find_elements(By.TAG_NAME, "td")[2].text for row in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")]
    texts = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody td.text")]
    assert types[0] == "cx.case.overdue"  # newest first: the SLA check's event about her case
    assert [text for text in texts if text.startswith("answer")] == ["answer number 3", "answer number 2",
                                                                     "answer number 1"]
    assert browser.find_elements(By.CSS_SELECTOR, "#customer-cases tbody a")
    screenshot(browser, "customer")

    browser.get(base + "/console/cases")
    by_id(browser, "case-overdue").click()
    submit(browser, by_id(browser, "apply-cases"))
    assert "overdue=true" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#cases tbody tr")
    assert len(rows) == 1 and "first response" in rows[0].text
    screenshot(browser, "cases")
    submit(browser, rows[0].find_element(By.TAG_NAME, "a"))
    assert by_id(browser, "late-first-response").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#case-events tbody a")
    screenshot(browser, "case")

    browser.get(base + "/console/insights")
    assert by_id(browser, "insight-nps").find_elements(By.CSS_SELECTOR, "svg rect")
    screenshot(browser, "insights")
    by_id(browser, "insight-group").click()
    submit(browser, by_id(browser, "apply-insights"))
    assert "group=source" in browser.current_url
    headings = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#insight-nps h3")]
    assert headings == ["app", "kiosk"]
    screenshot(browser, "insights-by-source")
    browser.get(base + "/console/customers")
    screenshot(browser, "customers")
    browser.get(base + "/console/")
    assert by_id(browser, "open-cases").text == "1" and by_id(browser, "overdue-cases").text == "1"
    assert browser.execute_script("return window.__xss") is None
