"""S-expression reader for the WebAssembly text and script formats.

The reader knows the lexical rules of the text format (spec section 6.2):
parentheses, atoms (keywords, ``$ids``, numbers), strings with escapes, line
comments ``;;`` and nested block comments ``(; ;)``.  It builds a tree of
:class:`SList`, :class:`Atom` and :class:`String`, and every list keeps the span of
source text it came from, so a ``(module ...)`` form can be handed verbatim to a text
parser (``wasmtime.wat2wasm``) instead of being re-printed -- verbatim but for the
characters that parser refuses, which :func:`escape_confusing` escapes in strings.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

from ..errors import TextError

# One token per match; block comments are found by their opener and skipped by
# hand because they nest, which a regular expression cannot follow.
_TOKEN = re.compile(r'''
    (?P<space>[\s]+|;;[^\n]*)
  | (?P<block>\(;)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<atom>[^\s()";]+)
''', re.VERBOSE)

_BLOCK_EDGE = re.compile(r"\(;|;\)")
_ESCAPE = re.compile(r"\\(?:u\{([0-9A-Fa-f_]+)\}|([0-9A-Fa-f]{2})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}

CONFUSING = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068\u2069\u206c")
"""Bidirectional-text controls that ``wasmtime.wat2wasm`` refuses anywhere in its input
("likely-confusing unicode character", its guard against "trojan source" text), though
the text format allows them in strings; ``names.wast`` exports names made of them."""
# A confusing character, or an escape pair to step over: a backslash before a
# confusing character is an unknown (malformed) escape, which rewriting the character
# would turn into a well-formed escaped backslash.
_CONFUSING_OR_ESCAPE = re.compile(f"\\\\.|[{''.join(sorted(CONFUSING))}]", re.DOTALL)


@dataclass(slots=True)
class Atom:
    """A keyword, identifier, number or other unquoted token."""

    text: str
    start: int


@dataclass(slots=True)
class String:
    """A string literal: ``value`` holds the bytes it denotes (UTF-8 for characters)."""

    value: bytes
    start: int

    def text(self) -> str:
        """The string as text; raises :class:`TextError` if it is not valid UTF-8."""
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TextError(f"malformed UTF-8 encoding in string: {e}", self.start) from e


@dataclass(slots=True)
class SList:
    """A parenthesised list; ``source[start:end]`` is its text, parentheses included."""

    items: list["Node"] = field(default_factory=list)
    start: int = 0
    end: int = 0

    @property
    def head(self) -> str | None:
        """The first item's text when it is an atom (``module``, ``assert_return``...)."""
        if self.items and isinstance(self.items[0], Atom):
            return self.items[0].text
        return None


Node = Union[Atom, String, SList]


class Source:
    """A script's text with offset-to-line lookup."""

    def __init__(self, text: str, name: str = "<string>") -> None:
        self.text = text
        self.name = name
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return bisect.bisect_left(self._newlines, offset) + 1

    def span(self, node: SList) -> str:
        return self.text[node.start:node.end]


def decode_string(body: str, start: int = 0) -> bytes:
    """The bytes a string literal's body (between the quotes) denotes."""
    if "\\" not in body:
        return body.encode("utf-8", "surrogateescape")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(body):
        out += body[pos:m.start()].encode("utf-8", "surrogateescape")
        pos = m.end()
        code, hexbyte, simple = m.groups()
        if code is not None:
            value = int(code.replace("_", ""), 16)
            if value >= 0x110000 or 0xD800 <= value < 0xE000:
                raise TextError(f"malformed unicode escape \\u{{{code}}}", start + m.start())
            out += chr(value).encode("utf-8")
        elif hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif simple in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[simple]
        else:
            raise TextError(f"unknown escape \\{simple}", start + m.start())
    out += body[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _skip_block_comment(text: str, pos: int) -> int:
    """Offset just past the block comment opening at ``pos`` (nested ones included)."""
    depth = 0
    for m in _BLOCK_EDGE.finditer(text, pos):
        depth += 1 if m.group() == "(;" else -1
        if depth == 0:
            return m.end()
    raise TextError("unclosed block comment", pos)


def _tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """Each token of ``text`` as ``(kind, start, end)``, comments and spaces included;
    ``kind`` is a group name of :data:`_TOKEN`."""
    pos = 0
    n = len(text)
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise TextError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup
        end = _skip_block_comment(text, pos) if kind == "block" else m.end()
        yield kind, pos, end
        pos = end


def read(text: str) -> list[Node]:
    """Read all top-level forms of ``text`` into a list of nodes."""
    stack: list[SList] = [SList()]
    for kind, start, end in _tokens(text):
        if kind == "atom":
            stack[-1].items.append(Atom(text[start:end], start))
        elif kind == "open":
            stack.append(SList([], start))
        elif kind == "close":
            if len(stack) == 1:
                raise TextError("unexpected )", start)
            done = stack.pop()
            done.end = end
            stack[-1].items.append(done)
        elif kind == "string":
            stack[-1].items.append(String(decode_string(text[start + 1:end - 1], start + 1), start))
    if len(stack) != 1:
        raise TextError("unclosed (", stack[-1].start)
    return stack[0].items


def escape_confusing(text: str) -> str:
    """``text`` with each :data:`CONFUSING` character inside a string literal written as
    a ``\\u{...}`` escape, which denotes the same character; the rest is unchanged.
    Text this reader cannot tokenize is returned as it is, for the text parser to
    report."""
    if not CONFUSING.intersection(text):
        return text
    try:
        strings = [(start, end) for kind, start, end in _tokens(text) if kind == "string"]
    except TextError:
        return text
    parts = []
    pos = 0
    for start, end in strings:
        parts.append(text[pos:start])
        parts.append(_CONFUSING_OR_ESCAPE.sub(_escape, text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _escape(m: re.Match[str]) -> str:
    """A confusing character as a ``\\u{...}`` escape; an escape pair as it is."""
    found = m.group()
    return found if found.startswith("\\") else f"\\u{{{ord(found):x}}}"
