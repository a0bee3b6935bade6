"""hub/routing/conditions.py: field tests, all/any/not, and compile errors."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from hub.plugin.settings import EnvValue
from hub.routing.conditions import MATCH_ALL, MISSING, All, Any_, FieldTest, Not, compile_condition, lookup

EVENT = {
    "type": "cx.survey.response",
    "source": "/sources/typeform",
    "data": {
        "score": {"type": "nps", "value": 3, "band": "negative", "ratio": 0.25},
        "text": "The export keeps failing",
        "customer": {"email": "ann@example.com", "name": None},
        "tags": ["billing", "export", 7],
        "attributes": {"plan": "enterprise", "count": "12"},
        "flag": True,
        "empty": [],
    },
}

OPERATOR_NAMES = "contains, equals, exists, gt, gte, in, lt, lte, not_equals, regex"


def matches(raw, event=EVENT) -> bool:
    return compile_condition(raw).matches(event)


def messages(raw):
    with pytest.raises(ValidationError) as caught:
        compile_condition(raw)
    return caught.value.messages


# --- lookup -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, value",
    [
        ("type", "cx.survey.response"),
        ("data.score.value", 3),
        ("data.tags.1", "export"),
        ("data.customer.name", None),
        ("data.tags.3", MISSING),
        ("data.tags.x", MISSING),
        ("data.score.value.deeper", MISSING),
        ("nope", MISSING),
        ("data.nope.deeper", MISSING),
    ],
)
def test_lookup(path, value):
    found = lookup(EVENT, path)
    if value is MISSING or value is None:
        assert found is value
    else:
        assert found == value


# --- every operator ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"field": "data.score.band", "equals": "negative"}, True),
        ({"field": "data.score.band", "equals": "positive"}, False),
        ({"field": "data.score.value", "equals": 3.0}, True),
        ({"field": "data.customer.name", "equals": None}, True),
        ({"field": "data.score.band", "not_equals": "positive"}, True),
        ({"field": "data.score.band", "not_equals": "negative"}, False),
        ({"field": "data.score.value", "gt": 2}, True),
        ({"field": "data.score.value", "gt": 3}, False),
        ({"field": "data.score.value", "gte": 3}, True),
        ({"field": "data.score.value", "gte": 3.5}, False),
        ({"field": "data.score.value", "lt": 4}, True),
        ({"field": "data.score.value", "lt": 3}, False),
        ({"field": "data.score.value", "lte": 3}, True),
        ({"field": "data.score.value", "lte": 2.99}, False),
        ({"field": "data.score.ratio", "lt": 0.5}, True),
        ({"field": "data.score.band", "gt": "aaa"}, True),  # two strings compare
        ({"field": "data.score.band", "lt": "aaa"}, False),
        ({"field": "data.attributes.plan", "in": ["pro", "enterprise"]}, True),
        ({"field": "data.attributes.plan", "in": ["free", "pro"]}, False),
        ({"field": "data.attributes.plan", "in": []}, False),
        ({"field": "data.text", "contains": "export"}, True),
        ({"field": "data.text", "contains": "Export"}, False),
        ({"field": "data.tags", "contains": "billing"}, True),
        ({"field": "data.tags", "contains": 7}, True),
        ({"field": "data.tags", "contains": "bill"}, False),
        ({"field": "data.empty", "contains": "x"}, False),
        ({"field": "data.text", "regex": "^The .* failing$"}, True),
        ({"field": "data.text", "regex": "export"}, True),  # search, not fullmatch
        ({"field": "data.text", "regex": "(?i)EXPORT"}, True),
        ({"field": "data.text", "regex": "^export"}, False),
        ({"field": "data.customer.email", "exists": True}, True),
        ({"field": "data.customer.email", "exists": False}, False),
        ({"field": "data.customer.phone", "exists": False}, True),
        ({"field": "data.customer.phone", "exists": True}, False),
        ({"field": "data.customer.name", "exists": True}, False),  # null counts as absent
        ({"field": "data.customer.name", "exists": False}, True),
        ({"field": "data.empty", "exists": True}, True),  # an empty list is present
    ],
)
def test_operator(raw, expected):
    assert matches(raw) is expected


# --- missing fields and type mismatches ------------------------------------------------


@pytest.mark.parametrize(
    "op, value",
    [("equals", None), ("not_equals", "x"), ("gt", 0), ("gte", 0), ("lt", 0), ("lte", 0),
     ("in", [None]), ("contains", "x"), ("regex", ".*")],
)
def test_missing_field_never_matches(op, value):
    assert matches({"field": "data.nope", op: value}) is False


@pytest.mark.parametrize(
    "raw",
    [
        {"field": "data.attributes.count", "gt": 5},  # "12" > 5: str vs int
        {"field": "data.score.value", "gt": "1"},  # int vs str
        {"field": "data.score.value", "lte": "9"},
        {"field": "data.flag", "gt": 0},  # bools are not numbers here
        {"field": "data.score.value", "lt": True},
        {"field": "data.tags", "gt": 1},
        {"field": "data.score", "lt": 10},
        {"field": "data.score.value", "contains": 3},  # contains on a number
        {"field": "data.text", "contains": 7},  # non-string needle in a string
        {"field": "data.score.value", "regex": "3"},  # regex on a number
        {"field": "data.customer.name", "regex": ".*"},  # regex on null
    ],
)
def test_type_mismatch_is_false_not_an_error(raw):
    assert matches(raw) is False


def test_equals_between_types_is_false():
    assert matches({"field": "data.attributes.count", "equals": 12}) is False
    assert matches({"field": "data.attributes.count", "not_equals": 12}) is True


def test_compiled_field_test_shape():
    assert compile_condition({"field": "data.score.band", "equals": "negative"}) == FieldTest(
        "data.score.band", "equals", "negative"
    )


def test_env_value_is_unwrapped():
    condition = compile_condition({"field": "data.attributes.plan", "in": [EnvValue("PLAN", "enterprise"), "pro"]})
    assert condition == FieldTest("data.attributes.plan", "in", ["enterprise", "pro"])
    assert condition.matches(EVENT) is True


# --- all / any / not ------------------------------------------------------------------------

NEGATIVE = {"field": "data.score.band", "equals": "negative"}
POSITIVE = {"field": "data.score.band", "equals": "positive"}
ENTERPRISE = {"field": "data.attributes.plan", "equals": "enterprise"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"all": [NEGATIVE, ENTERPRISE]}, True),
        ({"all": [NEGATIVE, POSITIVE]}, False),
        ({"any": [POSITIVE, ENTERPRISE]}, True),
        ({"any": [POSITIVE, {"field": "data.nope", "equals": 1}]}, False),
        ({"not": POSITIVE}, True),
        ({"not": NEGATIVE}, False),
        ({"not": {"not": NEGATIVE}}, True),
        ({"all": [NEGATIVE, {"any": [POSITIVE, {"not": {"field": "data.nope", "exists": True}}]}]}, True),
        ({"any": [{"all": [NEGATIVE, POSITIVE]}, {"not": {"any": [NEGATIVE]}}]}, False),
        ({"not": {"field": "data.nope", "equals": 1}}, True),  # not of a missing-field test
    ],
)
def test_nesting(raw, expected):
    assert matches(raw) is expected


def test_compiled_nesting_shape():
    condition = compile_condition({"all": [NEGATIVE, {"any": [POSITIVE]}, {"not": ENTERPRISE}]})
    assert condition == All((
        FieldTest("data.score.band", "equals", "negative"),
        Any_((FieldTest("data.score.band", "equals", "positive"),)),
        Not(FieldTest("data.attributes.plan", "equals", "enterprise")),
    ))


def test_match_all_matches_everything():
    assert MATCH_ALL.matches({}) is True
    assert MATCH_ALL.matches(EVENT) is True


# --- compile errors ------------------------------------------------------------------------


def test_unknown_operator():
    assert messages({"field": "a", "resembles": 1}) == [
        f"a field test needs exactly one operator out of {OPERATOR_NAMES}; got ['resembles']"
    ]


def test_two_operators():
    assert messages({"field": "a", "equals": 1, "gt": 2}) == [
        f"a field test needs exactly one operator out of {OPERATOR_NAMES}; got ['equals', 'gt']"
    ]


def test_no_operator():
    assert messages({"field": "a"}) == [f"a field test needs exactly one operator out of {OPERATOR_NAMES}; got []"]


@pytest.mark.parametrize("raw", [{"equals": 1}, {"field": "", "equals": 1}, {"field": 3, "equals": 1}])
def test_field_is_required(raw):
    assert messages(raw) == {"field": ["a field test needs 'field: <dotted path>', e.g. data.score.band"]}


def test_regex_that_does_not_compile():
    assert messages({"field": "a", "regex": "("}) == {
        "regex": ["invalid regular expression: missing ), unterminated subpattern at position 0"]
    }


def test_regex_must_be_a_string():
    assert messages({"field": "a", "regex": 5}) == {"regex": ["regex takes a string"]}


@pytest.mark.parametrize("value", ["enterprise", 3, None, {"a": 1}])
def test_in_without_a_list(value):
    assert messages({"field": "a", "in": value}) == {"in": ["'in' takes a list of values"]}


@pytest.mark.parametrize("value", [1, "yes", None])
def test_exists_takes_a_bool(value):
    assert messages({"field": "a", "exists": value}) == {"exists": ["'exists' takes true or false"]}


@pytest.mark.parametrize("key", ["all", "any"])
@pytest.mark.parametrize("value", [[], None, NEGATIVE])
def test_all_any_need_a_non_empty_list(key, value):
    assert messages({key: value}) == {key: [f"'{key}' takes a non-empty list of conditions"]}


@pytest.mark.parametrize("raw, kind", [([], "list"), ("x", "str"), (None, "NoneType")])
def test_condition_must_be_a_mapping(raw, kind):
    assert messages(raw) == [f"a condition must be a mapping, got {kind}"]


def test_combinators_cannot_share_a_mapping():
    assert messages({"all": [NEGATIVE], "any": [POSITIVE]}) == [
        "'all' cannot be combined with ['any'] in the same mapping; nest them"
    ]
    assert messages({"not": NEGATIVE, "field": "a", "equals": 1}) == [
        "'not' cannot be combined with ['equals', 'field'] in the same mapping; nest them"
    ]


def test_nested_errors_are_keyed_by_path():
    raw = {"any": [NEGATIVE, {"not": {"field": "b", "regex": "("}}]}
    assert messages(raw) == {
        "any": {1: {"not": {"regex": ["invalid regular expression: missing ), unterminated subpattern at position 0"]}}}
    }


def test_deeply_nested_errors_are_keyed_by_path():
    raw = {"all": [NEGATIVE, {"any": [POSITIVE, {"all": [ENTERPRISE, {"field": "x", "in": 3}]}]}]}
    assert messages(raw) == {"all": {1: {"any": {1: {"all": {1: {"in": ["'in' takes a list of values"]}}}}}}}


def test_nested_unkeyed_error_sits_under_its_position():
    assert messages({"all": [NEGATIVE, {"field": "a", "like": 1}]}) == {
        "all": {1: [f"a field test needs exactly one operator out of {OPERATOR_NAMES}; got ['like']"]}
    }


def test_nested_empty_list_is_keyed():
    assert messages({"not": {"all": []}}) == {"not": {"all": ["'all' takes a non-empty list of conditions"]}}


def test_not_of_a_non_mapping():
    assert messages({"not": ["x"]}) == {"not": ["a condition must be a mapping, got list"]}


@pytest.mark.parametrize("op, value, actual, expected", [
    ("equals", 1, True, False), ("equals", True, True, True), ("equals", 0, False, False),
    ("not_equals", 1, True, True), ("in", [1, 2], True, False), ("contains", 1, [True], False),
])
def test_booleans_are_not_numbers(op, value, actual, expected):
    assert compile_condition({"field": "data.flag", op: value}).matches({"data": {"flag": actual}}) is expected
