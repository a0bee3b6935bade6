"""The console's CX pages through Flask's test client: customers (find, timeline pages, merge and unmerge),
cases (filters, SLA flags, the report), insights (NPS, CSAT, CES by bucket and source), the overview's
headline numbers and the connections' rate limits. Real HTTP in (signed webhooks), real jobs, real store."""

from __future__ import annotations

import re
from datetime import timedelta

import orjson
import pytest

import plugins.webhook as webhook
from hub.sla import check_cases
from hub.store import now
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC
from tests.hub.console.conftest import ENV, TOKEN, console_section, sign_in, token_of

HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(2)>'
SOURCES = """
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, time: response.at, score: response.score, text: response.comment,
                customer_email: customer.email, customer_name: customer.name}
      score_scale: {type: nps, min: 0, max: 10}
  kiosk:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, time: response.at, score: response.score, text: response.comment,
                customer_email: customer.email, customer_name: customer.name}
      score_scale: {type: nps, min: 0, max: 10}
  desk:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping: {object_id: response.id, time: response.at, score: response.score, text: response.comment,
                customer_email: customer.email}
      score_scale: {type: csat, min: 1, max: 5}
"""
ROUTES = """
connections:
  out:
    plugin: webhook
    settings: {url: "%s", secret: {$env: APP_SECRET}}
    retry: {max_attempts: 3, initial_delay: 60, max_delay: 60}
    circuit_breaker: {failure_threshold: 0}
    rate_limit: {requests: 100, per: 10s}
routes:
  - name: detractors
    when: {field: data.score.band, equals: negative}
    case: {owner: "cx-team@example.com", sla: {first_response: 24h, close: 72h}}
    actions:
      - {connection: out, action: forward}
metrics:
  timezone: Europe/Berlin
"""
_messages = iter(range(1, 10_000))


@pytest.fixture
def cx_hub(make_hub, httpserver):
    hub = make_hub(SOURCES + ROUTES % httpserver.url_for("/receiver") + console_section(),
                   plugins=[webhook], env=ENV)
    hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    httpserver.expect_request("/receiver").respond_with_data("")
    return hub


def post(hub, payload: dict, source: str = "app") -> str:
    body = orjson.dumps(payload)
    response = hub.post(source, body, sign_standard_webhook(WHSEC, f"msg_cx_{next(_messages)}", body))
    assert response.status_code == 202, response.data
    [event_id] = response.get_json()["accepted"]
    return str(event_id)


def at(number: int) -> str:
    """A recent time, later for a higher number: the timeline orders by the event's time."""
    return (now() - timedelta(minutes=100 - number)).isoformat()


def answer(number: int, score: int, email: str = "ann@example.com", name: str = "Ann Lee",
           comment: str = "fine") -> dict:
    return {"response": {"id": number, "at": at(number), "score": score, "comment": comment},
            "customer": {"email": email, "name": name}}


def profile_id(hub, email: str) -> str:
    from hub.operations import find_customer

    return find_customer(hub.store, email).id


def html(response) -> str:
    return response.get_data(as_text=True)


# --- customers ------------------------------------------------------------------------------------


def test_a_customer_is_found_by_email_and_shows_identifiers_scores_cases_and_an_inert_name(cx_hub):
    first = post(cx_hub, answer(1, 2, email="Ann@Example.com", name=HOSTILE_NAME, comment="broken export"))
    post(cx_hub, answer(2, 9, name=HOSTILE_NAME, comment="better now"))
    cx_hub.drain()
    client = cx_hub.client
    sign_in(client, name="vera")
    found = client.get("/console/customers?q=ANN@example.com ")
    customer = profile_id(cx_hub, "ann@example.com")
    assert found.status_code == 302 and found.headers["Location"] == f"/console/customers/{customer}"
    page = html(client.get(found.headers["Location"]))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in page  # shown, as text
    assert "<b>email</b> ann@example.com" in page
    scores = page[page.index('id="scores"'):page.index('id="customer-cases"')]
    assert ">9 <" in scores and "nps" in scores  # the latest score
    [case] = cx_hub.store.cases.list()
    assert case.event_id == first
    assert f"/console/cases/{case.id}" in page[page.index('id="customer-cases"'):page.index('id="merges"')]
    timeline = page[page.index('id="timeline"'):]
    assert timeline.index("better now") < timeline.index("broken export")  # newest first
    assert "succeeded</span> out.forward" in timeline and 'id="merge-form"' not in page  # a viewer may not merge


