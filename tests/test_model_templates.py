"""Key templates: rendering, parsing back, and the mistakes they refuse."""

from __future__ import annotations

import pytest

from knight.model.templates import KeyTemplate, TemplateError


def test_render_and_parse_round_trip() -> None:
    template = KeyTemplate("g#e#{enrollmentId}#h#{chapterId}")
    key = template.render({"enrollmentId": "e1", "chapterId": "h9"})
    assert key == "g#e#e1#h#h9"
    assert template.parse(key) == {"enrollmentId": "e1", "chapterId": "h9"}
    assert template.fields == ("enrollmentId", "chapterId")
    assert template.literal_prefix == "g#e#"


def test_lower_transform_applies_on_render() -> None:
    template = KeyTemplate("s#{email|lower}")
    assert template.render({"email": "Ada.Lovelace@Example.com"}) == "s#ada.lovelace@example.com"


def test_constant_template() -> None:
    template = KeyTemplate("track")
    assert template.is_constant
    assert template.render({}) == "track"
    assert template.parse("track") == {}
    assert template.parse("tracks") is None


def test_parse_rejects_keys_of_other_shapes() -> None:
    template = KeyTemplate("h#{id}#v{version}")
    assert template.parse("h#abc#v12") == {"id": "abc", "version": "12"}
    assert template.parse("c#abc") is None
    assert template.parse("h#abc") is None


def test_repeated_field_must_agree() -> None:
    template = KeyTemplate("{id}#{other}#{id}")
    assert template.parse("a#b#a") == {"id": "a", "other": "b"}
    assert template.parse("a#b#c") is None


def test_missing_value_names_the_field() -> None:
    with pytest.raises(KeyError, match="courseId"):
        KeyTemplate("c#{courseId}").render({})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("c#{id", "stray brace"),
        ("c#id}", "stray brace"),
        ("s#{email|upper}", "unknown transform"),
        ("{a}{b}", "side by side"),
        ("", "empty"),
    ],
)
def test_malformed_templates_are_refused(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        KeyTemplate(text)
