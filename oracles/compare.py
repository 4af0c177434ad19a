"""Comparing two outcomes of one case: the rules, and the verdict they give.

:func:`compare` walks both :class:`~oracles.outcome.Outcome`\\ s step by step --
instantiation, then each invocation in order -- and stops at the first step where
they part:

0. **A crash diverges.**  A step during which the engine's process died
   (:class:`~oracles.outcome.Crashed`, an emulated target's server) is a divergence
   whatever the other side did; the run ends there.
1. **Rejected modules.**  Both engines rejecting the module agree (their wording is
   not compared); one rejecting it is ``diverge``.
2. **Resource limits are inconclusive.**  If either side's step trapped with
   ``stack_overflow`` (engines use different amounts of stack per frame and so reach
   the limit at different depths) or ``interrupt`` (the case's timeout, a safety net:
   cases bound their work with in-module fuel), the verdict is ``inconclusive`` and
   nothing after it is compared -- from there on, the two runs are different
   programs.  This is wasmtime's "poisoned" run.  The check comes before the host
   trace, since a deeper stack also means more host calls before the limit.
3. **The host trace** of the step must be equal event by event: the same host
   functions called in the same order with the same arguments, the same exceptions
   caught by the host, and each host function ending the same way.
4. **The result** must be equal: the same values returned, the same trap code
   (``host`` for host errors), or the same exception -- tag and payload.
5. **The final state** -- exported globals, memory sizes and digests, table sizes and
   elements -- must be equal.

Where they part is kept beside the reason as a :class:`Parting` -- the step, the
kind of difference (``wrong payload``, ``return instead of trap``, ``host call
missing``...), the place (the result, a host event, the final state) and the host
function involved -- so that :mod:`oracles.signature` can tell findings apart without
parsing the reason.  The kind of a difference between two values (in a result, a host
event's arguments, a global or a table) is the kind of its first differing pair:
exceptions differ in tag, else payload, else identity; anything else is ``wrong values``.

Equality is the outcome model's (see :mod:`oracles.outcome`): every NaN equals every
NaN, references compare by kind and null-ness, exnrefs by tag, payload and identity
(objects numbered by first appearance in the run).  NaN bits
that reach memory (or an integer, by ``reinterpret``) are bits like any other: a case
that stores an arithmetic NaN can diverge between two correct engines
(``corpus/regression/nan_bits_in_memory.json``).  Such a divergence is looked at again
with NaN canonicalization on both engines, and is inconclusive if it goes away
(:func:`oracles.differential.nan_bits_only`); the generator also canonicalizes NaNs
after float operations, so few cases need that.  Fuel is a
counter inside the generated module (it traps with ``unreachable``), so running out
of it is an ordinary, deterministic trap and is compared exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .outcome import (Call, Crashed, Exn, HostCall, HostCaught, HostDone, HostEvent, Outcome, Rejected, Result,
                      Returned, State, Thrown, Trapped, Value)

INCONCLUSIVE_TRAPS = frozenset({"stack_overflow", "interrupt"})
"""Trap codes that end a comparison as ``inconclusive``: limits, not semantics."""


FINAL_STATE = "final state"
"""The step name of a difference in the final state."""


@dataclass(frozen=True)
class Parting:
    """Where and how two outcomes part: the ``step`` (``<instantiate>``, an export's
    name, or :data:`FINAL_STATE`), the ``kind`` of difference, the ``place`` (``module``,
    ``result``, ``host event``, ``global``, ``memory``, ``table``), the host function of
    the first differing host event (when one side has more events: of the last event
    both have, where they part, or else of the first extra one), and each side's
    result of the step."""
    step: str
    kind: str
    place: str
    host_func: str = ""
    results: tuple[Result | None, Result | None] = (None, None)
    event: HostEvent | None = None
    """That host event (of the first side)."""


@dataclass(frozen=True)
class Verdict:
    """``agree``, ``diverge`` (``reason`` says where and how, ``parting`` the same as
    data) or ``inconclusive`` (``reason`` says which limit was hit)."""
    kind: str
    reason: str = ""
    parting: Parting | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.kind if not self.reason else f"{self.kind}: {self.reason}"


AGREE = Verdict("agree")


def compare(ours: Outcome, theirs: Outcome, names: Sequence[str] = ("exnfuzz", "wasmtime")) -> Verdict:
    """The verdict on two outcomes of one case, by the rules in this module's doc."""
    a, b = names
    for x, y in zip((ours.instantiate,) + ours.invocations, (theirs.instantiate,) + theirs.invocations):
        for who, call in ((a, x), (b, y)):
            if isinstance(call.result, Crashed):
                return Verdict("diverge", f"{x.lines()[0]}: {who} {call.result}",
                               Parting(x.name, "crash", "result", results=(x.result, y.result)))
    rejected = (isinstance(ours.instantiate.result, Rejected), isinstance(theirs.instantiate.result, Rejected))
    if rejected == (True, True):
        return AGREE
    if any(rejected):
        who, other = (a, b) if rejected[0] else (b, a)
        reason = (ours if rejected[0] else theirs).instantiate.result
        return Verdict("diverge", f"module: {who} rejects it ({reason}), {other} accepts it",
                       Parting(ours.instantiate.name, "rejection", "module"))
    for x, y in zip((ours.instantiate,) + ours.invocations, (theirs.instantiate,) + theirs.invocations):
        verdict = _compare_call(x, y, a, b)
        if verdict is not AGREE:
            return verdict
    if ours.state is not None and theirs.state is not None:
        return _compare_state(ours.state, theirs.state, a, b)
    return AGREE


