"""The merge rules on real events: identifiers, values that never merge, caps, merges by events,
manual merge and unmerge with the timeline following, and an unmerge that events respect."""

from __future__ import annotations

import pytest

from hub.operations import UnknownCustomer, merge_customers, unmerge_customer
from hub.store.profiles import NotMerged, SameProfile


def kinds(view) -> set[tuple[str, str]]:
    return {(row.kind, row.value) for row in view.identifiers}


def timeline_ids(app, profile: str) -> list[str]:
    return [entry.id for entry in app.hub.store.profiles.timeline(profile, limit=500).rows]


def test_the_same_email_in_any_case_and_spacing_is_one_customer(app):
    first = app.send(email="Ann.Lee@Example.COM")
    second = app.send(email="  ann.lee@example.com ")
    other = app.send(email="ann.lee+cx@example.com")  # a +tag is another address: kept apart
    app.hub.drain()
    assert app.profile_of(first) == app.profile_of(second) != app.profile_of(other)
    assert kinds(app.view("ANN.LEE@example.com")) == {("email", "ann.lee@example.com")}


def test_a_system_id_is_namespaced_and_an_event_with_two_profiles_ids_merges_them(app):
    by_email = app.send(email="ann@example.com", at="2026-11-01T10:00:00Z")
    by_id = app.send(id="8447388090494", at="2026-11-02T10:00:00Z")
    app.hub.drain()
    older, newer = app.profile_of(by_email), app.profile_of(by_id)
    assert older != newer
    both = app.send(email="ann@example.com", id="8447388090494", at="2026-11-03T10:00:00Z")
    app.hub.drain()
    view = app.view("app:8447388090494")
    assert view.id == older  # the older profile survives
    assert set(view.members) == {older, newer}
    assert kinds(view) == {("email", "ann@example.com"), ("app", "8447388090494")}
    [merge] = view.merges
    assert (merge.status, merge.from_profile, merge.into_profile, merge.by, merge.event_id) == (
        "merged", newer, older, "resolver", both)
    assert f"carries email:ann@example.com of {older} and app:8447388090494 of {newer}" in merge.reason
    assert timeline_ids(app, newer) == timeline_ids(app, older) == [both, by_id, by_email]
    assert view.first_seen.isoformat() == "2026-11-01T10:00:00+00:00"
    assert view.last_seen.isoformat() == "2026-11-03T10:00:00+00:00"


@pytest.mark.parametrize("value", ["", "  ", "null", "NULL", "anonymous", "Unknown", "undefined", "0", "0000000",
                                   "00000000-0000-0000-0000-000000000000", "-", "n/a", "guest"])
def test_values_that_name_nobody_never_merge_two_customers(app, value):
    ann = app.send(email="ann@example.com", id=value)
    bob = app.send(email="bob@example.com", id=value)
    app.hub.drain()
    assert app.profile_of(ann) != app.profile_of(bob)
    assert ("app", value.strip()) not in kinds(app.view("ann@example.com"))


@pytest.mark.parametrize("email", ["test@example.com", "noreply@shop.example", "No-Reply@Shop.Example",
                                   "null@example.com", "unknown@example.org"])
def test_placeholder_emails_never_merge_and_an_event_with_nothing_else_has_no_profile(app, email):
    ann = app.send(email=email, id="ann-1")
    bob = app.send(email=email, id="bob-2")
    nobody = app.send(email=email)
    app.hub.drain()
    assert app.profile_of(ann) != app.profile_of(bob)
    assert app.hub.store.profiles.owner("email", email.lower()) is None
    assert (app.state_of(nobody), app.profile_of(nobody)) == ("anonymous", None)


def test_the_never_merge_lists_are_configurable(make_app):
    app = make_app("""
customers:
  never_merge:
    values: [shared-kiosk]
    emails: [support@acme.example, "*@mailinator.example"]
    builtin: false
""")
    kiosk = [app.send(id="shared-kiosk", email=f"k{n}@x.example") for n in range(2)]
    desk = [app.send(id=f"d{n}", email="Support@Acme.example") for n in range(2)]
    burner = [app.send(id=f"b{n}", email=f"x{n}@sub.mailinator.example") for n in range(2)]
    tests = [app.send(id="test", email=f"t{n}@x.example") for n in range(2)]  # builtin off: "test" is an id
    app.hub.drain()
    for pair in (kiosk, desk, burner):
        assert app.profile_of(pair[0]) != app.profile_of(pair[1])
    assert app.profile_of(tests[0]) == app.profile_of(tests[1])


