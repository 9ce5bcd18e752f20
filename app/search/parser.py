"""The search language: a tokenizer and a recursive-descent parser.

People type booru-style queries (``cat -dog ~red ~blue rating:g,s
width:>=1024 "a quiet harbour" order:random``). This module turns the text
into a small immutable tree, or refuses it with a ``QueryError`` that names
the 1-based column of the problem, so the search box and the API can point
at it. It knows nothing about SQL or the database: ``compiler`` does that.

Grammar (``or`` and ``~`` bind looser than the implicit AND, ``-`` binds
tightest, parentheses group)::

    query   := or_expr?
    or_expr := and_expr ("or" and_expr)*
    and_expr:= factor+          # the ``~`` factors of one and_expr form one OR group
    factor  := ["~"] ["-"] primary
    primary := "(" or_expr ")" | WORD | "free text" | key:value

Decisions worth knowing:

* A word is a tag; ``_`` in a word stands for a space (``red_theme``).
* ``(`` opens a group unless the whole word is a balanced tag such as
  ``(o)_(o)``; trailing ``)`` beyond the word's own balance close groups.
* A quoted text that is never closed runs to the end of the query (what
  people mean when they forget the last quote); an unclosed quoted metatag
  value is an error.
* ``-cat*`` (a negated wildcard) is allowed; the compiler refuses it only
  when the wildcard matches more tags than it may expand.
* ``order:`` may appear once, at the top level only (never negated, inside
  parentheses or in an OR).
* A word of letters followed by ``:`` must be a known metatag, so a typo
  such as ``ratng:g`` is an error rather than a search for a strange tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app import tagging
from app.errors import BadRequest
from app.search.syntax import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    META_PREFIX,
    And,
    Meta,
    Node,
    Not,
    Or,
    QueryError,
    Tag,
    Text,
    Wildcard,
)
from app.search.values import METATAGS

# -- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "-", "~", "or", "word", "text", "meta"
    text: str
    position: int
    value: str = ""
    value_position: int = 0


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(query):
        index = _next_token(query, index, tokens)
    return tokens


def _next_token(query: str, index: int, tokens: list[Token]) -> int:
    char = query[index]
    if char.isspace():
        return index + 1
    if char == '"':
        return _quoted_text(query, index, tokens)
    if char in "-~":
        return _prefix(query, index, tokens)
    if char == ")" or (char == "(" and _opens_group(query, index)):
        tokens.append(Token(char, char, index + 1))
        return index + 1
    return _word(query, index, tokens)


def _prefix(query: str, index: int, tokens: list[Token]) -> int:
    char = query[index]
    if index + 1 >= len(query) or query[index + 1].isspace():
        raise QueryError(f"Put '{char}' right before a term, without a space.", index + 1)
    tokens.append(Token(char, char, index + 1))
    return index + 1


def _quoted_text(query: str, index: int, tokens: list[Token]) -> int:
    close = query.find('"', index + 1)
    end = len(query) if close < 0 else close
    tokens.append(Token("text", query[index + 1:end], index + 1))
    return end + 1


def _chunk_end(query: str, index: int) -> int:
    end = index
    while end < len(query) and not query[end].isspace() and query[end] != '"':
        end += 1
    return end


def _excess_closers(chunk: str) -> int:
    excess = chunk.count(")") - chunk.count("(")
    trailing = len(chunk) - len(chunk.rstrip(")"))
    return max(0, min(excess, trailing))


def _wrapped(chunk: str) -> bool:
    """True when the first ``(`` is closed by the chunk's last character."""
    depth = 0
    for offset, char in enumerate(chunk):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return offset == len(chunk) - 1
    return False


def _opens_group(query: str, index: int) -> bool:
    chunk = query[index:_chunk_end(query, index)]
    chunk = chunk[:len(chunk) - _excess_closers(chunk)]
    if chunk.count("(") == chunk.count(")"):
        return _wrapped(chunk)
    return True


def _word(query: str, index: int, tokens: list[Token]) -> int:
    end = _chunk_end(query, index)
    prefix = META_PREFIX.fullmatch(query[index:end])
    if prefix and end < len(query) and query[end] == '"':
        return _quoted_meta(query, index, end, tokens)
    chunk = query[index:end]
    closers = _excess_closers(chunk)
    chunk = chunk[:len(chunk) - closers]
    tokens.append(_word_token(chunk, index + 1))
    for offset in range(closers):
        tokens.append(Token(")", ")", index + len(chunk) + offset + 1))
    return end


def _quoted_meta(query: str, start: int, quote: int, tokens: list[Token]) -> int:
    close = query.find('"', quote + 1)
    if close < 0:
        raise QueryError("Close the quoted value with '\"'.", quote + 1)
    key = query[start:quote - 1]
    tokens.append(_meta_token(key, query[quote + 1:close], start + 1, quote + 2))
    return close + 1


def _word_token(chunk: str, position: int) -> Token:
    if chunk.lower() == "or":
        return Token("or", chunk, position)
    prefix = META_PREFIX.match(chunk)
    if prefix is None:
        return Token("word", chunk, position)
    key = prefix.group(1)
    return _meta_token(key, chunk[len(key) + 1:], position, position + len(key) + 1)


def _meta_token(key: str, value: str, position: int, value_position: int) -> Token:
    if key.lower() not in METATAGS:
        known = ", ".join(f"{name}:" for name in METATAGS)
        raise QueryError(f"Unknown metatag '{key}:'. Known: {known}", position)
    if not value:
        raise QueryError(f"'{key}:' needs a value.", value_position)
    return Token("meta", key.lower(), position, value, value_position)


# -- the parser -----------------------------------------------------------------------


@dataclass
class _Parser:
    tokens: list[Token]
    index: int = 0
    depth: int = 0
    terms: int = 0
    orders: list[Meta] = field(default_factory=list)

    def peek(self) -> str | None:
        return self.tokens[self.index].kind if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, kind: str) -> Token | None:
        return self.take() if self.peek() == kind else None

    def parse(self) -> Node:
        if self.peek() is None:
            return And((), 1)
        node = self.or_expr()
        if self.peek() == ")":
            raise QueryError("This ')' closes nothing.", self.take().position)
        return node

    def or_expr(self) -> Node:
        if self.peek() == "or":
            raise QueryError("'or' needs a term before it.", self.take().position)
        parts = [self.and_expr()]
        while (token := self.accept("or")) is not None:
            if self.peek() in (None, ")", "or"):
                raise QueryError("'or' needs a term after it.", token.position)
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts), parts[0].position)

    def and_expr(self) -> Node:
        plain: list[Node] = []
        either: list[Node] = []
        while self.peek() not in (None, ")", "or"):
            tilde, node = self.factor()
            (either if tilde else plain).append(node)
        if len(either) == 1:
            plain.append(either[0])
        elif either:
            plain.append(Or(tuple(either), either[0].position))
        if not plain:  # e.g. ")" or "()" : nothing to search for here
            token = self.tokens[self.index] if self.index < len(self.tokens) else None
            position = token.position if token else (self.tokens[-1].position if self.tokens
                                                      else 1)
            raise QueryError("Expected a tag, \"text\" or a metatag here.", position)
        return plain[0] if len(plain) == 1 else And(tuple(plain), plain[0].position)

    def factor(self) -> tuple[bool, Node]:
        tilde = self.accept("~")
        minus = self.accept("-")
        prefix = minus or tilde
        if self.peek() in ("~", "-"):
            raise QueryError("Use one '-' per term, after '~' if both.", self.take().position)
        if prefix is not None and self.peek() in (None, ")", "or"):
            raise QueryError(f"Nothing follows '{prefix.text}'.", prefix.position)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"Use at most {MAX_TERMS} terms.", self.tokens[self.index].position)
        node = self.primary()
        return tilde is not None, node if minus is None else Not(node, minus.position)

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            return self.group(token)
        if token.kind == "text":
            return _text(token)
        if token.kind == "meta":
            return self.meta(token)
        return _tag(token)

    def group(self, opener: Token) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"Nest parentheses at most {MAX_DEPTH} deep.", opener.position)
        if self.peek() == ")":
            raise QueryError("These parentheses are empty.", opener.position)
        node = self.or_expr()
        if self.accept(")") is None:
            raise QueryError("This '(' is never closed.", opener.position)
        self.depth -= 1
        return node

    def meta(self, token: Token) -> Meta:
        node = Meta(token.text, METATAGS[token.text](token.value, token.value_position),
                    token.position)
        if token.text == "order":
            self.orders.append(node)
        return node


