"""The admin API's OpenAPI description: it names every rule under /admin, it is served with a docs page
that loads nothing from elsewhere, and Schemathesis, driven by it against a real store and Redis, finds no
5xx and no answer that breaks the description."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import plugins.webhook as webhook
from hub.admin.openapi import build_spec
from tests.conftest import WHSEC, detractor, forward_everything, send

TOKEN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
IGNORED_METHODS = {"HEAD", "OPTIONS"}
EXAMPLES = int(os.environ.get("CXHUB_FUZZ_EXAMPLES", "25"))  # per operation and mode; raise it for a long hunt


@pytest.fixture
def hub(make_hub, httpserver):
    """A hub holding a succeeded and a dead delivery and a quarantined request, for the API to show."""
    test_hub = make_hub(forward_everything(httpserver.url_for("/receiver"), attempts=1), plugins=[webhook],
                        env={"APP_SECRET": WHSEC})
    test_hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    httpserver.expect_oneshot_request("/receiver").respond_with_data("")
    httpserver.expect_request("/receiver").respond_with_data("down", status=500)
    send(test_hub, detractor(1))
    send(test_hub, detractor(2), msg_id="msg_2")
    assert send(test_hub, {"nothing": "readable"}, msg_id="msg_3").status_code == 422
    test_hub.drain()
    return test_hub


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_rule_under_admin_is_described(hub):
    described = build_spec()["paths"]
    rules = [rule for rule in hub.app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    assert len(rules) >= 16
    missing = [f"{method} {rule.rule}" for rule in rules for method in sorted(rule.methods - IGNORED_METHODS)
               if method.lower() not in described.get(openapi_path(rule.rule), {})]
    assert missing == []
    extra = set(described) - {openapi_path(rule.rule) for rule in rules}
    assert extra == set()


def test_the_description_is_valid_openapi_and_names_the_token(hub):
    served = hub.client.get("/admin/openapi.json")
    assert served.status_code == 200 and served.json == build_spec()
    validate_openapi(served.json)
    assert served.json["components"]["securitySchemes"]["adminToken"] == {
        "type": "http", "scheme": "bearer", "description": "the hub's CXHUB_ADMIN_TOKEN"}
    assert served.json["security"] == [{"adminToken": []}]
    for path, operations in served.json["paths"].items():
        for method, operation in operations.items():
            assert "404" in operation["responses"], f"{method} {path}"
            if "security" not in operation:  # every endpoint with data says it needs the token
                assert {"401", "503"} <= set(operation["responses"]), f"{method} {path}"


def test_the_docs_page_loads_only_files_of_the_hub_under_a_strict_policy(hub):
    page = hub.client.get("/admin/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "unsafe" not in policy
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not re.match(r"[a-z]+:|//", source) for source in sources)  # nothing from elsewhere
    assert "<script>" not in html  # no inline script
    for source in sources:
        asset = hub.client.get(f"/admin/{source}")
        assert asset.status_code == 200 and len(asset.data) > 100, source
    assert b"SwaggerUIBundle" in hub.client.get("/admin/docs/swagger-ui-bundle.js").data
    assert hub.client.get("/admin/docs/..%2Fviews.py").status_code == 404


def test_the_description_and_docs_are_off_with_the_admin_api(hub):
    hub.app.config["CXHUB_ADMIN_TOKEN"] = None
    for path in ("/admin/openapi.json", "/admin/docs", "/admin/docs/docs.js"):
        assert hub.client.get(path).status_code == 404


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_description(hub):
    schema = schemathesis.openapi.from_wsgi("/admin/openapi.json", hub.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {f"{method.upper()} {path}" for path, ops in build_spec()["paths"].items() for method in ops}
    # Schemathesis leaves out the operation it loaded the description from; the test above checks that one.
    assert {operation.label for operation in operations} == described - {"GET /admin/openapi.json"}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode))
            def check(case):
                case.call_and_validate(headers=AUTH, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # nothing to negate (no query, body or constrained parameter): no invalid input
                assert mode is GenerationMode.NEGATIVE, operation.label
