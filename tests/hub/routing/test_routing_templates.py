"""hub/routing/templates.py: compiling and rendering action parameters in the Jinja sandbox."""

from __future__ import annotations

import pytest
from jinja2 import Template

from hub.routing.sandbox import MAX_RENDERED_CHARS
from hub.routing.templates import TemplateProblem, compile_params, render_params

EVENT = {
    "id": "c63a70a2-bc5c-54c8-a83f-aea7b534931e",
    "type": "cx.survey.response",
    "data": {
        "customer": {"email": "ann@example.com", "name": None},
        "score": {"type": "nps", "value": 2, "band": "negative"},
        "text": "The export keeps failing.",
        "tags": ["billing", "export"],
        "zero": 0,
    },
}


def render(params, event=EVENT):
    return render_params(compile_params(params), event)


def render_problem(params, event=EVENT) -> TemplateProblem:
    compiled = compile_params(params)
    with pytest.raises(TemplateProblem) as caught:
        render_params(compiled, event)
    return caught.value


# --- compile and render ------------------------------------------------------------


def test_nested_params_render():
    params = {
        "project": "CX",
        "fields": {
            "summary": "NPS {{ data.score.value }} from {{ data.customer.email }}",
            "labels": ["cx", "{{ data.score.band }}", "{{ data.tags | join(',') }}"],
            "priority": {"name": "{% if data.score.value <= 6 %}High{% else %}Low{% endif %}"},
        },
        "count": 3,
        "enabled": True,
        "nothing": None,
    }
    assert render(params) == {
        "project": "CX",
        "fields": {
            "summary": "NPS 2 from ann@example.com",
            "labels": ["cx", "negative", "billing,export"],
            "priority": {"name": "High"},
        },
        "count": 3,
        "enabled": True,
        "nothing": None,
    }


def test_compile_only_compiles_template_strings():
    compiled = compile_params({"a": "plain {text}", "b": "{{ event.id }}", "c": ["{% if true %}x{% endif %}", 1]})
    assert compiled["a"] == "plain {text}"
    assert isinstance(compiled["b"], Template)
    assert isinstance(compiled["c"][0], Template)
    assert compiled["c"][1] == 1


def test_event_and_data_names():
    assert render("{{ event.type }}|{{ event.data.text == data.text }}") == "cx.survey.response|True"


def test_data_defaults_to_empty_mapping():
    assert render("{{ data | length }}", {"id": "x"}) == "0"


@pytest.mark.parametrize(
    "template, rendered",
    [
        ("{{ data.customer.name }}", ""),
        ("Hi {{ data.customer.name }}!", "Hi !"),
        ("{{ none }}", ""),
        ("{{ data.zero }}", "0"),
    ],
)
def test_none_renders_as_empty_string(template, rendered):
    assert render({"x": template}) == {"x": rendered}


def test_trailing_newline_is_kept():
    assert render("{{ data.score.band }}\n") == "negative\n"


def test_no_html_escaping():
    assert render_params(compile_params("{{ data.text }}"), {"data": {"text": "<b>&</b>"}}) == "<b>&</b>"


# --- render-time problems ----------------------------------------------------------------


def test_undefined_variable_names_the_param_path():
    problem = render_problem({"fields": [{"summary": "{{ data.missing }}"}]})
    assert problem.path == ("fields", 0, "summary")
    assert problem.message == "UndefinedError: 'dict object' has no attribute 'missing'"
    assert str(problem) == "params.fields[0].summary: UndefinedError: 'dict object' has no attribute 'missing'"


def test_undefined_top_level_name():
    problem = render_problem({"text": "{{ customer }}"})
    assert str(problem) == "params.text: UndefinedError: 'customer' is undefined"


def test_attribute_of_null_is_undefined():
    problem = render_problem({"a": "{{ data.customer.name.first }}"})
    assert problem.path == ("a",)
    assert problem.message.startswith("UndefinedError: ")


def test_undefined_top_level_param_path_is_params():
    assert str(render_problem("{{ nope }}")) == "params: UndefinedError: 'nope' is undefined"


# --- compile-time problems ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params, where, detail",
    [
        ({"a": {"b": "{{ x }"}}, "params.a.b", "unexpected '}'"),
        ({"a": [1, "{% if %}"]}, "params.a[1]", "Expected an expression, got 'end of statement block'"),
        ({"a": "{% for x in y %}"}, "params.a", "Unexpected end of template"),
        ({"a": "{{ data.text | no_such_filter }}"}, "params.a", "No filter named 'no_such_filter'"),
    ],
)
def test_syntax_error_at_compile_time(params, where, detail):
    with pytest.raises(TemplateProblem) as caught:
        compile_params(params)
    assert str(caught.value).startswith(f"{where}: template does not compile: ")
    assert detail in caught.value.message


