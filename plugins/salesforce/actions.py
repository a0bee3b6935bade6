"""The Salesforce actions: `create_case`, `update_record` and `add_comment`, over the REST API.

`create_case` finds the contact by email with a SOQL query and links the case to it (and to
its account); with no such contact it fills the case's web email and name instead. Plain
creation (POST) has no idempotency key in Salesforce: a retry after a lost answer can make a
second case. Give `delivery_id_field` (an External ID field on Case) and the case is upserted
on the delivery id instead, which a retry cannot duplicate.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from hub.plugin import ActionResult, Connection, Delivery, GiveUp, as_email, as_text, fit_text, full_text_location

from plugins.salesforce.api import call, json_object, soql_string

SUBJECT_LIMIT = 255  # Case.Subject
DESCRIPTION_LIMIT = 32_000  # Case.Description, a long text area
COMMENT_LIMIT_BYTES = 4_000  # CaseComment.CommentBody: "4,000 bytes"


def create_case(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any],
                delivery: Delivery) -> ActionResult:
    customer = (event.get("data") or {}).get("customer") or {}
    case: dict[str, Any] = {"Subject": fit_text(params["subject"].replace("\n", " ").strip(), SUBJECT_LIMIT,
                                                short=True)}
    if params["description"]:
        case["Description"] = fit_text(params["description"], DESCRIPTION_LIMIT, full_text_at=full_text_location(event))
    for key, name in (("priority", "Priority"), ("origin", "Origin"), ("status", "Status")):
        if params[key]:
            case[name] = params[key]
    email = params["contact_email"] or as_email(customer.get("email"))
    contact = find_contact(connection, email) if email else None
    if contact:
        case["ContactId"] = contact["Id"]
        if contact.get("AccountId"):
            case["AccountId"] = contact["AccountId"]
    elif email:
        case["SuppliedEmail"] = email
        supplied_name = as_text(customer.get("name"))
        if supplied_name:
            case["SuppliedName"] = supplied_name
    case.update(params["record_fields"])
    if params["delivery_id_field"]:
        field = params["delivery_id_field"]
        response = call(connection, "PATCH", f"sobjects/Case/{field}/{quote(delivery.idempotency_key, safe='')}",
                        what="the new case", json=case)
    else:
        response = call(connection, "POST", "sobjects/Case", what="the new case", json=case)
    answer = json_object(response, "the new case")
    case_id = answer.get("id")
    if not isinstance(case_id, str) or not case_id:
        raise GiveUp(f"Salesforce answered {response.status_code} for the new case without an id")
    detail: dict[str, Any] = {"contact_id": contact["Id"]} if contact else {}
    if "created" in answer:
        detail["created"] = bool(answer["created"])
    return ActionResult(external_id=case_id, url=record_url(connection, case_id), detail=detail)


def find_contact(connection: Connection, email: str) -> Mapping[str, Any] | None:
    """The most recently changed Contact with this email (Id and AccountId), or None."""
    soql = f"SELECT Id, AccountId FROM Contact WHERE Email = {soql_string(email)} ORDER BY LastModifiedDate DESC LIMIT 1"
    answer = json_object(call(connection, "GET", "query", what="the contact query", params={"q": soql}),
                         "the contact query")
    found = answer.get("records")
    if isinstance(found, list) and found and isinstance(found[0], dict) and isinstance(found[0].get("Id"), str):
        return found[0]
    return None


def update_record(connection: Connection, params: Mapping[str, Any]) -> ActionResult:
    """PATCH the record by id (204), or upsert it by an external id (201 created, 200 updated).

    By external id it is Salesforce's upsert: a record that has the value is updated, and one
    is created when none has it. A value several records share is answered 300: dead-lettered.
    """
    sobject, changes = params["object"], dict(params["record_fields"])
    if params["id"]:
        call(connection, "PATCH", f"sobjects/{sobject}/{params['id']}", what=f"{sobject} {params['id']}",
             json=changes)
        return ActionResult(external_id=params["id"], url=record_url(connection, params["id"]))
    field, value = params["external_id_field"], params["external_id"]
    what = f"{sobject} with {field} {value!r}"
    response = call(connection, "PATCH", f"sobjects/{sobject}/{field}/{quote(value, safe='')}", what=what,
                    json=changes)
    if response.status_code == 300:
        raise GiveUp(f"several records are {what}: an external id must be unique", status_code=300)
    if response.status_code == 204 or not response.content:  # API versions before 46.0 answer an update so
        return ActionResult(detail={"created": False})
    answer = json_object(response, what)
    record_id = answer.get("id") if isinstance(answer.get("id"), str) else None
    return ActionResult(external_id=record_id, url=record_url(connection, record_id) if record_id else None,
                        detail={"created": bool(answer.get("created", response.status_code == 201))})


def add_comment(connection: Connection, params: Mapping[str, Any], event: Mapping[str, Any]) -> ActionResult:
    body = fit_bytes(params["comment"], COMMENT_LIMIT_BYTES, full_text_location(event))
    response = call(connection, "POST", "sobjects/CaseComment", what=f"a comment on case {params['case_id']}",
                    json={"ParentId": params["case_id"], "CommentBody": body, "IsPublished": params["public"]})
    comment_id = json_object(response, "the new comment").get("id")
    return ActionResult(external_id=comment_id if isinstance(comment_id, str) else None,
                        url=record_url(connection, params["case_id"]), detail={"case_id": params["case_id"]})


def fit_bytes(text: str, limit: int, full_text_at: str | None) -> str:
    """`text` cut (with a marker) until its UTF-8 encoding fits `limit` bytes."""
    size = limit
    while True:
        fitted = fit_text(text, size, full_text_at=full_text_at)
        if len(fitted.encode()) <= limit:
            return fitted
        size -= max(1, (len(fitted.encode()) - limit) // 2)


def record_url(connection: Connection, record_id: str) -> str:
    """The record's page: instance_url/<id> opens it in Lightning or Classic."""
    return f"{str(connection.settings['instance_url']).rstrip('/')}/{record_id}"
