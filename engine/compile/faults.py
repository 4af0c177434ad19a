"""Deliberate engine faults, to check that the fuzzer finds bugs of the kinds it hunts.

Each fault is a small, realistic miscompilation of exception handling, switched on
only inside :func:`planted` (tests do this; nothing else should).  Faults act when a
module is compiled, so a module compiled inside the ``with`` block keeps its fault.

- ``reversed_clauses``: a ``try_table`` tries its catch clauses last to first;
- ``catch_all_traps``: a ``catch_all`` clause also catches traps;
- ``reversed_payload``: ``throw`` stores the first two payload values swapped when they
  have the same type.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

FAULTS = frozenset({"reversed_clauses", "catch_all_traps", "reversed_payload"})
active: set[str] = set()


@contextmanager
def planted(*names: str) -> Iterator[None]:
    """Compile with the faults ``names`` switched on."""
    unknown = set(names) - FAULTS
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)}")
    active.update(names)
    try:
        yield
    finally:
        active.difference_update(names)
