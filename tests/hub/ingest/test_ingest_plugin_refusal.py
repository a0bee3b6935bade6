"""A source that answers a refusal in the vendor's own format (RequestRejected(reply=...)): its body, the error's status."""

from __future__ import annotations

from hub.plugin import InvalidSignature, PluginInfo, Reply, SourceInfo, hookimpl


class SoapVendor:
    """A vendor that reads refusals as SOAP faults."""

    @hookimpl
    def cxhub_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="soapy", version="1", source=SourceInfo(unsigned=lambda settings: True))

    @hookimpl
    def cxhub_verify_request(self, source, request) -> None:
        raise InvalidSignature("wrong org", reply=Reply(status=200, body=b"<fault/>", content_type="text/xml",
                                                         headers={"X-Why": "org"}))

    @hookimpl
    def cxhub_parse_request(self, source, request):
        return []


def test_the_plugins_refusal_body_is_sent_with_the_errors_status(make_hub):
    hub = make_hub("sources:\n  soapy: {plugin: soapy, token: {$env: T}}\n", plugins=[SoapVendor()], env={"T": "tok"})
    response = hub.post("soapy?token=tok", b"<x/>", content_type="text/xml")
    assert response.status_code == 401  # the status of InvalidSignature, not the reply's 200
    assert (response.data, response.headers["Content-Type"], response.headers["X-Why"]) == (
        b"<fault/>", "text/xml", "org")
    assert hub.store.reads.events() == [] and hub.store.quarantine.requests(status=None) == []
