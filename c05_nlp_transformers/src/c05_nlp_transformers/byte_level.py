"""GPT-2's byte-level alphabet: every byte written as one printable character.

Byte-level BPE works on bytes, but GPT-2's ``vocab.json`` and ``merges.txt`` are text files, and
a space or a control byte inside a token would be invisible or break the one-merge-per-line format.
So each of the 256 bytes gets a printable stand-in: the 188 printable Latin-1 bytes stand for
themselves, and the other 68 (controls, space, DEL, NBSP, soft hyphen) map to the characters
U+0100, U+0101, ... in byte order. A space is ``Ġ`` (U+0120), a newline ``Ċ`` (U+010A), so
``"Ġthe"`` is the token ``b" the"``. The same table is in GPT-2's encoder.py, Hugging Face's
``ByteLevel`` pre-tokenizer, and the tokenizer of every GGUF file with a "gpt2" tokenizer model.
"""

from __future__ import annotations

import functools


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map: printable Latin-1 bytes map to themselves,
    the other 68 bytes (controls, space, ...) to the characters 256, 257, ... in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


@functools.cache
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def gpt2_string_to_bytes(token: str) -> bytes:
    """A token as written in a GPT-2 ``vocab.json`` (``"Ġthe"``) to its bytes (``b" the"``)."""
    table = unicode_to_bytes()
    try:
        return bytes(table[c] for c in token)
    except KeyError as err:
        raise ValueError(f"token {token!r} contains {err.args[0]!r}, which is not a byte-level character") from None


def bytes_to_gpt2_string(token: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in token)
