"""One name per concept across the modules: what a learner learns in one module means the same in the next."""

from __future__ import annotations

import inspect
from typing import get_args


def test_one_vocabulary_of_retrieval_modes() -> None:
    """c06's pipeline, c08's engine and c08's HTTP API name modes, fusions and the cut-off with the same words."""
    from c06_retrieval_tools import FUSIONS, MODES, RetrievalSystem
    from c08_serving_ops.core.schemas import SearchRequest
    from c08_serving_ops.search.engine import Fusion, Mode, SearchEngine

    assert get_args(Mode) == MODES and get_args(Fusion) == FUSIONS
    fields = SearchRequest.model_fields
    assert get_args(fields["mode"].annotation) == MODES and get_args(fields["fusion"].annotation) == FUSIONS
    for search in (RetrievalSystem.search, SearchEngine.search):
        parameters = inspect.signature(search).parameters
        assert {"top_k", "mode", "fusion"} <= set(parameters), search.__qualname__


def test_one_hit_and_one_stop_string() -> None:
    """(doc id, score) is c06's ``Hit`` wherever a bare hit is passed; the stop-string type is defined once."""
    from c06_retrieval_tools import Hit
    from c08_serving_ops.core.schemas import StopString
    from c08_serving_ops.generation import chat_schemas
    from c08_serving_ops.search import vectors
    from c08_serving_ops.server import generate_api

    assert vectors.Hit is Hit
    assert chat_schemas.StopString is StopString and generate_api.StopString is StopString


def test_validation_helpers_take_the_name_first() -> None:
    """c02's and c03's ``check_choice`` read like the ``name=value`` they check."""
    from c02_data.validation import check_choice as c02_check_choice
    from c03_ml_basics.validation import check_choice as c03_check_choice

    for check in (c02_check_choice, c03_check_choice):
        assert list(inspect.signature(check).parameters)[:2] == ["name", "value"], check.__module__
