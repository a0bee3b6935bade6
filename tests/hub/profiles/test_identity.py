"""hub/profiles/identity.py: how addresses are compared, what an event's identifiers are, in which order."""

from __future__ import annotations

import pytest

from hub.config.model import CustomersConfig, MappedIdentifier
from hub.profiles.identity import Identifier, Rules, namespaces_for, normalize_email, parse_identifier


@pytest.mark.parametrize("given, expected", [
    ("  Ann.Lee@Example.COM ", "ann.lee@example.com"),
    ("ann@example.com.", "ann@example.com"),  # the root label's dot
    ("ann@Bücher.DE", "ann@xn--bcher-kva.de"),  # a U-label and its A-label are one domain
    ("ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"),
    ("ann@faß.de", "ann@xn--fa-hia.de"),  # IDNA 2008: not folded to fass.de, another domain
    ("Straße@example.com", "straße@example.com"),  # a non-ASCII local part is kept as sent: ß is not ss
    ("İnci@example.com", "İnci@example.com"),
    ("e\u0301mile@example.com", "\u00e9mile@example.com"),  # NFC: a decomposed é is the composed one
    ("ann+cx@example.com", "ann+cx@example.com"),  # a +tag is part of the address
    ("a@b@example.com", "a@b@example.com"),  # the domain follows the last @
])
def test_addresses_are_compared_in_one_conservative_form(given, expected):
    assert normalize_email(given) == expected


@pytest.mark.parametrize("given", ["@example.com", "ann@", "ann example@x.com", "no-at-sign", "a" * 400 + "@x.com"])
def test_what_is_not_an_address_is_no_identifier(given):
    assert normalize_email(given) is None


def test_fass_and_fass_with_eszett_stay_two_customers():
    assert normalize_email("ann@fass.de") != normalize_email("ann@faß.de")


@pytest.mark.parametrize("text, expected", [
    ("zendesk:8447388090494", Identifier("zendesk", "8447388090494")),
    (" hubspot:1246965 ", Identifier("hubspot", "1246965")),
    ("Ann@Example.com", Identifier("email", "ann@example.com")),
    ("email:Ann@Example.com", Identifier("email", "ann@example.com")),
    ("mailto-like:x@y.z", Identifier("mailto-like", "x@y.z")),
    ("no kind", None),
    ("Zendesk:1", None),  # kinds are lower case
    (":1", None),
])
def test_an_admin_names_a_customer_by_kind_value_or_email(text, expected):
    assert parse_identifier(text) == expected


def event(source: str = "support", **customer):
    return {"source": f"/sources/{source}",
            "data": {"customer": {"id": None, "email": None, "name": None, **customer},
                     "attributes": {"external_user_id": "A-1", "nested": {"id": 7}}}}


def test_identifiers_in_the_default_priority_mapped_then_system_then_email():
    config = CustomersConfig(identifiers=(MappedIdentifier("external_user_id", "accounts"),
                                          MappedIdentifier("nested.id", "billing", ("other",))))
    rules = Rules(config, namespaces_for(config, {"support": "zendesk"}))
    assert rules.identifiers(event(id="123", email="Ann@X.example")) == [
        Identifier("accounts", "A-1"), Identifier("zendesk", "123"), Identifier("email", "ann@x.example")]
    assert Identifier("billing", "7") in rules.identifiers(event("other"))


def test_the_priority_can_be_reordered_and_namespaces_renamed():
    config = CustomersConfig(priority=("email",), namespaces={"support": "zendesk-eu"})
    rules = Rules(config, namespaces_for(config, {"support": "zendesk"}))
    assert rules.identifiers(event(id="123", email="ann@x.example")) == [
        Identifier("email", "ann@x.example"), Identifier("zendesk-eu", "123")]


def test_the_webhook_plugin_and_unknown_sources_are_their_own_namespace():
    config = CustomersConfig()
    namespace_of = namespaces_for(config, {"app": "webhook", "support": "zendesk"})
    assert [namespace_of(name) for name in ("app", "support", "gone")] == ["app", "zendesk", "gone"]


def test_ids_are_trimmed_but_kept_in_their_case_and_booleans_are_no_ids():
    rules = Rules(CustomersConfig(), namespaces_for(CustomersConfig(), {}))
    assert rules.identifiers(event(id=" AbC-1 ")) == [Identifier("support", "AbC-1")]
    assert rules.identifiers({"source": "/sources/x", "data": {"customer": {"id": True}, "attributes": {}}}) == []
