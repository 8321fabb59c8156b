"""c08.1: the request schemas refuse text no encoder takes, and blank and unsafe values, on every model."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from c08_serving_ops.core.schemas import NOT_BLANK, SAFE_INT, DocumentsRequest, EmbedRequest, SearchRequest, check_text

pytestmark = pytest.mark.task("c08.1")


def test_not_blank_is_str_strip() -> None:
    """The schema's "not blank" pattern agrees with ``text.strip()`` on every code point, and the model with both."""
    pattern = re.compile(NOT_BLANK)
    blank = []
    for code in range(0x110000):
        char = chr(code)
        assert (pattern.search(char) is None) == (not char.strip()), hex(code)
        if not char.strip():
            blank.append(char)
    for char in blank:
        with pytest.raises(ValidationError, match="text 0 is empty"):
            EmbedRequest.model_validate({"inputs": f"{char}{char}"})
    for code in range(0x21, 0x110000, 557):  # a spread of the others, every plane
        if not 0xD800 <= code <= 0xDFFF:
            assert EmbedRequest.model_validate({"inputs": [chr(code)]}).inputs == [chr(code)]


def test_integers_are_json_safe() -> None:
    assert SearchRequest.model_validate({"query": "q", "top_k": 5.0}).top_k == 5
    with pytest.raises(ValueError):
        SearchRequest.model_validate({"query": "q", "top_k": "5"})  # strings stay refused
    body = {"documents": [{"id": "a", "text": "t", "metadata": {"n": SAFE_INT + 1}}]}
    with pytest.raises(ValueError):
        DocumentsRequest.model_validate(body)


@settings(deadline=None, max_examples=60)
@given(before=st.text(max_size=20), code=st.integers(0xD800, 0xDFFF), after=st.text(max_size=20),
       model=st.sampled_from(["embed", "search"]))
def test_any_lone_surrogate_anywhere_is_refused(before: str, code: int, after: str, model: str) -> None:
    text = before + chr(code) + after
    with pytest.raises(ValidationError) as refused:
        if model == "embed":
            EmbedRequest.model_validate({"inputs": ["ok", text]})
        else:
            SearchRequest.model_validate({"query": "x" + text, "filter": {"k": [text]}})
    kinds = {e["type"] for e in refused.value.errors()}
    assert kinds & {"invalid_text", "string_unicode"}, refused.value.errors()  # ours, or pydantic's own check
    assert check_text(["ok", {"k": before + after}]) == ["ok", {"k": before + after}]
