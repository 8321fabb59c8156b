"""GPT-2's pre-tokenisation pattern, its letter and digit classes pinned to Unicode 16.0.

The pattern (GPT-2's, in the ``regex`` module's syntax) cuts text into chunks that no merge crosses::

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

``\\p{L}`` (letters) and ``\\p{N}`` (digits and other numbers) mean "as of the Unicode version this
regex engine knows", and engines know different versions. The ``regex`` module pinned in
``constraints.txt`` knows characters that Oniguruma inside Hugging Face ``tokenizers`` (Unicode 16.0:
the library that trained and serves the GPT-2-style vocabularies loaded here) does not: CJK
Extension J, new Latin letters, Tangut components and more, 17,480 letters and digits in all. To
``tokenizers`` they are unassigned, so they fall in ``[^\\s\\p{L}\\p{N}]`` with punctuation; to
``regex`` they are letters that join the word around them. ``"a\\U000323B0b"`` would be one chunk
here and three there, with different ids.

So a tokenizer's split must not depend on which Unicode tables its regex engine ships. The
classes below are ``\\p{L}`` and ``\\p{N}`` minus the characters assigned after Unicode 16.0
(:data:`ASSIGNED_AFTER_UNICODE_16`), written with the ``regex`` module's set difference ``--``
(version 1 syntax, ``(?V1)``). When ``regex`` or ``tokenizers`` is upgraded, the property test of
c05.1 that compares the two on every plane says whether this table still holds.
"""

from __future__ import annotations

# Letters and digits that regex 2026.11.19 knows and Unicode 16.0 does not (inclusive ranges).
ASSIGNED_AFTER_UNICODE_16: tuple[tuple[int, int], ...] = (
    (0x00558, 0x00558), (0x0058B, 0x0058C), (0x0088F, 0x0088F), (0x00C5C, 0x00C5C), (0x00CDC, 0x00CDC),
    (0x0208F, 0x0208F), (0x0209D, 0x0209F), (0x0A7CE, 0x0A7CF), (0x0A7D2, 0x0A7D2), (0x0A7D4, 0x0A7D4),
    (0x0A7DD, 0x0A7DD), (0x0A7E2, 0x0A7E2), (0x0A7F1, 0x0A7F1), (0x0AB6C, 0x0AB6D), (0x107BB, 0x107BF),
    (0x10940, 0x10959), (0x10EC5, 0x10EC7), (0x10ED9, 0x10EEE), (0x11B0A, 0x11B0A), (0x11DB0, 0x11DDB),
    (0x11DE0, 0x11DE9), (0x11DF1, 0x11DF1), (0x1246F, 0x1246F), (0x12475, 0x1247F), (0x12550, 0x12686),
    (0x16EA0, 0x16EB8), (0x16EBB, 0x16ED3), (0x16FF2, 0x16FF6), (0x187F8, 0x187FF), (0x18CD6, 0x18CDA),
    (0x18D09, 0x18D20), (0x18D80, 0x18DF2), (0x18E00, 0x19191), (0x191A0, 0x191D2), (0x1B123, 0x1B128),
    (0x1B168, 0x1B168), (0x1D6A6, 0x1D6A6), (0x1DF1F, 0x1DF24), (0x1DF2B, 0x1DF81), (0x1DF90, 0x1DF96),
    (0x1DFCD, 0x1DFFF), (0x1E6C0, 0x1E6DE), (0x1E6E0, 0x1E6E2), (0x1E6E4, 0x1E6E5), (0x1E6E7, 0x1E6ED),
    (0x1E6F0, 0x1E6F4), (0x1E6FE, 0x1E6FF), (0x2B73A, 0x2B73F), (0x2B81E, 0x2B81E), (0x2CEA2, 0x2CEAD),
    (0x323B0, 0x33479), (0x3D000, 0x3FC3F),
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in ranges) + "]"


_NEW = _char_class(ASSIGNED_AFTER_UNICODE_16)
# ASCII first: in English text nearly every character is decided before the set difference is looked at.
LETTER = rf"[A-Za-z[\p{{L}}--{_NEW}]]"  # \p{L} as of Unicode 16.0
NUMBER = rf"[0-9[\p{{N}}--{_NEW}]]"  # \p{N} as of Unicode 16.0
OTHER = rf"[[^\s\p{{L}}\p{{N}}]{_NEW}]"  # neither space, letter nor number (unassigned code points included)

GPT2_PATTERN = rf"""(?V1)'s|'t|'re|'ve|'m|'ll|'d| ?{LETTER}+| ?{NUMBER}+| ?{OTHER}+|\s+(?!\S)|\s+"""
