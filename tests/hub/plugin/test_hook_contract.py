"""Every hook is documented in docs/plugins.md with its exact signature and has a test_hook_<name>."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.plugin import hookspecs
from hub.testing.contract import hook_signatures, defined_test_names, undocumented, untested
from tests.hub import plugin_contract_fake_spec

ROOT = Path(__file__).parents[3]
DOCS = (ROOT / "docs" / "plugins.md").read_text("utf-8")
TESTS = defined_test_names(ROOT / "tests")


@pytest.mark.parametrize("hook", sorted(hook_signatures(hookspecs)))
def test_hook_is_documented_with_its_signature(hook):
    assert hook not in undocumented(hookspecs, DOCS), f"document {hook_signatures(hookspecs)[hook]} in docs/plugins.md"


@pytest.mark.parametrize("hook", sorted(hook_signatures(hookspecs)))
def test_hook_has_a_test(hook):
    assert hook not in untested(hookspecs, TESTS), f"add a test named test_hook_{hook}"


def test_docs_describe_no_hook_that_does_not_exist():
    documented = {line[4:].strip() for line in DOCS.splitlines() if line.startswith("### cxhub_")}
    assert documented == set(hook_signatures(hookspecs))


def test_the_checks_catch_an_incomplete_spec():
    assert undocumented(plugin_contract_fake_spec, DOCS) == ["cxhub_brand_new_hook"]
    assert untested(plugin_contract_fake_spec, TESTS) == ["cxhub_brand_new_hook"]