def test_the_timeline_pages_with_cursors_that_stay_put(cx_hub, monkeypatch):
    monkeypatch.setattr("hub.console.cx.PAGE_SIZE", 2)
    for number in range(1, 6):
        post(cx_hub, answer(number, 8, comment=f"answer number {number}"))
    cx_hub.drain()
    client = cx_hub.client
    sign_in(client, name="vera")
    customer = profile_id(cx_hub, "ann@example.com")
    first = html(client.get(f"/console/customers/{customer}"))
    assert "answer number 5" in first and "answer number 4" in first and "answer number 3" not in first
    older = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    post(cx_hub, answer(6, 8, comment="answer number 6"))  # arrives between two pages
    cx_hub.drain()
    second = html(client.get(older))
    assert "answer number 3" in second and "answer number 2" in second
    assert "answer number 6" not in second and "answer number 4" not in second
    bad = html(client.get(f"/console/customers/{customer}?cursor=not-a-cursor"))
    assert 'id="filter-errors"' in bad and "<b>cursor</b>" in bad


@pytest.mark.parametrize("path", ["/console/customers/cus_00000000000000000000000000000000",
                                  "/console/customers/not-a-profile", "/console/cases/no-such-case"])
def test_unknown_customers_and_cases_are_404_pages(cx_hub, path):
    client = cx_hub.client
    sign_in(client, name="vera")
    response = client.get(path)
    assert response.status_code == 404 and "404 · Not found" in html(response)


def test_a_search_that_finds_nobody_says_so(cx_hub):
    client = cx_hub.client
    sign_in(client, name="vera")
    response = client.get("/console/customers?q=%3Cscript%3Enobody@example.com")
    assert response.status_code == 404
    assert "no customer" in html(response) and "<script>nobody" not in html(response)


def test_an_operator_merges_after_a_confirmation_showing_both_then_unmerges(cx_hub):
    post(cx_hub, answer(1, 8, email="ann@example.com"))
    post(cx_hub, answer(2, 8, email="ann.lee@example.org"))
    cx_hub.drain()
    ann, other = profile_id(cx_hub, "ann@example.com"), profile_id(cx_hub, "ann.lee@example.org")
    client = cx_hub.client
    sign_in(client, name="vera")
    assert client.get(f"/console/customers/{ann}/merge?absorb=ann.lee@example.org").status_code == 403
    client.post("/console/sign-out", data={"csrf_token": token_of(client)})
    sign_in(client, name="otto")
    confirm = html(client.get(f"/console/customers/{ann}/merge?absorb=ann.lee@example.org"))
    assert ann in confirm[confirm.index('id="merge-keep"'):confirm.index('id="merge-absorb-profile"')]
    shown = confirm[confirm.index('id="merge-absorb-profile"'):confirm.index('id="merge-confirm"')]
    assert other in shown and "ann.lee@example.org" in shown
    for form in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"/console/customers/{ann}/merge", data={**form, "absorb": other})
        assert refused.status_code == 403
    assert profile_id(cx_hub, "ann.lee@example.org") == other  # nothing merged
    done = client.post(f"/console/customers/{ann}/merge",
                       data={"csrf_token": token_of(client), "absorb": other, "reason": "same person"})
    assert done.status_code == 302
    view = cx_hub.store.profiles.view(ann)
    assert other in view.members and view.events == 2
    page = html(client.get(done.headers["Location"]))
    assert "Merged" in page and "same person" in page and "ann.lee@example.org" in page
    assert client.get(f"/console/customers/{other}").headers["Location"] == f"/console/customers/{view.id}"
    unmerge = html(client.get(f"/console/customers/{view.id}/unmerge?profile={other}"))
    assert other in unmerge and "ann.lee@example.org" in unmerge
    assert client.post(f"/console/customers/{view.id}/unmerge", data={"profile": other}).status_code == 403
    assert client.get(f"/console/customers/{view.id}/unmerge?profile=cus_nope").status_code == 404
    split = client.post(f"/console/customers/{view.id}/unmerge",
                        data={"csrf_token": token_of(client), "profile": other, "reason": "two people"})
    assert split.status_code == 302 and split.headers["Location"] == f"/console/customers/{other}"
    assert cx_hub.store.profiles.view(ann).members == (ann,)
    assert cx_hub.store.profiles.view(other).events == 1