def test_a_shared_mailbox_does_not_swallow_the_customers_who_use_it(app):
    """One app id per profile (the default cap): the second customer of support@ gets a profile of its own."""
    events = [app.send(id=f"user-{n}", email="support@acme.example") for n in range(6)]
    app.hub.drain()
    profiles = {app.profile_of(event) for event in events}
    assert len(profiles) == 6
    owner = app.view("support@acme.example")
    assert kinds(owner) == {("email", "support@acme.example"), ("app", "user-0")}
    refused = [merge for merge in owner.merges if merge.status == "refused"]
    assert len(refused) == 5  # recorded once per pair, each with why
    assert "merging would give the profile 2 app identifiers (limit 1)" in refused[0].reason
    again = app.send(id="user-3", email="support@acme.example")
    app.hub.drain()
    assert app.profile_of(again) == app.profile_of(events[3])
    assert len([merge for merge in app.view("support@acme.example").merges if merge.status == "refused"]) == 5


def test_at_most_five_emails_per_customer_and_the_limits_are_configurable(make_app):
    app = make_app("customers: {limits: {email: 2, app: 2}}")
    events = [app.send(id="u1", email=f"ann{n}@example.com") for n in range(4)]
    app.hub.drain()
    view = app.view("app:u1")
    assert {value for kind, value in kinds(view) if kind == "email"} == {"ann0@example.com", "ann1@example.com"}
    assert {app.profile_of(event) for event in events} == {view.id}  # every event is still hers
    app.send(id="u2", email="ann0@example.com")  # a second app id fits the raised limit
    app.hub.drain()
    assert ("app", "u2") in kinds(app.view("app:u1"))


def test_ids_mapped_from_attributes_come_first(make_app):
    app = make_app("""
customers:
  identifiers:
    - {attribute: external_user_id, namespace: accounts}
""")
    first = app.send(external="A-77", email="ann@old.example")
    second = app.send(external="A-77", email="ann@new.example", id="z9")
    app.hub.drain()
    view = app.view("accounts:A-77")
    assert app.profile_of(first) == app.profile_of(second) == view.id
    assert kinds(view) == {("accounts", "A-77"), ("email", "ann@old.example"), ("email", "ann@new.example"),
                           ("app", "z9")}


def test_manual_merge_and_unmerge_move_the_timeline_and_events_respect_the_unmerge(app):
    ann = app.send(email="ann@example.com", at="2026-11-01T10:00:00Z")
    lee = app.send(email="a.lee@example.com", at="2026-11-02T10:00:00Z")
    app.hub.drain()
    store = app.hub.store
    keep, absorb = app.profile_of(ann), app.profile_of(lee)
    merged = merge_customers(store, "ann@example.com", "a.lee@example.com", by="cli:ops", reason="same person")
    assert (merged.status, merged.from_profile, merged.into_profile, merged.by, merged.reason) == (
        "merged", absorb, keep, "cli:ops", "same person")
    assert timeline_ids(app, keep) == [lee, ann]
    assert app.view("a.lee@example.com").id == keep
    with pytest.raises(SameProfile, match="cannot be merged with itself"):
        merge_customers(store, "ann@example.com", "a.lee@example.com", by="cli:ops")
    with pytest.raises(SameProfile):
        merge_customers(store, keep, keep, by="cli:ops")
    later = app.send(email="a.lee@example.com", at="2026-11-03T10:00:00Z")  # resolved to her absorbed profile
    app.hub.drain()
    assert timeline_ids(app, keep) == [later, lee, ann]

    undone = unmerge_customer(store, "a.lee@example.com", by="cli:ops", reason="two people after all")
    assert (undone.status, undone.undone_by, undone.undo_reason) == ("undone", "cli:ops", "two people after all")
    assert timeline_ids(app, keep) == [ann]
    assert timeline_ids(app, absorb) == [later, lee]  # what came by her identifiers goes back with her
    with pytest.raises(NotMerged, match="not merged into another profile"):
        unmerge_customer(store, "a.lee@example.com", by="cli:ops")

    both = app.send(email="ann@example.com", id="shared-login")
    bridge = app.send(email="a.lee@example.com", id="shared-login")  # would merge them again
    app.hub.drain()
    # the app id ranks above the email, so it decides: the bridge is Ann's, and Lee stays apart
    assert app.profile_of(both) == app.profile_of(bridge) == keep
    assert app.view("a.lee@example.com").id == absorb
    refused = [merge for merge in app.view("ann@example.com").merges if merge.status == "refused"]
    assert [merge.reason for merge in refused] == [
        f"email:a.lee@example.com belongs to {absorb}, which an admin unmerged from {keep}"]
    merge_customers(store, absorb, keep, by="cli:ops", reason="an admin may still merge them")
    assert app.view("ann@example.com").id == absorb


def test_unknown_customers_are_named_in_the_error(app):
    app.send(email="ann@example.com")
    app.hub.drain()
    for text in ("nobody@example.com", "app:404", "cus_0000", "not an identifier"):
        with pytest.raises(UnknownCustomer, match="no customer"):
            app.view(text)
    with pytest.raises(UnknownCustomer):
        merge_customers(app.hub.store, "ann@example.com", "nobody@example.com", by="cli:ops")
