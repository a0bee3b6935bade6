"""The `customers:` section is checked like the rest of the config: every problem with its file, line and key."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli import main
from tests.hub.profiles.conftest import APP
from tests.conftest import WHSEC


@pytest.mark.parametrize("section, message", [
    ("customers: {identifiers: [{attribute: external_id}]}",
     "customers.identifiers[0].namespace: Missing data for required field."),
    ("customers: {identifiers: [{attribute: external_id, namespace: email}]}",
     "customers.identifiers[0].namespace: 'email' is the kind of email addresses; give the namespace another name"),
    ("customers: {identifiers: [{attribute: x, namespace: accounts, sources: [nope]}]}",
     "customers.identifiers[0].sources[0]: unknown source 'nope' (known: app)"),
    ("customers: {namespaces: {nope: zendesk}}", "customers.namespaces.nope: unknown source 'nope' (known: app)"),
    ("customers: {limits: {email: 0}}",
     "customers.limits.email.value: Must be greater than or equal to 1 and less than or equal to 1000."),
    ("customers: {priority: [email, email]}", "customers.priority: an identifier kind is named twice"),
    ("customers: {never_merge: {builtin: yes-please}}", "customers.never_merge.builtin: Not a valid boolean."),
    ("customers: {merge: always}", "customers.merge: Unknown field."),
])
def test_bad_customer_settings_are_reported_with_their_line(tmp_path, section, message):
    path = tmp_path / "cxhub.yaml"
    path.write_text(APP + section + "\n")
    result = CliRunner().invoke(main, ["check-config", str(path)], env={"APP_SECRET": WHSEC})
    assert result.exit_code == 1, result.output
    assert f"cxhub.yaml:{len(APP.splitlines()) + 1}: {message}" in result.output, result.output


def test_a_good_section_loads(tmp_path):
    path = tmp_path / "cxhub.yaml"
    path.write_text(APP + """customers:
  identifiers: [{attribute: external_user_id, namespace: accounts, sources: [app]}]
  priority: [accounts, email]
  limits: {email: 3, default: 2, accounts: 1}
  never_merge: {values: [kiosk], emails: ["*@mailinator.com"]}
  namespaces: {app: my-app}
""")
    result = CliRunner().invoke(main, ["check-config", str(path)], env={"APP_SECRET": WHSEC})
    assert result.exit_code == 0, result.output