# --- cases ----------------------------------------------------------------------------------------


def test_cases_list_filters_flags_overdue_and_reports_times(cx_hub):
    post(cx_hub, answer(1, 1, email="ann@example.com"))
    post(cx_hub, answer(2, 2, email="bob@example.com"))
    post(cx_hub, answer(3, 10, email="cy@example.com"))  # a promoter opens no case
    cx_hub.drain()
    ann_case, bob_case = sorted(cx_hub.store.cases.list(), key=lambda case: case.customer_email or "")
    responded = ann_case.opened_at + timedelta(hours=2)
    cx_hub.store.cases.progress(ann_case.id, first_response_at=responded, closed_at=None, owner=None)
    assert check_cases(cx_hub.hub, at=now() + timedelta(hours=25))  # bob's first response is overdue
    cx_hub.drain()
    client = cx_hub.client
    sign_in(client, name="vera")
    everything = html(client.get("/console/cases"))
    assert f'id="case-{ann_case.id}"' in everything and f'id="case-{bob_case.id}"' in everything
    overdue = html(client.get("/console/cases?overdue=true"))
    assert f'id="case-{bob_case.id}"' in overdue and f'id="case-{ann_case.id}"' not in overdue
    progressing = html(client.get("/console/cases?status=in_progress"))
    assert f'id="case-{ann_case.id}"' in progressing and f'id="case-{bob_case.id}"' not in progressing
    bad = client.get("/console/cases?status=lost&overdue=maybe&by=year")
    assert bad.status_code == 200
    errors = html(bad)[html(bad).index('id="filter-errors"'):]
    assert "<b>status</b>" in errors and "<b>overdue</b>" in errors and "<b>by</b>" in errors
    report = everything[everything.index('id="case-report"'):]
    assert re.search(r"<td>2</td><td>1</td>\s*<td>2.0 / 2.0</td>", report)  # two opened, one responded in 2 h
    assert "<svg" in everything and "<title>" in everything
    detail = html(client.get(f"/console/cases/{bob_case.id}"))
    assert 'id="late-first-response"' in detail and 'id="late-close"' not in detail
    assert f"/console/events/{bob_case.event_id}" in detail and "cx-team@example.com" in detail
    assert f"/console/customers/{profile_id(cx_hub, 'bob@example.com')}" in detail
    deliveries = detail[detail.index('id="case-deliveries"'):detail.index('id="case-follow-ups"')]
    assert "detractors" in deliveries and "succeeded" in deliveries


def test_the_case_list_pages_with_a_cursor(cx_hub, monkeypatch):
    monkeypatch.setattr("hub.console.cx.PAGE_SIZE", 1)
    for number, email in enumerate(("a@example.com", "b@example.com", "c@example.com"), start=1):
        post(cx_hub, answer(number, 0, email=email))
    cx_hub.drain()
    client = cx_hub.client
    sign_in(client, name="vera")
    seen = []
    page = html(client.get("/console/cases"))
    while True:
        seen += re.findall(r'id="case-([0-9a-f-]+)"', page)
        following = re.search(r'id="next-page" href="([^"]+)"', page)
        if not following:
            break
        page = html(client.get(following.group(1).replace("&amp;", "&")))
    assert seen == [case.id for case in cx_hub.store.cases.list()]  # every case once, newest first
    assert len(seen) == 3


