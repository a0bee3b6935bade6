"""hub/store/metrics.py on its own: attribute queries from the attribute rows, the 0017 migration's
backfill, the per-customer window's edges and the alert states an evaluation reads."""

from __future__ import annotations

import itertools
from collections import Counter

import orjson
import pytest
from alembic import command
from sqlalchemy import select, text

from hub.insights.answers import QUARTER_MS, response_key
from hub.store import Store
from hub.store.engine import make_engine
from hub.store.schema import alembic_config, upgrade
from hub.store.tables import response_attributes

SOURCES, PLANS, FORMS = ("app", "other"), ("free", "pro", "team"), ("f1", "f2")
CATEGORY = {score: "positive" if score >= 9 else "neutral" if score >= 7 else "negative" for score in range(11)}
BASE_QUARTER = 1_900_000


def row(number: int, *, score: int | None = None, quarter: int | None = None, plan: str | None = None,
        event: int = 0) -> dict:
    score = number % 11 if score is None else score
    quarter = BASE_QUARTER + number % 40 if quarter is None else quarter
    attributes = {"plan": plan or PLANS[number % 3], "account": f"a{number % 4}"}
    if number % 5 == 0:
        attributes.pop("account")  # some responses lack an attribute
    return {"key": response_key(SOURCES[number % 2], "cx.survey", f"r{number}"), "source": SOURCES[number % 2],
            "subject": f"r{number}", "metric": "nps", "category": CATEGORY[score], "value": float(score),
            "form": FORMS[number % 2], "customer": f"c{number % 7}@x.io", "attributes": orjson.dumps(attributes).decode(),
            "answered_ms": quarter * QUARTER_MS + 1000, "quarter": quarter, "scored_ms": event * 1000 + number,
            "event_id": f"e{event}-{number}", "pending": 1}


def expected(rows: list[dict], spans, *, attributes: dict, source=None, form=None, group=None) -> Counter:
    """(span, group) -> responses, computed by hand from the rows."""
    found: Counter = Counter()
    for item in rows:
        values = orjson.loads(item["attributes"])
        if any(values.get(name) != value for name, value in attributes.items()):
            continue
        if source and item["source"] != source or form and item["form"] != form:
            continue
        key = "" if group is None else item[group] if group in ("source", "form") else values.get(group[5:])
        if key is None:
            continue
        for index, (first, last) in enumerate(spans):
            if first <= item["quarter"] < last:
                found[index, key] += 1
    return found


@pytest.fixture
def store(empty_database_url):
    store = Store(empty_database_url)
    store.upgrade()
    yield store
    store.dispose()


QUERIES = [
    {"attributes": {"plan": "pro"}},
    {"attributes": {"plan": "pro", "account": "a1"}},
    {"attributes": {"account": "a2", "plan": "pro"}},
    {"attributes": {"plan": "free"}, "source": "app"},
    {"attributes": {"plan": "team"}, "form": "f2"},
    {"attributes": {}, "group": "attr:plan"},
    {"attributes": {}, "group": "attr:account", "source": "other"},
    {"attributes": {"account": "a3"}, "group": "attr:plan"},
    {"attributes": {"plan": "pro"}, "group": "source"},
    {"attributes": {"plan": "free"}, "group": "form"},
]


def answers(store: Store, spans, query: dict) -> Counter:
    group = query.get("group")
    rows = store.metrics.span_counts_matching(
        ["nps"], spans, source=query.get("source"), form=query.get("form"), attributes=query["attributes"],
        group_attribute=group[5:] if group and group.startswith("attr:") else None,
        group=group if group in ("source", "form") else None)
    return Counter({(item.span, item.group): item.responses for item in rows})


def test_attribute_filters_and_groups_count_from_the_attribute_rows(store):
    rows = [row(number) for number in range(120)]
    store.metrics.record(rows)
    store.metrics.fold()
    spans = [(BASE_QUARTER + start, BASE_QUARTER + start + 10) for start in range(0, 40, 10)]
    for query in QUERIES:
        assert answers(store, spans, query) == expected(rows, spans, **query), query
    # Later events move responses: another score and plan, an earlier time (another bucket), a deletion.
    moved = [row(3, score=10, plan="team", event=1), row(8, quarter=BASE_QUARTER + 1, event=1, score=0)]
    deleted = {**row(9, event=1), "metric": None, "category": None, "value": None}
    store.metrics.record([*moved, deleted])
    store.metrics.fold()
    now_rows = [item for item in rows if item["subject"] not in ("r3", "r8", "r9")] + moved
    for query in QUERIES:
        assert answers(store, spans, query) == expected(now_rows, spans, **query), query
    [pro] = store.metrics.span_counts_matching(["nps"], [(BASE_QUARTER, BASE_QUARTER + 40)],
                                              attributes={"plan": "pro", "account": "a1"})
    chosen = [item for item in now_rows if '"plan":"pro"' in item["attributes"] and '"account":"a1"' in item["attributes"]]
    assert (pro.positive, pro.neutral, pro.negative, pro.value_sum) == (
        sum(item["category"] == "positive" for item in chosen), sum(item["category"] == "neutral" for item in chosen),
        sum(item["category"] == "negative" for item in chosen), sum(item["value"] for item in chosen))


