"""c08.4: the event loop never blocks: tokenisation runs on the service's bounded CPU pool, and long texts cost
what their head costs (/health under ten 1 MB inputs and a generation is c08.9's, in ``test_c08_9_generate.py``)."""

from __future__ import annotations

import pytest
from conftest import AppServer, tokenize_threads
from hypothesis import given, settings
from hypothesis import strategies as st

from c08_serving_ops.search.embedder import HEAD_CHARS_PER_TOKEN, Embedder, head_of

pytestmark = pytest.mark.task("c08.4")



def test_tokenisation_runs_on_the_cpu_pool_not_the_loop(live: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = tokenize_threads(live.service.components, monkeypatch)
    with live.client() as client:
        assert client.post("/embed", json={"inputs": "off the loop"}).status_code == 200
    assert len(threads) == 1 and all(name.startswith("c08-cpu") for name in threads), threads
    assert live.service.cpu_pool._max_workers == live.service.settings.cpu_workers


@settings(deadline=None, max_examples=60, derandomize=True)
@given(st.lists(st.sampled_from(["flow", "Über", "naïve", "的", "x" * 120, "\u3000", "\x1c", "-", "a.b", "é",
                                 "", " ", "  ", "\n", "\t", "\r\n"]), min_size=0, max_size=2500))
def test_a_long_text_is_tokenized_by_its_head_with_the_same_ids(pieces: list[str]) -> None:
    embedder = shared_embedder()
    text = "".join(pieces)
    ours = embedder.tokenize([text])[0]
    whole = embedder._tokenizer.encode_batch([text])[0]
    assert ours.ids == list(whole.ids) and ours.truncated == bool(whole.overflowing)


_EMBEDDER: list[Embedder] = []


def shared_embedder() -> Embedder:
    if not _EMBEDDER:
        _EMBEDDER.append(Embedder(max_tokens=32))  # a small budget: heads of 512 characters, many cases cut
    return _EMBEDDER[0]


def test_head_of_cuts_at_ascii_whitespace_only() -> None:
    assert head_of("short", 10) == "short"
    assert head_of("aaaa bbbb cccc", 11) == "aaaa bbbb"
    assert head_of("aaaa\tbbbb\ncccc", 12) == "aaaa\tbbbb"
    assert head_of("x" * 50, 10) == "x" * 50  # no safe cut point: the whole text
    assert head_of("aa\u3000bb" * 10, 8) == "aa\u3000bb" * 10  # a Unicode space is not a safe cut point
    assert HEAD_CHARS_PER_TOKEN >= 4
