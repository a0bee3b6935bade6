"""`assign_issue`: give an issue to a person, named by account id or by email.

Jira Cloud assigns by account id only (`PUT /rest/api/3/issue/{issueIdOrKey}/assignee` with
`{"accountId": ...}`, answered 204). An email is first looked up with the user search
(`GET /rest/api/3/user/search?query=<email>`), which matches the start of display names and
emails and shows `emailAddress` only where the user's privacy settings allow: the user whose
visible email is the one asked for is chosen, else the only active user found whose email is hidden;
none, or several that cannot be told apart, give up with the reason (assigning a guess would be worse than not
assigning). Assigning again to the same person changes nothing, so a retry is harmless.
"""

from __future__ import annotations

from typing import Any, Mapping

import requests

from hub.plugin import ActionResult, Connection, GiveUp, as_email, as_id, as_text
from plugins.jira.api import browse_url, call, issue_path

USER_SEARCH_PATH = "rest/api/3/user/search"
SEARCH_LIMIT = 50  # the search's page size; an email that matches more users than this is ambiguous anyway


def _users(response: requests.Response) -> list[Mapping[str, Any]]:
    """The users of a search answer (a JSON list)."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, list):
        raise GiveUp(f"Jira answered the user search {response.status_code} without a JSON list")
    return [user for user in document if isinstance(user, dict) and as_id(user.get("accountId"))]


def choose_user(users: list[Mapping[str, Any]], email: str) -> Mapping[str, Any]:
    """The user with this visible email, else the only active one whose email is hidden."""
    wanted = email.casefold()
    exact = [user for user in users if (as_email(user.get("emailAddress")) or "").casefold() == wanted]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise GiveUp(f"{len(exact)} Jira users have the email {email}: assign by account_id instead")
    # Jira matched the query on an email its privacy settings hide from the answer.
    hidden = [user for user in users if user.get("active") is not False and not as_email(user.get("emailAddress"))]
    if len(hidden) == 1:
        return hidden[0]
    if not hidden:
        raise GiveUp(f"no active Jira user has the email {email}: invite them to the site, or assign by account_id")
    raise GiveUp(f"{len(hidden)} Jira users match {email} and hide their email: assign by account_id instead")


def find_account(connection: Connection, email: str) -> tuple[str, str | None]:
    """The account id and display name of the Jira user with this email."""
    response = call(connection, "GET", USER_SEARCH_PATH, what="the user search",
                    params={"query": email, "maxResults": SEARCH_LIMIT})
    user = choose_user(_users(response), email)
    account = as_id(user.get("accountId"))
    assert account is not None  # _users keeps only users with an account id
    return account, as_text(user.get("displayName"))


def assign_issue(connection: Connection, params: Mapping[str, Any]) -> ActionResult:
    issue = params["issue"]
    account, name = (params["account_id"], None) if params["account_id"] else find_account(connection, params["email"])
    call(connection, "PUT", issue_path(issue, "assignee"), what=f"issue {issue}", json={"accountId": account})
    detail = {"account_id": account, **({"display_name": name} if name else {})}
    return ActionResult(external_id=issue, url=browse_url(connection, issue), detail=detail)