# --- sandbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template, unsafe",
    [
        ("{{ event.__class__ }}", "access to attribute '__class__' of 'dict' object is unsafe."),
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
        ("{{ data.text.__class__.__base__.__subclasses__() }}", "attribute '__class__' of 'str' object is unsafe"),
        ("{{ data.update({'x': 1}) }}", "access to attribute 'update' of 'dict' object is unsafe."),
        ("{{ data.tags.append('x') }}", "access to attribute 'append' of 'list' object is unsafe."),
    ],
)
def test_sandbox_blocks_unsafe_access(template, unsafe):
    event = {"data": {"text": "t", "tags": ["a"]}}
    problem = render_problem({"p": template}, event)
    assert problem.path == ("p",)
    assert problem.message.startswith("SecurityError: ")
    assert unsafe in problem.message
    assert "<class" not in str(problem)
    assert event == {"data": {"text": "t", "tags": ["a"]}}


def test_sandbox_still_allows_safe_methods():
    assert render("{{ data.text.upper() }}") == "THE EXPORT KEEPS FAILING."


# --- size limit ---------------------------------------------------------------------------


def test_output_at_the_limit_is_fine():
    assert len(render("{{ 'x' * %d }}" % MAX_RENDERED_CHARS)) == MAX_RENDERED_CHARS == 64 * 1024


def test_output_over_the_limit():
    problem = render_problem({"body": "{{ 'x' * 65537 }}"})
    assert problem.path == ("body",)
    assert problem.message == "SecurityError: repeating 1 items 65537 times is over the output limit"


def test_long_event_text_is_cut_at_the_limit_with_a_link_to_the_full_text():
    event = {"id": "e-1", "data": {"text": "y" * 1_000_000, "link": {"url": "https://surveys.example.com/r/7"}}}
    rendered = render({"blocks": [{"text": "> {{ data.text }}"}]}, event)["blocks"][0]["text"]
    assert len(rendered) == MAX_RENDERED_CHARS
    assert rendered.startswith("> yyy")
    assert rendered.endswith("… [truncated; full text: https://surveys.example.com/r/7]")


def test_without_a_vendor_link_the_marker_names_the_event():
    rendered = render({"text": "{{ data.text }}"}, {"id": "e-1", "data": {"text": "z" * 70_000}})["text"]
    assert rendered.endswith("… [truncated; full text: cxhub event e-1]") and len(rendered) == MAX_RENDERED_CHARS


def test_an_output_flood_stops_at_the_limit_and_is_cut():
    import time

    started = time.monotonic()
    flood = "{% for i in range(1000) %}{% for j in range(1000) %}{{ i }}{% endfor %}{% endfor %}"
    rendered = render({"summary": flood})["summary"]
    assert len(rendered) == MAX_RENDERED_CHARS and rendered.endswith("… [truncated; full text: cxhub event "
                                                                      "c63a70a2-bc5c-54c8-a83f-aea7b534931e]")
    assert time.monotonic() - started < 5  # the rest of the loop never runs


# --- errors that are not Jinja's own ------------------------------------------------------


def test_python_error_while_rendering_is_a_template_problem():
    problem = render_problem({"summary": "{{ data.text + 1 }}"})
    assert problem.path == ("summary",)


# --- hostile templates: bounded work ---------------------------------------------------


@pytest.mark.parametrize("source, reason", [
    ("{{ 'x' * 100000000 }}", "repeating 1 items 100000000 times"),
    ("{{ [1] * 100000000 }}", "repeating 1 items 100000000 times"),
    ("{{ 10 ** 10000000 }}", "10 ** 10000000 is too large a number"),
    ("{% for i in range(1000000) %}{% endfor %}", "range() of 1000000 items is over the 1000 limit"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
     "{% endfor %}{% endfor %}{% endfor %}", "more than 10000 calls"),
])
def test_hostile_templates_stop_quickly_with_a_reason(source, reason):
    import time

    started = time.monotonic()
    problem = render_problem({"summary": source})
    assert reason in problem.message and problem.path == ("summary",)
    assert time.monotonic() - started < 5


def test_ordinary_arithmetic_still_works():
    from hub.routing.templates import compile_params, render_params

    rendered = render_params(compile_params({"a": "{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ range(3) | list }}"}), {"data": {}})
    assert rendered == {"a": "1024 ababab [0, 1, 2]"}


def test_an_html_parameter_escapes_what_it_inserts_and_the_others_do_not():
    params = compile_params({"html": "<p>{{ data.text }} {{ '<b>ok</b>' | safe }}</p>", "text": "{{ data.text }}",
                             "nested": {"html": "{{ data.text }}"}}, html_params={"html"})
    rendered = render_params(params, {"data": {"text": "<script>alert(1)</script>"}})
    assert rendered["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; <b>ok</b></p>"
    assert rendered["text"] == "<script>alert(1)</script>"
    assert rendered["nested"]["html"] == "<script>alert(1)</script>"  # only top-level names are HTML