def test_the_0017_migration_fills_the_attribute_rows_from_what_was_counted(empty_database_url):
    engine = make_engine(empty_database_url)
    with engine.begin() as db:
        config = alembic_config(db)
        command.upgrade(config, "0011_metrics")
    rows = [row(number) for number in range(30)]
    with engine.begin() as db:  # what the 0011 fold wrote: counted_* and bare attributes (a Store would upgrade)
        db.execute(text("INSERT INTO responses (key, source, subject, metric, category, value, form, customer, "
                        "attributes, answered_ms, quarter, scored_ms, event_id, pending, counted_metric, "
                        "counted_category, counted_value, counted_form, counted_quarter) VALUES (:key, :source, "
                        ":subject, :metric, :category, :value, :form, :customer, :attributes, :answered_ms, :quarter, "
                        ":scored_ms, :event_id, 0, :metric, :category, :value, :form, :quarter)"), rows)
        db.execute(text("INSERT INTO response_attributes (key, name, value) VALUES (:key, :name, :value)"),
                   [{"key": item["key"], "name": name, "value": value}
                    for item in rows for name, value in orjson.loads(item["attributes"]).items()])
    upgrade(engine)
    engine.dispose()
    store = Store(empty_database_url)
    try:
        with store.database.connect() as db:
            filled = db.execute(select(response_attributes).where(response_attributes.c.name == "plan")
                                .order_by(response_attributes.c.key)).mappings().all()
        by_key = {item["key"]: item for item in rows}
        assert len(filled) == 30
        for item in filled:
            source = by_key[item["key"]]
            assert (item["metric"], item["quarter"], item["category"], item["score"], item["source"], item["form"]) \
                == ("nps", source["quarter"], source["category"], source["value"], source["source"], source["form"])
        spans = [(BASE_QUARTER, BASE_QUARTER + 20), (BASE_QUARTER + 20, BASE_QUARTER + 40)]
        for query in QUERIES:
            assert answers(store, spans, query) == expected(rows, spans, **query), query
    finally:
        store.dispose()


def test_per_customer_counts_exactly_the_window_whose_edges_fall_inside_quarters(store):
    since_ms = BASE_QUARTER * QUARTER_MS + 7 * 60 * 1000  # seven minutes into a quarter-hour
    until_ms = since_ms + 3 * QUARTER_MS
    times = {"before": since_ms - 1, "first": since_ms, "inside": since_ms + QUARTER_MS, "last": until_ms - 1,
             "after": until_ms}
    rows = []
    for number, (name, _) in enumerate(itertools.product(times, range(3))):  # three responses at each time
        item = row(number, score=1)
        item.update(answered_ms=times[name], quarter=times[name] // QUARTER_MS, customer=f"{name}@x.io")
        rows.append(item)
    store.metrics.record(rows)
    store.metrics.fold()
    found = store.metrics.per_customer("nps", "negative", since_ms, until_ms, at_least=3)
    assert found == {"first@x.io": 3, "inside@x.io": 3, "last@x.io": 3}
    assert store.metrics.per_customer("nps", "positive", since_ms, until_ms) == {}


def test_an_evaluation_reads_the_firing_states_and_those_it_asks_for(store):
    for number in range(40):
        group = f"c{number}@x.io"
        assert store.metrics.move_alert("burst", group, state="firing", episode=1, value=3.0, previous=None)
        if number >= 3:
            state = store.metrics.alert_states("burst")[group]
            assert store.metrics.move_alert("burst", group, state="cleared", episode=1, value=0.0, previous=state)
    store.metrics.move_alert("other", "c1@x.io", state="firing", episode=4, value=1.0, previous=None)
    assert set(store.metrics.alert_states("burst")) == {f"c{number}@x.io" for number in range(40)}
    wanted = [f"c{number}@x.io" for number in range(30, 1300)]  # more than one IN list's worth
    found = store.metrics.alert_states("burst", wanted)
    assert set(found) == {"c0@x.io", "c1@x.io", "c2@x.io", *(f"c{number}@x.io" for number in range(30, 40))}
    assert {found[f"c{number}@x.io"].state for number in range(3)} == {"firing"}
    assert found["c35@x.io"].state == "cleared" and found["c35@x.io"].episode == 1
    assert set(store.metrics.alert_states("burst", [])) == {"c0@x.io", "c1@x.io", "c2@x.io"}
