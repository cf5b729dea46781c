"""Prompt templates: rendering, validation, versions in cache keys."""

import re

import pytest

from causalrec_tutorial.lm import cache, prompts


def test_templates_render_and_end_open():
    for template in prompts.TEMPLATES.values():
        values = {f: ["Alien (1979)", "Aliens (1986)"] if f == "items" else f"Value of {f}" for f in template.fields}
        text = template.render(**values)
        for field in template.fields:
            assert ("Alien (1979); Aliens (1986)" if field == "items" else f"Value of {field}") in text
        assert not re.search(r"\$[A-Za-z_{]", text), "an unfilled $field"  # "$89.99" (from "$$89.99") is a price
        assert text.endswith(":") and template.id == f"{template.name}@{template.version}"


def test_render_validates():
    with pytest.raises(ValueError, match="missing"):
        prompts.RANK_CANDIDATES.render()
    with pytest.raises(ValueError, match="unexpected"):
        prompts.RANK_CANDIDATES.render(items=["a"], user="b")
    with pytest.raises(ValueError, match="non-empty"):
        prompts.RANK_CANDIDATES.render(items=[])
    with pytest.raises(TypeError):
        prompts.RANK_CANDIDATES.render(items=3)
    with pytest.raises(TypeError, match="single string"):
        prompts._items("abc")


def test_version_is_part_of_the_cache_key():
    t = prompts.INTEREST_SUMMARY
    bumped = prompts.PromptTemplate(t.name, t.version + "x", t.text, t.fields)
    text = t.render(items=["Heat (1995)"])
    assert cache.make_key("m", {}, t.id, text) != cache.make_key("m", {}, bumped.id, text)
