"""GPT-2's byte-level alphabet: every byte written as one printable character.

Byte-level BPE works on bytes, but GPT-2's ``vocab.json`` and ``merges.txt`` are text files, and
a space or a control byte inside a token would be invisible or break the one-merge-per-line format.
So each of the 256 bytes gets a printable stand-in: the 188 printable Latin-1 bytes stand for
themselves, and the other 68 (controls, space, DEL, NBSP, soft hyphen) map to the characters
U+0100, U+0101, ... in byte order. A space is ``Ġ`` (U+0120), a newline ``Ċ`` (U+010A), so
``"Ġthe"`` is the token ``b" the"``. The same table is in GPT-2's encoder.py, Hugging Face's
``ByteLevel`` pre-tokenizer, and the tokenizer of every GGUF file with a "gpt2" tokenizer model.

The second half of the file is about the text side of bytes: :func:`check_text` rejects what is
not text (lone surrogates have no UTF-8 bytes), and :func:`replace_unspellable` handles a
vocabulary that lacks some single-byte tokens (SmolLM2's lacks eight that valid UTF-8 uses).
"""

from __future__ import annotations

import functools

import regex  # type: ignore[import-untyped]  # no stubs for the regex module


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


# -- which texts a vocabulary can spell -------------------------------------------------------

REPLACEMENT = "\ufffd"  # U+FFFD, Unicode's stand-in for a character that cannot be represented
_SURROGATE = regex.compile(r"[\ud800-\udfff]")


def check_text(text: object) -> str:
    """``text`` itself when it is a ``str`` of Unicode characters; a ValueError otherwise.

    A Python ``str`` can hold lone surrogates (U+D800 to U+DFFF, from ``"\\ud800"`` or a JSON escape
    such as ``"\\ud83d"`` without its pair): they are not characters and have no UTF-8 bytes, so no
    byte-level tokenizer can encode them. They are rejected here, with their position, rather than
    failing inside the UTF-8 codec halfway through the merges.
    """
    # BEGIN SOLUTION c05.1: a str without surrogates; otherwise a ValueError saying what and where
    if not isinstance(text, str):
        raise ValueError(f"expected text (a str), got {type(text).__name__}")
    if not text.isascii():  # O(1) in CPython: pure-ASCII text needs no scan
        bad = _SURROGATE.search(text)
        if bad is not None:
            raise ValueError(
                f"the text holds a lone surrogate U+{ord(bad.group()):04X} at position {bad.start()}: "
                "surrogates are not characters and have no UTF-8 encoding"
            )
    return text
    # END SOLUTION


@functools.lru_cache(maxsize=16)
def _suspects(missing: frozenset[int]) -> regex.Pattern[str]:
    """Characters whose UTF-8 form may contain a byte of ``missing``, as one character class.

    A one-byte character is its byte. A lead byte fixes a block of code points: ``C2``-``DF`` 64,
    ``E0``-``EF`` 4,096, ``F0``-``F4`` 262,144 (``F1`` is U+40000 to U+7FFFF). A continuation byte
    (``80``-``BF``) can sit in any non-ASCII character. ``C0``, ``C1`` and ``F5``-``FF`` never occur in UTF-8.
    """
    spans = []
    for b in sorted(missing):
        if b < 0x80:
            spans.append((b, b))
        elif b < 0xC0:
            spans.append((0x80, 0x10FFFF))
        elif 0xC2 <= b <= 0xDF:
            spans.append(((b & 0x1F) << 6, ((b & 0x1F) << 6) + 0x3F))
        elif 0xE0 <= b <= 0xEF:
            spans.append((max((b & 0x0F) << 12, 0x800), ((b & 0x0F) << 12) + 0xFFF))
        elif 0xF0 <= b <= 0xF4:
            spans.append((max((b & 0x07) << 18, 0x10000), min(((b & 0x07) << 18) + 0x3FFFF, 0x10FFFF)))
    return regex.compile("[" + "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in spans) + "]" if spans else "(?!)")


def replace_unspellable(text: str, missing: frozenset[int]) -> str:
    """``text`` with every character whose UTF-8 bytes include a ``missing`` byte replaced by U+FFFD.

    A vocabulary without the single-byte token of byte ``b`` has no way to write any character that
    contains ``b`` (SmolLM2's lacks ``F1`` and ``F2``: every code point from U+40000 to U+BFFFF). Such a
    character becomes U+FFFD, which the model can read, instead of an id outside its vocabulary or a
    silently dropped byte.
    """
    # BEGIN SOLUTION c05.1: find the candidates with one pattern, check each one's bytes exactly
    if not missing:
        return text

    def replace(match: regex.Match[str]) -> str:
        char: str = match.group()
        return REPLACEMENT if any(b in missing for b in char.encode("utf-8")) else char

    result: str = _suspects(missing).sub(replace, text)
    return result
    # END SOLUTION