def _text(token: Token) -> Text:
    if not re.search(r"[^\W_]", token.text):
        raise QueryError("Quoted text needs at least one letter or digit.", token.position)
    return Text(token.text, token.position)


def _tag(token: Token) -> Tag | Wildcard:
    try:
        name = tagging.normalise(token.text)
    except BadRequest as error:
        raise QueryError(error.message, token.position) from None
    if "*" not in name:
        return Tag(name, token.position)
    if not name.replace("*", "").strip():
        raise QueryError("A wildcard needs at least one character besides '*'.", token.position)
    return Wildcard(name, token.position)


def parse(query: str) -> Node:
    """The tree of ``query``; raises ``QueryError`` with the column of any problem."""
    query = query or ""
    if len(query) > MAX_LENGTH:
        raise QueryError(f"Queries are at most {MAX_LENGTH} characters.", MAX_LENGTH + 1)
    parser = _Parser(tokenize(query))
    root = parser.parse()
    _check_orders(root, parser.orders)
    return root


def _check_orders(root: Node, orders: list[Meta]) -> None:
    top = root.children if isinstance(root, And) else (root,)
    for node in orders:
        if not any(child is node for child in top):
            raise QueryError("Put order: at the top level, not inside parentheses, 'or' or"
                             " after '-'.", node.position)
    if len(orders) > 1:
        raise QueryError("Use order: once.", orders[1].position)


def order_of(root: Node) -> str:
    """The ``order:`` a parsed query asks for (``newest`` when none)."""
    top = root.children if isinstance(root, And) else (root,)
    for child in top:
        if isinstance(child, Meta) and child.key == "order":
            return str(child.value)
    return "newest"