# --- insights, the overview, connections ----------------------------------------------------------


def test_insights_chart_nps_csat_and_ces_by_bucket_and_source_with_counts(cx_hub):
    post(cx_hub, answer(1, 2))  # a detractor
    post(cx_hub, answer(2, 10), source="kiosk")  # a promoter
    post(cx_hub, {"response": {"id": 3, "at": at(3), "score": 5, "comment": "great"}, "customer": {"email": "d@example.com"}},
         source="desk")
    cx_hub.drain()
    client = cx_hub.client
    sign_in(client, name="vera")
    page = html(client.get("/console/insights"))
    assert "Europe/Berlin" in page  # the admin's metrics.timezone
    for metric in ("nps", "csat", "ces"):
        assert f'id="insight-{metric}"' in page and f'id="counts-{metric}"' in page
    nps = page[page.index('id="insight-nps"'):page.index('id="insight-csat"')]
    assert "<svg" in nps and "<th>Promoters</th>" in nps
    assert "<td>0.0</td><td>2</td><td>1</td><td>0</td><td>1</td>" in nps  # NPS 0: one promoter, one detractor
    csat = page[page.index('id="insight-csat"'):page.index('id="insight-ces"')]
    assert "<td>100.0</td><td>1</td><td>1</td><td>0</td><td>0</td>" in csat
    grouped = html(client.get("/console/insights?metric=nps&group=source&by=day&since=14d"))
    assert 'id="insight-csat"' not in grouped and "<h3>app</h3>" in grouped and "<h3>kiosk</h3>" in grouped
    assert re.search(r"<td>\d{4}-\d\d-\d\d</td><td>app</td><td>-100.0</td>", grouped)
    assert re.search(r"<td>\d{4}-\d\d-\d\d</td><td>kiosk</td><td>100.0</td>", grouped)
    monthly = html(client.get("/console/insights?metric=csat&by=month"))
    assert re.search(r"<td>\d{4}-\d\d</td><td>100.0</td>", monthly)
    bad = html(client.get("/console/insights?metric=nps&by=hour&since=forever&group=form"))
    errors = bad[bad.index('id="filter-errors"'):]
    assert "<b>by</b>" in errors and "<b>since</b>" in errors and "<b>group</b>" in errors
    assert 'id="insight-nps"' in bad  # the valid part still shown, per week over 90 days


def test_the_overview_shows_the_headline_cx_numbers(cx_hub):
    post(cx_hub, answer(1, 2))
    post(cx_hub, answer(2, 10, email="bob@example.com"))
    post(cx_hub, answer(3, 9, email="cy@example.com"))
    cx_hub.drain()
    assert check_cases(cx_hub.hub, at=now() + timedelta(hours=25))
    client = cx_hub.client
    sign_in(client, name="vera")
    page = html(client.get("/console/"))
    assert "not in this console yet" not in page
    assert re.search(r'id="nps-30d">33</b>', page)  # 2 promoters, 1 detractor of 3
    assert re.search(r'id="open-cases">1</b>', page) and re.search(r'id="overdue-cases">1</b>', page)
    assert re.search(r'id="csat-30d">–</b>', page)  # no CSAT answers yet


def test_connections_show_their_rate_limit_and_a_destination_slowing_them(cx_hub, httpserver):
    httpserver.clear()
    httpserver.expect_request("/receiver").respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    post(cx_hub, answer(1, 1))
    cx_hub.drain(run_scheduled=False)
    client = cx_hub.client
    sign_in(client, name="otto")
    page = html(client.get("/console/connections"))
    row = page[page.index('id="connection-out"'):]
    assert '<td class="rate-limit">100 per 10 s</td>' in row
    assert '<span class="status slowed">slowed</span>' in row and "Retry-After until" in row
    assert "Pause</button>" in row  # a slowed connection can still be paused
