"""Arbitrary field values, ids and missing parts in a real Outbound Message: valid events, one quarantine entry
per broken notification, or a clear 4xx; never a crash, and never the SessionId in what is kept."""

from __future__ import annotations

from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.events.canonical import UnstorableEvent, build_event, validate_event
from hub.plugin import InboundRequest, RequestRejected, Source
from plugins.salesforce import inbound, soap
from tests.plugins.salesforce.conftest import CASE_ORG, CASES

SOURCE = Source("salesforce", "salesforce", {"organization_id": CASE_ORG})
FIELDS = ["04l7000000DjbKkAAJ", "5007000000OFL6AAAX", "0037000000xicp7AAA", "2026-11-30T09:12:44.000Z",
          "ann.lee@example.com", "Export keeps failing", "The export to CSV fails with a timeout since Monday."]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(FIELDS), TEXT), max_size=4), st.booleans(), st.booleans())
def test_mutated_messages_give_events_rejections_or_a_4xx(replacements, drop_type, with_session):
    body = CASES
    for original, value in replacements:
        body = body.replace(original.encode(), escape(value).encode("utf-8", "surrogatepass"), 1)
    if drop_type:
        body = body.replace(b' xsi:type="sf:Case"', b"", 1)
    if with_session:
        body = body.replace(b'<SessionId xsi:nil="true"/>', b"<SessionId>00D7!AQsecretSESSION</SessionId>")
    request = InboundRequest("POST", "/hooks/salesforce", body, "text/xml")
    assert b"secretSESSION" not in soap.body_to_keep(body)
    try:
        parsed = inbound.parse(SOURCE, request)
    except RequestRejected as rejected:
        assert 400 <= rejected.status < 500 and rejected.message
        return
    assert len(parsed.events) + len(parsed.rejected) == 2
    for draft in parsed.events:
        try:
            validate_event(build_event("salesforce", draft))
        except UnstorableEvent:
            pass  # answered 422 and quarantined by the core
    for rejection in parsed.rejected:
        assert b"secretSESSION" not in rejection.body
        again = inbound.parse(SOURCE, InboundRequest("POST", "/hooks/salesforce", rejection.body, "text/xml"))
        assert len(again.events) + len(again.rejected) == 1  # kept alone, and still an Outbound Message