def _compare_call(x: Call, y: Call, a: str, b: str) -> Verdict:
    step = x.lines()[0]
    for who, call in ((a, x), (b, y)):
        if isinstance(call.result, Trapped) and call.result.code in INCONCLUSIVE_TRAPS:
            return Verdict("inconclusive", f"{step}: {who} {call.result}")
    results = (x.result, y.result)
    for i, (e, f) in enumerate(zip(x.trace, y.trace)):
        if e != f:
            return Verdict("diverge", f"{step}: host event {i + 1} differs: {a} `{str(e).strip()}`, "
                                      f"{b} `{str(f).strip()}`",
                           Parting(x.name, _event_difference(e, f), "host event", e.func, results, e))
    if len(x.trace) != len(y.trace):
        longer, who = (x.trace, a) if len(x.trace) > len(y.trace) else (y.trace, b)
        shorter = y.trace if longer is x.trace else x.trace
        missing = longer[len(shorter)]
        return Verdict("diverge", f"{step}: host call missing: only {who} has host event "
                                  f"`{str(missing).strip()}` ({a} {len(x.trace)} events, {b} {len(y.trace)})",
                       Parting(x.name, "host call missing", "host event", (shorter[-1] if shorter else missing).func,
                               results, shorter[-1] if shorter else missing))
    if x.result != y.result:
        kind = _difference(x.result, y.result)
        return Verdict("diverge", f"{step}: {kind}: {a} {x.result}, {b} {y.result}",
                       Parting(x.name, kind, "result", "", results))
    return AGREE


def _values_difference(xs: Sequence[Value | None], ys: Sequence[Value | None]) -> str:
    """The kind of difference of the first unequal pair of values (see the module's doc)."""
    for v, w in zip(xs, ys):
        if v != w:
            if isinstance(v, Exn) and isinstance(w, Exn):
                if v.tag != w.tag:
                    return "wrong tag"
                return "wrong payload" if v.payload != w.payload else "wrong exception identity"
            break
    return "wrong values"


def _event_difference(e: HostEvent, f: HostEvent) -> str:
    """The kind of difference of two unequal host events."""
    if type(e) is not type(f):
        return f"{_event_name(e)} instead of {_event_name(f)}"
    if isinstance(e, HostDone) and isinstance(f, HostDone):
        return _difference(e.result, f.result)
    if e.func != f.func:
        return "another host function"
    if isinstance(e, HostCaught) and isinstance(f, HostCaught):
        return _values_difference((e.exn,), (f.exn,))
    assert isinstance(e, HostCall) and isinstance(f, HostCall)
    return _values_difference(e.args, f.args)


def _event_name(event: HostEvent) -> str:
    if isinstance(event, HostCall):
        return "host call"
    if isinstance(event, HostCaught):
        return "host catch"
    return "host return" if isinstance(event.result, Returned) else "host throw or error"


def _difference(r: Result, s: Result) -> str:
    """What kind of difference two unequal results show."""
    if isinstance(r, Thrown) and isinstance(s, Thrown):
        return _values_difference((r.exn,), (s.exn,))
    if isinstance(r, Trapped) and isinstance(s, Trapped):
        return "wrong trap code"
    if isinstance(r, Returned) and isinstance(s, Returned):
        return _values_difference(r.values, s.values)
    kinds = {Returned: "return", Trapped: "trap", Thrown: "exception", Rejected: "rejection", Crashed: "crash"}
    return f"{kinds[type(r)]} instead of {kinds[type(s)]}"


def _compare_state(x: State, y: State, a: str, b: str) -> Verdict:
    for what, p, q in (("global", x.globals, y.globals), ("memory", x.memories, y.memories),
                       ("table", x.tables, y.tables)):
        if p != q:
            return Verdict("diverge", f"final state, {what}s differ: {a} {_show(p)}, {b} {_show(q)}",
                           Parting(FINAL_STATE, _state_difference(what, p, q), what))
    return AGREE


def _state_difference(what: str, p: tuple, q: tuple) -> str:
    """The kind of difference of two unequal lists of exported globals, memories or tables."""
    if what == "global":
        return _values_difference([v for _, v in p], [v for _, v in q])
    if what == "table":
        for s, t in zip(p, q):
            if s != t:
                if s.size != t.size or s.elements is None or t.elements is None:
                    return "wrong table size"
                return _values_difference(s.elements, t.elements)
    return f"wrong {what} contents"


def _show(items: tuple) -> str:
    return "[" + ", ".join(f"{i[0]} = {i[1]}" if isinstance(i, tuple) else str(i) for i in items) + "]"
