"""Turn what people type in the search box into a safe FTS5 expression.

Each word becomes a quoted prefix term (``"cat"*``) so FTS5 operators and
punctuation typed by users can never form a syntax error; words are ANDed.
The full booru-style language replaces this in the search issue.
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def to_match(query: str) -> str | None:
    words = WORD.findall(query or "")[:MAX_TERMS]
    if not words:
        return None
    return " AND ".join(f'"{word}"*' for word in words)
