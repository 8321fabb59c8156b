"""c08.13: the whole service soaked on the real process: part 1's routes and the generation service's.

c08.8 soaks part 1's routes on a server without the language model; once ``/rag`` exists every
route is soaked together, with a key, on a server with generation on: ``/generate`` as JSON and as a
stream, ``/v1/models``, ``/v1/chat/completions`` and ``/rag`` on both routes, beside the search
routes and the bad inputs.
"""

from __future__ import annotations

import pytest
from conftest import SMOKE_KEYS, assert_every_call_answered

from c08_serving_ops.tools import soak
from c08_serving_ops.tools.process import ServerProcess

pytestmark = pytest.mark.task("c08.13")


def test_a_short_authenticated_soak_over_every_route(generation_process: ServerProcess) -> None:
    assert "soak" in SMOKE_KEYS
    report = soak.run_soak(generation_process.url, generation_process.pid, api_key="soak", seconds=120.0,
                           concurrency=2, max_rounds=3, interval_s=0.25, settle_s=1.0, anonymous=False)
    calls = soak.round_of_calls(0, "any", anonymous=False)
    assert {call.name for call in calls if call.generation} == {
        "generate", "generate_stream", "models", "chat", "rag_extractive", "rag_generate", "bad_max_new_tokens"}
    assert_every_call_answered(report, calls, rounds=3, warmup_rounds=1)
