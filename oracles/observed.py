"""What happened in a run, as named counts: for coverage reports and fuzzing feedback.

From the outcome (engine-neutral): traps by code, exceptions that escaped to the host,
exceptions the host caught, host calls by how they ended, catches by clause kind (the
generated modules' ``caught_*`` counters), exception objects that came back more than
once (identity), instances; and from the events our engine counted
(:mod:`engine.compile.events`): catches by clause kind, label kind and depth, tail calls
taken, throws, collections.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from .outcome import Exn, HostCaught, HostDone, Num, Outcome, Returned, Thrown, Trapped, Value


def observed(outcome: Outcome, events: Mapping[str, int] = {}) -> Counter[str]:
    """The named counts of one run (see the module's doc)."""
    counts: Counter[str] = Counter()
    if outcome.state is not None:
        for name, value in outcome.state.globals:
            if name.startswith("caught_") and isinstance(value, Num) and value.bits:
                counts[f"caught by {name[7:].partition('@')[0]}"] += value.bits
    seen: Counter[int] = Counter()
    for call in (outcome.instantiate, *outcome.invocations):
        if isinstance(call.result, Trapped):
            counts[f"trap {call.result.code}"] += 1
            if call is outcome.instantiate:
                counts["instantiation trapped"] += 1
        elif isinstance(call.result, Thrown):
            counts["exception escaped to the host"] += 1
            if call is outcome.instantiate:
                counts["instantiation threw"] += 1
        for event in call.trace:
            if isinstance(event, HostCaught):
                counts["host caught an exception"] += 1
            elif isinstance(event, HostDone):
                how = {Returned: "returned", Thrown: "threw", Trapped: "failed"}.get(type(event.result), "ended")
                counts[f"host call {how}"] += 1
        for exn in _exns(call):
            seen[exn.id] += 1
    counts["exception object seen again"] += sum(n - 1 for n in seen.values() if n > 1)
    counts.update({f"event: {name}": n for name, n in events.items()})
    return +counts


def _exns(call: object) -> Iterator[Exn]:
    """Every exception object a step shows, nested ones included."""
    values: list[Value] = []
    result = getattr(call, "result")
    if isinstance(result, Thrown):
        values.append(result.exn)
    elif isinstance(result, Returned):
        values += result.values
    for event in getattr(call, "trace"):
        values += list(getattr(event, "args", ()))
        inner = getattr(event, "result", None)
        if isinstance(inner, Thrown):
            values.append(inner.exn)
        if isinstance(event, HostCaught):
            values.append(event.exn)
    while values:
        value = values.pop()
        if isinstance(value, Exn):
            yield value
            values += value.payload or ()


__all__ = ["observed"]
