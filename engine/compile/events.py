"""Run-time events that compiled code counts, when ``CompileOptions.count_events`` is
on: which clause kind caught an exception, into which kind of label at which depth;
tail calls taken; exceptions thrown.

The counters are an ``i64`` array the store owns (``StoreState.EVENTS``; see
:meth:`engine.runtime.Store.events`).  Counting changes nothing a program can
observe; it tells a fuzzer what actually *ran* -- a catch clause aimed at a loop label
can be compiled in many cases and catch in almost none -- so that inputs making a rare
event happen can be kept (``fuzz_targets/exceptions.py`` feeds them to libFuzzer as
coverage).
"""
from __future__ import annotations

from ..syntax.instructions import CatchKind

LABEL_KINDS = ("block", "loop", "if", "try_table", "func")
"""Kinds of label a clause can branch to (an ``else`` is its ``if``'s label)."""
DEPTHS = ("0", "1", "2", "3+")

EVENTS: tuple[str, ...] = tuple(
    f"{kind.text} caught into a {label} label at depth {depth}"
    for kind in CatchKind for label in LABEL_KINDS for depth in DEPTHS
) + ("return_call taken", "return_call_indirect taken", "throw executed", "throw_ref executed")
INDEX = {name: i for i, name in enumerate(EVENTS)}


def catch_event(kind: CatchKind, label_kind: str, depth: int) -> int:
    """The counter of a ``kind`` clause catching into a label of ``label_kind`` (a
    :class:`~engine.compile.function.Frame` kind) ``depth`` labels out."""
    label = "if" if label_kind == "else" else label_kind
    return INDEX[f"{kind.text} caught into a {label} label at depth {DEPTHS[min(depth, 3)]}"]


__all__ = ["DEPTHS", "EVENTS", "INDEX", "LABEL_KINDS", "catch_event"]
